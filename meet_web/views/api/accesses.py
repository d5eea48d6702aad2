from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config, view_defaults
from sqlalchemy import func, select

from ...models import ResourceAccess, Role, Room, User
from ...openapi import PAGING, operation
from ...resources import AccessContainer, AccessResource, RoomResource
from ...security.permissions import MANAGER_ROLES, Permission
from ...services import audit
from ...services.errors import Refused
from ...services.rooms import add_member, change_role, remove_member
from ...validation import MISSING, Body, Choice, Uuid, ValidationError, check_page, page_params
from .serializers import ACCESS_SCHEMA, access_json, page_json, page_schema

ACCESS_CREATE_BODY = Body(
    "AccessCreate",
    required=("user", "resource"),
    user=Uuid("The user's id."),
    resource=Uuid("The room's id."),
    role=Choice(Role, description="member when absent."),
)
ACCESS_UPDATE_BODY = Body("AccessUpdate", required=("role",), role=Choice(Role))


@view_defaults(context=AccessContainer, route_name="api", renderer="json")
class AccessCollectionApi:
    def __init__(self, context, request):
        self.context, self.request = context, request

    @view_config(request_method="GET", permission=Permission.AUTHENTICATED)
    @operation(
        "Every access of the rooms the caller administers",
        responses={200: page_schema(ACCESS_SCHEMA)},
        query=PAGING,
        tag="accesses",
    )
    def list(self):
        """Every access of every room the caller administers or owns."""
        request = self.request
        page, size = page_params(request, request.registry.settings["rooms.page_size"])
        managed = select(ResourceAccess.resource_id).where(
            ResourceAccess.user_id == request.identity.user_id,
            ResourceAccess.role.in_(MANAGER_ROLES),
        )
        query = select(ResourceAccess).where(ResourceAccess.resource_id.in_(managed))
        db = request.dbsession
        count = db.scalar(select(func.count()).select_from(query.subquery()))
        check_page(page, size, count)  # before the offset reaches the database
        rows = db.scalars(
            query.order_by(ResourceAccess.created_at, ResourceAccess.id)
            .limit(size)
            .offset((page - 1) * size)
        ).all()
        return page_json(request, [access_json(a) for a in rows], count, page, size)

    @view_config(request_method="POST", permission=Permission.AUTHENTICATED)
    @operation(
        "Give a user a role on a room",
        body=ACCESS_CREATE_BODY,
        responses={201: ACCESS_SCHEMA},
        tag="accesses",
    )
    def create(self):
        values = ACCESS_CREATE_BODY.parse(self.request)
        user_id, room_id, role = values["user"], values["resource"], values["role"]
        db = self.request.dbsession
        room = Room.lookup(db, str(room_id))
        if room is None:
            raise ValidationError({"resource": "No room has this id."})
        user = db.get(User, user_id)
        if user is None:
            raise ValidationError({"user": "No user has this id."})
        room_context = RoomResource(room, self.context)
        if not self.request.has_permission(Permission.ROOM_MANAGE, room_context):
            raise Refused("You must be administrator or owner of a room to add accesses to it.")
        role = Role.MEMBER if role is MISSING else role
        access = add_member(db, room, room_context.role, user, role)
        audit.record_access(self.request, audit.ACCESS_GRANT, access)
        self.request.response.status = 201
        return access_json(access)


@view_defaults(context=AccessResource, route_name="api", renderer="json")
class AccessApi:
    def __init__(self, context, request):
        self.context, self.request = context, request

    @view_config(request_method="GET", permission=Permission.ACCESS_VIEW)
    @operation("An access", responses={200: ACCESS_SCHEMA}, tag="accesses")
    def retrieve(self):
        return access_json(self.context.access)

    @view_config(request_method=("PUT", "PATCH"), permission=Permission.ACCESS_UPDATE)
    @operation(
        "Change an access's role",
        body=ACCESS_UPDATE_BODY,
        responses={200: ACCESS_SCHEMA},
        tag="accesses",
    )
    def update(self):
        values = ACCESS_UPDATE_BODY.parse(self.request, partial=self.request.method == "PATCH")
        role = values["role"]
        access = self.context.access
        if role is not MISSING:
            before = access.role
            change_role(
                self.request.dbsession,
                access,
                self.request.identity.user_id,
                self.context.actor_role,
                role,
            )
            if access.role != before:
                audit.record_access(self.request, audit.ACCESS_CHANGE, access, {"from": before})
        return access_json(access)

    @view_config(request_method="DELETE", permission=Permission.ACCESS_DELETE)
    @operation("Remove an access", responses={204: None}, tag="accesses")
    def delete(self):
        access = self.context.access
        # before the row goes; a refusal aborts the transaction, and the event with it
        audit.record_access(self.request, audit.ACCESS_REVOKE, access)
        remove_member(self.request.dbsession, access, self.request.identity.user_id)
        return HTTPNoContent()

from pyramid.httpexceptions import HTTPNoContent
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config, view_defaults
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ...db import after_commit
from ...models import AccessLevel, ResourceAccess, Room
from ...models.room import NAME_MAX_LENGTH
from ...openapi import PAGING, Query, operation
from ...resources import RoomContainer, RoomResource, UnregisteredRoom
from ...security.permissions import MANAGER_ROLES, Permission
from ...services import audit
from ...services.livekit import LiveKitGateway
from ...services.lobby import removed_key
from ...services.rooms import RoomDefaults, create_room, update_room
from ...validation import MISSING, Body, Choice, RoomConfiguration, String, check_page, page_params
from .callbacks import remember_created_room
from .joining import known_identity, livekit_block, participant_identity, requested_name
from .serializers import (
    ROOM_SCHEMA,
    UNREGISTERED_ROOM_SCHEMA,
    page_json,
    page_schema,
    room_json,
)

ROOM_BODY = Body(
    "Room",
    required=("name",),
    name=String(NAME_MAX_LENGTH, "The room's name; its slug is made from it."),
    access_level=Choice(AccessLevel, description="Who may join without the lobby."),
    configuration=RoomConfiguration(),
)
ROOM_CREATE_BODY = Body(
    "RoomCreate",
    required=("name",),
    **ROOM_BODY.fields,
    callback_id=String(255, "Hands the new slug to `POST /rooms/creation-callback/`."),
)
USERNAME = Query("username", {"type": "string"}, "The display name to put in the token.")


def room_for_caller(request, context: RoomResource) -> dict:
    """The room as this caller may see it; those who may join also get a LiveKit token."""
    # The room's door is checked in the round trip that reads the caller's removal mark.
    known = known_identity(request)
    marks = context.read_checking_door([removed_key(context.id, known)] if known else [])
    may_join = bool(request.has_permission(Permission.ROOM_JOIN, context))
    role = context.role
    # Managers see the accesses, with their users: the ORM room; others the door.
    room = context.room if role in MANAGER_ROLES else context.door
    data = room_json(room, role=role, may_join=may_join)
    if may_join:
        identity = participant_identity(request)
        removed = identity == known and marks[0] is not None
        if not removed:
            data["livekit"] = livekit_block(
                request,
                str(room.id),
                role,
                room.configuration,
                identity=identity,
                name=requested_name(request),
            )
    return data


def sync_after_commit(request, room) -> None:
    gateway = request.service(LiveKitGateway)
    after_commit(
        request,
        gateway.sync_room_settings,
        str(room.id),
        dict(room.configuration or {}),
        str(room.access_level),
    )


def rooms_page_of(db, user_id, page: int, size: int, *options) -> tuple[list[Room], int]:
    """One page of the rooms the user has a role on, by name, and how many there are
    (a page past the last one is refused before the offset reaches the database)."""
    mine = select(ResourceAccess.resource_id).where(ResourceAccess.user_id == user_id)
    count = db.scalar(select(func.count()).select_from(Room).where(Room.id.in_(mine)))
    check_page(page, size, count)
    rooms = db.scalars(
        select(Room)
        .where(Room.id.in_(mine))
        .options(*options)
        .order_by(Room.name, Room.id)
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return list(rooms), count


@view_defaults(context=RoomContainer, route_name="api", renderer="json")
class RoomCollectionApi:
    def __init__(self, context, request):
        self.context, self.request = context, request

    @view_config(request_method="GET", permission=NO_PERMISSION_REQUIRED)
    @operation(
        "Rooms the caller has a role on",
        responses={200: page_schema(ROOM_SCHEMA)},
        query=PAGING,
        tag="rooms",
    )
    def list(self):
        """Rooms the caller has a role on; anonymous callers get an empty page."""
        request = self.request
        page, size = page_params(request, request.registry.settings["rooms.page_size"])
        identity = request.identity
        if identity is None or identity.user_id is None:
            return page_json(request, [], 0, page, size)
        rooms, count = rooms_page_of(
            request.dbsession, identity.user_id, page, size, selectinload(Room.accesses)
        )
        items = [room_for_caller(request, RoomResource(r, self.context)) for r in rooms]
        return page_json(request, items, count, page, size)

    @view_config(request_method="POST", permission=Permission.ROOM_CREATE)
    @operation(
        "Create a room; the caller becomes its owner",
        body=ROOM_CREATE_BODY,
        responses={201: ROOM_SCHEMA},
        tag="rooms",
    )
    def create(self):
        values = ROOM_CREATE_BODY.parse(self.request)
        callback_id = values.pop("callback_id")
        room = create_room(
            self.request.dbsession,
            self.request.user,
            self.request.service(RoomDefaults),
            **values,
        )
        audit.record_room(self.request, audit.ROOM_CREATE, room, {"name": room.name})
        if callback_id is not MISSING:
            after_commit(self.request, remember_created_room, self.request, callback_id, room.slug)
        self.request.response.status = 201
        return room_for_caller(self.request, RoomResource(room, self.context))


@view_config(
    context=UnregisteredRoom,
    route_name="api",
    request_method="GET",
    renderer="json",
    permission=Permission.ROOM_VIEW,
)
@operation("", undocumented="documented as GET /rooms/{id}/ (its second answer shape)")
def retrieve_unregistered(context, request):
    """The reference's answer for a slug no room has, when the setting allows it."""
    return {
        "id": None,
        "slug": context.slug,
        "is_administrable": False,
        "access_level": "public",
        "livekit": livekit_block(
            request,
            context.slug,
            None,
            None,
            identity=participant_identity(request),
            name=requested_name(request),
        ),
    }


@view_defaults(context=RoomResource, route_name="api", renderer="json")
class RoomApi:
    def __init__(self, context, request):
        self.context, self.request = context, request

    @view_config(request_method="GET", permission=Permission.ROOM_VIEW)
    @operation(
        "A room; with a LiveKit token for those who may join without the lobby",
        responses={200: {"anyOf": [ROOM_SCHEMA, UNREGISTERED_ROOM_SCHEMA]}},
        query=(USERNAME,),
        tag="rooms",
    )
    def retrieve(self):
        return room_for_caller(self.request, self.context)

    @view_config(request_method=("PUT", "PATCH"), permission=Permission.ROOM_MANAGE)
    @operation(
        "Change a room (PATCH: only the fields given)",
        body=ROOM_BODY,
        responses={200: ROOM_SCHEMA},
        tag="rooms",
    )
    def update(self):
        values = ROOM_BODY.parse(self.request, partial=self.request.method == "PATCH")
        changed = update_room(self.request.dbsession, self.context.room, **values)
        given = {key: value for key, value in values.items() if value is not MISSING}
        audit.record_room(self.request, audit.ROOM_UPDATE, self.context.room, given)
        if changed:
            sync_after_commit(self.request, self.context.room)
        return room_for_caller(self.request, self.context)

    @view_config(request_method="DELETE", permission=Permission.ROOM_DELETE)
    @operation("Delete a room (owners)", responses={204: None}, tag="rooms")
    def delete(self):
        audit.record_room(self.request, audit.ROOM_DELETE, self.context.room)
        self.request.dbsession.delete(self.context.room)
        self.request.dbsession.flush()
        return HTTPNoContent()

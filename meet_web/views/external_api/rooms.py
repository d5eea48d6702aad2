"""The external API's rooms: the delegated user's rooms, within the token's scopes.

Which scope each view needs, and which role on the room besides, is the ACLs' business
(security/permissions.py); a view here only reads the body and calls the services.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config, view_defaults

from ...models import AccessLevel, User
from ...openapi import PAGING, operation
from ...resources import ExternalRoom, ExternalRoomContainer, MissingExternalRoom
from ...resources.rooms import MISSING_ROOM
from ...security.permissions import Permission
from ...services import audit
from ...services.applications import (
    ExternalApiConfig,
    check_access_level,
    create_external_room,
)
from ...services.errors import NotFound
from ...services.rooms import RoomDefaults, update_room
from ...validation import MISSING, Body, Choice, RoomConfiguration, page_params
from ..api.rooms import rooms_page_of, sync_after_commit
from ..api.serializers import page_json, page_schema
from .serializers import EXTERNAL_ROOM_SCHEMA, external_room_json

ROOM_BODY = Body(
    "ExternalRoom",
    access_level=Choice(
        AccessLevel,
        description="Who may join without the lobby; `public` only where the site allows"
        " it (external_api.allow_public_access). Default: external_api.default_access_level.",
    ),
    configuration=RoomConfiguration(),
)
ROUTE = "external_api"


def delegated_user(request) -> User:
    user = User.by_id(request.dbsession, request.identity.user_id)
    if user is None:  # deleted since its token was checked, in this very request
        raise NotFound("User not found.")
    return user


@view_defaults(context=ExternalRoomContainer, route_name=ROUTE, renderer="json", require_csrf=False)
class ExternalRoomsApi:
    def __init__(self, context, request):
        self.context, self.request = context, request
        self.config = request.service(ExternalApiConfig)

    @view_config(request_method="GET", permission=Permission.EXTERNAL_ROOM_LIST)
    @operation(
        "The rooms the token's user has a role on (scope rooms:list)",
        responses={200: page_schema(EXTERNAL_ROOM_SCHEMA)},
        query=PAGING,
        tag="rooms",
    )
    def list(self):
        request = self.request
        page, size = page_params(request, request.registry.settings["rooms.page_size"])
        rooms, count = rooms_page_of(request.dbsession, request.identity.user_id, page, size)
        items = [external_room_json(room, self.config) for room in rooms]
        return page_json(request, items, count, page, size)

    @view_config(request_method="POST", permission=Permission.EXTERNAL_ROOM_CREATE)
    @operation(
        "Create a room with a generated name, owned by the token's user (scope"
        " rooms:create; id, name and slug are ignored)",
        body=ROOM_BODY,
        responses={201: EXTERNAL_ROOM_SCHEMA},
        tag="rooms",
    )
    def create(self):
        values = ROOM_BODY.parse(self.request)
        room = create_external_room(
            self.request.dbsession,
            delegated_user(self.request),
            self.config,
            self.request.service(RoomDefaults),
            **values,
        )
        audit.record_room(self.request, audit.ROOM_CREATE, room, {"name": room.name})
        self.request.response.status = 201
        return external_room_json(room, self.config)


@view_defaults(context=ExternalRoom, route_name=ROUTE, renderer="json", require_csrf=False)
class ExternalRoomApi:
    def __init__(self, context, request):
        self.context, self.request = context, request
        self.config = request.service(ExternalApiConfig)

    @view_config(request_method="GET", permission=Permission.EXTERNAL_ROOM_RETRIEVE)
    @operation(
        "A room the token's user has a role on (scope rooms:retrieve)",
        responses={200: EXTERNAL_ROOM_SCHEMA},
        tag="rooms",
    )
    def retrieve(self):
        return external_room_json(self.context.room, self.config)

    @view_config(request_method=("PUT", "PATCH"), permission=Permission.EXTERNAL_ROOM_UPDATE)
    @operation(
        "Change a room's access level or configuration (scope rooms:update; the user"
        " administers or owns the room)",
        body=ROOM_BODY,
        responses={200: EXTERNAL_ROOM_SCHEMA},
        tag="rooms",
    )
    def update(self):
        values = ROOM_BODY.parse(self.request, partial=True)
        if values["access_level"] is not MISSING:
            check_access_level(self.config, values["access_level"])
        room = self.context.room
        if update_room(self.request.dbsession, room, **values):
            sync_after_commit(self.request, room)
        given = {key: value for key, value in values.items() if value is not MISSING}
        audit.record_room(self.request, audit.ROOM_UPDATE, room, given)
        return external_room_json(room, self.config)

    @view_config(request_method="DELETE", permission=Permission.EXTERNAL_ROOM_DELETE)
    @operation(
        "Delete a room (scope rooms:delete; the user owns the room)",
        responses={204: None},
        tag="rooms",
    )
    def delete(self):
        audit.record_room(self.request, audit.ROOM_DELETE, self.context.room)
        self.request.dbsession.delete(self.context.room)
        self.request.dbsession.flush()
        return HTTPNoContent()


_MISSING = "the 404 of /rooms/{id}/ for a token that holds the method's scope"


@view_defaults(context=MissingExternalRoom, route_name=ROUTE, renderer="json", require_csrf=False)
class MissingExternalRoomApi:
    """No room has this id or slug: 404, once the token proved it holds the scope."""

    def __init__(self, context, request):
        self.context, self.request = context, request

    @view_config(request_method="GET", permission=Permission.EXTERNAL_ROOM_RETRIEVE)
    @operation("", undocumented=_MISSING)
    def retrieve(self):
        raise NotFound(MISSING_ROOM)

    @view_config(request_method=("PUT", "PATCH"), permission=Permission.EXTERNAL_ROOM_UPDATE)
    @operation("", undocumented=_MISSING)
    def update(self):
        raise NotFound(MISSING_ROOM)

    @view_config(request_method="DELETE", permission=Permission.EXTERNAL_ROOM_DELETE)
    @operation("", undocumented=_MISSING)
    def delete(self):
        raise NotFound(MISSING_ROOM)

"""The external API's tree (route `external_api`, /external-api/v1.0/).

    ExternalApiRoot          /external-api/v1.0/       (404 unless external_api.enabled)
      application            ApplicationSection        token/ (client credentials)
      rooms                  ExternalRoomContainer     list, create
        <id or slug>         ExternalRoom | MissingExternalRoom

Callers are delegated tokens (security/policy.py: `bearer_identity`), whose principals
are their scopes and scope-and-user pairs; the ACLs here grant only to those, so no
session or room role of the site reaches this tree.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound

from ..models import Room
from ..security.permissions import (
    EXTERNAL_API_GRANTS,
    MISSING_EXTERNAL_ROOM_GRANTS,
    external_room_grants,
)
from ..services.applications import ExternalApiConfig
from .rooms import MISSING_ROOM


class ApplicationSection:
    """/application/: its view issues tokens for client credentials."""

    __acl__ = EXTERNAL_API_GRANTS

    def __init__(self, parent, name: str):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request


class ExternalRoomContainer:
    __acl__ = EXTERNAL_API_GRANTS
    missing_child_message = MISSING_ROOM

    def __init__(self, parent, name: str):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request

    def __getitem__(self, key: str) -> ExternalRoom | MissingExternalRoom:
        room = Room.lookup(self.request.dbsession, key)
        if room is None:
            # Not a KeyError: a token without the scope is refused (403) before
            # anyone learns whether the room exists, as the reference does.
            return MissingExternalRoom(self, key)
        return ExternalRoom(room, self)


class ExternalRoom:
    """A room, with its accesses loaded (Room.lookup)."""

    def __init__(self, room: Room, parent):
        self.room = room
        self.__parent__, self.__name__ = parent, str(room.id)
        self.request = parent.request

    def __acl__(self):
        acl = []
        for access in self.room.accesses:
            acl += external_room_grants(access.user_id, access.role)
        return acl


class MissingExternalRoom:
    """What a room's address names when no room has it: its views answer 404."""

    __acl__ = MISSING_EXTERNAL_ROOM_GRANTS

    def __init__(self, parent, key: str):
        self.__parent__, self.__name__ = parent, key
        self.request = parent.request


_CHILDREN = {"application": ApplicationSection, "rooms": ExternalRoomContainer}


class ExternalApiRoot:
    __name__ = ""
    __parent__ = None
    __acl__ = EXTERNAL_API_GRANTS

    def __init__(self, request):
        if not request.service(ExternalApiConfig).enabled:
            raise HTTPNotFound()  # as the reference, which routes none of it then
        self.request = request

    def __getitem__(self, key: str):
        return _CHILDREN[key](self, key)

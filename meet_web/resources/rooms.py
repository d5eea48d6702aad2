from __future__ import annotations

from pyramid.authorization import Allow, Everyone

from ..models import Room, slugify
from ..models.room import RESERVED_SLUGS, SLUG_MAX_LENGTH, contains_uuid
from ..security.permissions import (
    ENTRY_GRANTS,
    ROLE_GRANTS,
    ROOM_PUBLIC_GRANTS,
    SITE_GRANTS,
    Permission,
    participant_grants,
    user_principal,
)
from ..services.livekit import CONNECTION_TEST_PREFIX


class RoomContainer:
    """All rooms; a child is found by UUID or slug."""

    __acl__ = SITE_GRANTS
    missing_child_message = "No Room matches the given query."

    def __init__(self, parent, name: str = "rooms"):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request

    def __getitem__(self, key: str) -> RoomResource | UnregisteredRoom:
        if key in RESERVED_SLUGS:  # view names such as webhooks-livekit: no query
            raise KeyError(key)
        room = Room.lookup(self.request.dbsession, key)
        if room is not None:
            return RoomResource(room, parent=self)
        if self._serves_unregistered():
            slug = unregistered_slug(key)
            if slug is not None:
                return UnregisteredRoom(slug, parent=self)
        raise KeyError(key)

    def _serves_unregistered(self) -> bool:
        route = self.request.matched_route
        return (
            route is not None
            and route.name == "api"
            and self.request.registry.settings["rooms.allow_unregistered"]
        )


def unregistered_slug(key: str) -> str | None:
    """The slug, which is also the LiveKit room name, of an unregistered room; None when
    `key` may not name one.

    Registered rooms' LiveKit rooms are named by their ids: a slug holding a UUID
    (`<id>!`, `<id>.` and ` <id>` all slugify to `<id>`, which `Room.lookup` reads as
    no id) could name a restricted meeting and skip its lobby, and a `connection-test`
    slug someone's connection test. A registered room's slug never gets here: the
    lookup, which slugifies the key the same way, finds that room first.
    """
    slug = slugify(key)
    if not slug or slug in RESERVED_SLUGS or len(slug) > SLUG_MAX_LENGTH:
        return None
    if contains_uuid(slug) or slug.startswith(CONNECTION_TEST_PREFIX):
        return None
    return slug


class UnregisteredRoom:
    """A LiveKit room named by a slug no registered room has (`rooms.allow_unregistered`).

    Anyone may get a token for it; it has no lobby, members or settings.
    """

    __acl__ = [(Allow, Everyone, Permission.ROOM_VIEW)]

    def __init__(self, slug: str, parent):
        self.slug = slug
        self.__parent__, self.__name__ = parent, slug
        self.request = parent.request


class RoomResource:
    def __init__(self, room: Room, parent, name: str | None = None):
        self.room = room
        self.__parent__ = parent
        self.__name__ = name or room.slug
        self.request = parent.request

    def __acl__(self):
        acl = [
            (Allow, user_principal(access.user_id), ROLE_GRANTS[access.role])
            for access in self.room.accesses
        ]
        acl += ENTRY_GRANTS[self.room.access_level]
        acl += participant_grants(self.room.id, self.room.configuration)
        acl += ROOM_PUBLIC_GRANTS
        return acl

    @property
    def role(self):
        """The caller's role on this room (for display and for the role rules)."""
        identity = self.request.identity
        return self.room.role_of(identity.user_id if identity else None)

from __future__ import annotations

import uuid

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
from ..services.doors import Door, Doors, room_key, version_key
from ..services.ephemeral import EphemeralStore
from ..services.errors import NotFound
from ..services.livekit import CONNECTION_TEST_PREFIX

MISSING_ROOM = "No Room matches the given query."


class RoomContainer:
    """All rooms; a child is found by UUID or slug."""

    __acl__ = SITE_GRANTS
    missing_child_message = MISSING_ROOM

    def __init__(self, parent, name: str = "rooms"):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request

    def __getitem__(self, key: str) -> RoomResource | UnregisteredRoom:
        if key in RESERVED_SLUGS:  # view names such as webhooks-livekit: no query
            raise KeyError(key)
        room = room_at(self, key)
        if room is not None:
            return room
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


def room_at(parent, key: str, name: str | None = None) -> RoomResource | None:
    """The room `key` (an id or a slug) names, behind its door; None if there is none.

    A door this process keeps is used as it is (no I/O): the resource checks it against
    the room's version before anything but the grants everyone holds depends on it.
    """
    request = parent.request
    doors: Doors = request.service(Doors)
    target = room_key(key)
    if target is None:
        return None
    kept = doors.kept(target)
    if kept is not None:
        door, version = kept
        room = RoomResource.behind(door, parent, name, version=version, confirmed=False)
        if isinstance(target, uuid.UUID):
            return room  # checked when first needed, or along with the knock's reads
        # A slug may have passed to another room since (renamed, deleted): check now.
        if room.is_current(doors.current_version(door.id)):
            return room
    door = doors.load(request.dbsession, target)
    if door is not None and not isinstance(target, uuid.UUID):
        door = doors.load(request.dbsession, door.id)  # by id: kept, for the next request
    if door is None:
        return None
    return RoomResource.behind(door, parent, name, confirmed=True)


class RoomResource:
    """A room: built around a loaded ORM room, or behind the room's door (traversal).

    Behind a door, the ACL, the caller's role and what the hot paths read come from the
    door (services/doors.py); the ORM room is loaded only when a view asks for `room`.
    """

    def __init__(self, room: Room | None, parent, name: str | None = None):
        self._room = room
        self._door: Door | None = None
        self._version = None
        self._confirmed = True
        self.__parent__ = parent
        self.__name__ = name or (room.slug if room is not None else None)
        self.request = parent.request

    @classmethod
    def behind(
        cls, door: Door, parent, name: str | None = None, *, version=None, confirmed: bool
    ) -> RoomResource:
        resource = cls(None, parent, name or door.slug)
        resource._door, resource._version, resource._confirmed = door, version, confirmed
        return resource

    @property
    def id(self) -> uuid.UUID:
        return self._room.id if self._room is not None else self._door.id

    @property
    def room(self) -> Room:
        """The ORM room, with its accesses (loaded on first use)."""
        if self._room is None:
            room = Room.lookup(self.request.dbsession, str(self._door.id))
            if room is None:  # deleted since its door was read
                raise NotFound(MISSING_ROOM)
            self._room = room
        return self._room

    @property
    def door(self) -> Door:
        """The room's door, current as of this request (from the ORM room once loaded,
        which may hold this request's own changes)."""
        if self._room is not None:
            return Door.of(self._room)
        if not self._confirmed:
            self.confirm(self.request.service(Doors).current_version(self._door.id))
        return self._door

    @property
    def version_key(self) -> str:
        """The store key of the room's version, for a caller that reads it along with
        its own keys and hands it to `confirm`."""
        return version_key(self.id)

    def read_checking_door(self, keys: list[str]) -> list:
        """The store's values of `keys`, and the door checked in the same round trip
        when it has not been yet."""
        store = self.request.service(EphemeralStore)
        if self._confirmed:
            return store.get_many(keys) if keys else []
        version, *values = store.get_many([self.version_key, *keys])
        self.confirm(version)
        return values

    def is_current(self, version) -> bool:
        """Whether the door is the room's current one (`version`: the room's, just read)."""
        if version == self._version:
            self._confirmed = True
        return self._confirmed

    def confirm(self, version) -> None:
        """Check the door against the room's current version; reload it if it changed."""
        if self._confirmed:
            return
        if version != self._version:
            door = self.request.service(Doors).load(self.request.dbsession, self._door.id, version)
            if door is None:
                raise NotFound(MISSING_ROOM)
            self._door = door
        self._confirmed = True

    def __acl__(self):
        # A generator, and the grants everyone holds first: a permission they cover
        # (viewing, knocking) is decided without the door being checked or read. Only
        # Allow entries here, so their order decides nothing else.
        yield from ROOM_PUBLIC_GRANTS
        door = self.door
        for user_id, role in door.roles.items():
            yield (Allow, user_principal(user_id), ROLE_GRANTS[role])
        yield from ENTRY_GRANTS[door.access_level]
        yield from participant_grants(door.id, door.configuration)

    @property
    def role(self):
        """The caller's role on this room (for display and for the role rules)."""
        identity = self.request.identity
        return self.door.role_of(identity.user_id if identity else None)

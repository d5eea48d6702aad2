"""A room's door: what the hot paths need of a room, without the ORM.

A knock, a join and the room's ACL need a room's id, name, slug, access level,
configuration, PIN and who holds which role: the door. It is read with one Core
statement and kept per process under the room's version (versions.py: every change
to the room or its accesses writes a new one). The knock reads the version in its
lobby round trip (`RoomResource.confirm`); others read it when they first need more
than what everyone is granted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AccessLevel, ResourceAccess, Role, Room, slugify
from .versions import KeptCopies

_rooms = Room.__table__
_accesses = ResourceAccess.__table__
_DOOR = select(
    _rooms.c.id,
    _rooms.c.name,
    _rooms.c.slug,
    _rooms.c.access_level,
    _rooms.c.configuration,
    _rooms.c.pin_code,
    _accesses.c.user_id,
    _accesses.c.role,
).outerjoin(_accesses, _accesses.c.resource_id == _rooms.c.id)


@dataclass(frozen=True, slots=True)
class Door:
    """Shared by every request of the process: read it, never change what it holds."""

    id: uuid.UUID
    name: str
    slug: str
    access_level: AccessLevel
    configuration: dict
    pin_code: str | None
    roles: Mapping[str, Role]  # user id (str) -> their strongest role

    @property
    def is_public(self) -> bool:
        return self.access_level == AccessLevel.PUBLIC

    def role_of(self, user_id) -> Role | None:
        return None if user_id is None else self.roles.get(str(user_id))

    @classmethod
    def of(cls, room: Room) -> Door:
        """The door of an ORM room (as loaded, with its accesses)."""
        return cls(
            room.id,
            room.name,
            room.slug,
            room.access_level,
            room.configuration or {},
            room.pin_code,
            _strongest((a.user_id, a.role) for a in room.accesses),
        )

    @classmethod
    def from_rows(cls, rows) -> Door | None:
        if not rows:
            return None
        first = rows[0]
        return cls(
            first.id,
            first.name,
            first.slug,
            AccessLevel(first.access_level),
            first.configuration or {},
            first.pin_code,
            _strongest((r.user_id, r.role) for r in rows if r.user_id is not None),
        )


def _strongest(pairs) -> dict[str, Role]:
    roles: dict[str, Role] = {}
    for user_id, role in pairs:
        role, key = Role(role), str(user_id)
        if key not in roles or role.strength > roles[key].strength:
            roles[key] = role
    return roles


def room_key(key: str) -> uuid.UUID | str | None:
    """What `key` names: a room id, a slug, or nothing (as Room.lookup reads it)."""
    try:
        return uuid.UUID(key)
    except ValueError:
        return slugify(key) or None


class Doors(KeptCopies):
    """The process's kept doors, by room id (and slug)."""

    prefix = "room-version"

    def __init__(self, store, **kw):
        super().__init__(store, **kw)
        self._slugs: dict[str, uuid.UUID] = {}

    def id_changed_by(self, obj) -> uuid.UUID | None:
        if isinstance(obj, Room):
            return obj.id
        if isinstance(obj, ResourceAccess):
            return obj.resource_id
        return None

    def kept(self, key: uuid.UUID | str) -> tuple[Door, Any] | None:
        """The kept door for an id or slug and the version it was read at, if any:
        no I/O, and not checked yet (see RoomResource.confirm)."""
        if isinstance(key, uuid.UUID):
            return super().kept(key)
        room_id = self._slugs.get(key)
        kept = super().kept(room_id) if room_id is not None else None
        return kept if kept is not None and kept[0].slug == key else None

    def load(self, session: Session, key: uuid.UUID | str, version=...) -> Door | None:
        """The door as the database has it now; kept when found by id, under the room's
        version (`version`: the caller has just read it)."""
        if version is ... and isinstance(key, uuid.UUID):
            version = self.current_version(key)
        where = _rooms.c.id == key if isinstance(key, uuid.UUID) else _rooms.c.slug == key
        door = Door.from_rows(session.connection().execute(_DOOR.where(where)).all())
        if door is None:
            return None
        if version is not ...:  # by slug, the version is unknown: not kept
            self.keep(door.id, door, version)
            with self._lock:
                self._slugs[door.slug] = door.id
        return door

    def dropped(self, row_id, copy: Door) -> None:
        if self._slugs.get(copy.slug) == row_id:
            del self._slugs[copy.slug]


def version_key(room_id) -> str:
    return f"{Doors.prefix}:{room_id}"

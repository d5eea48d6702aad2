"""A room's door: what the hot paths need of a room, without the ORM.

A knock, a join and the room's ACL need a room's id, name, slug, access level,
configuration, PIN and who holds which role: the door. It is read with one Core
statement and kept per process, because rooms are read far more often than they
change. A kept door is used only after checking the room's version in the ephemeral
store (shared by all processes): every commit that changes a room or its accesses
writes a new version (see `track_changes`), so a process never answers with a door
older than the last change it could see. The check rides on a round trip the request
makes anyway where it can (the knock's lobby call reads the version with its own keys).

Ordering makes this safe without locks: a door is loaded after its version was read
and kept under that version, so a door read before a change is always kept under an
older version than the one the change wrote. Versions are random tokens, never reused.
A kept door also expires after `LOCAL_LIFETIME` seconds, which bounds what a lost
version write (the store down just after a commit) can cost.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..db import DOORS
from ..models import AccessLevel, ResourceAccess, Role, Room, slugify
from .ephemeral import EphemeralStore

log = logging.getLogger(__name__)

LOCAL_LIFETIME = 60.0  # seconds a kept door may be used, however its version reads
LOCAL_SIZE = 10_000  # doors kept per process (least recently used dropped first)
VERSION_LIFETIME = 86_400  # a version outlives any kept door by far

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


def version_key(room_id) -> str:
    return f"room-version:{room_id}"


def room_key(key: str) -> uuid.UUID | str | None:
    """What `key` names: a room id, a slug, or nothing (as Room.lookup reads it)."""
    try:
        return uuid.UUID(key)
    except ValueError:
        return slugify(key) or None


@dataclass(slots=True)
class _Kept:
    door: Door
    version: Any
    until: float


class Doors:
    """The process's kept doors, checked against the shared versions before use."""

    def __init__(self, store: EphemeralStore, *, lifetime=LOCAL_LIFETIME, size=LOCAL_SIZE):
        self.store, self.lifetime, self.size = store, lifetime, size
        self._kept: OrderedDict[uuid.UUID, _Kept] = OrderedDict()
        self._slugs: dict[str, uuid.UUID] = {}
        self._lock = threading.Lock()

    # reading ------------------------------------------------------------------------

    def kept(self, key: uuid.UUID | str) -> tuple[Door, Any] | None:
        """The kept door for an id or slug and the version it was loaded under, if
        any and recent enough: no I/O, and not yet checked (see `is_current`)."""
        with self._lock:
            room_id = key if isinstance(key, uuid.UUID) else self._slugs.get(key)
            kept = self._kept.get(room_id) if room_id is not None else None
            if kept is None or kept.until < time.monotonic():
                return None
            if not isinstance(key, uuid.UUID) and kept.door.slug != key:
                return None
            self._kept.move_to_end(room_id)
            return kept.door, kept.version

    def load(self, session: Session, key: uuid.UUID | str, version=...) -> Door | None:
        """The door as the database has it now, kept under the room's current version
        (`version`: that version, when the caller has just read it)."""
        if version is ... and isinstance(key, uuid.UUID):
            version = self.store.get(version_key(key))
        where = _rooms.c.id == key if isinstance(key, uuid.UUID) else _rooms.c.slug == key
        door = Door.from_rows(session.connection().execute(_DOOR.where(where)).all())
        if door is None:
            return None
        if version is ...:  # found by slug: its version is read after the load, so
            return door  # it may already be newer than what was read; not kept
        self.keep(door, version)
        return door

    def keep(self, door: Door, version) -> None:
        with self._lock:
            old = self._kept.pop(door.id, None)
            if old is not None and old.door.slug != door.slug:
                self._slugs.pop(old.door.slug, None)
            self._kept[door.id] = _Kept(door, version, time.monotonic() + self.lifetime)
            self._slugs[door.slug] = door.id
            while len(self._kept) > self.size:
                _, dropped = self._kept.popitem(last=False)
                if self._slugs.get(dropped.door.slug) == dropped.door.id:
                    del self._slugs[dropped.door.slug]

    def current_version(self, room_id) -> Any:
        return self.store.get(version_key(room_id))

    # writing ------------------------------------------------------------------------

    def changed(self, room_ids) -> None:
        """New versions for these rooms: every process reloads their doors."""
        for room_id in room_ids:
            self.store.put(version_key(room_id), secrets.token_hex(8), VERSION_LIFETIME)
        with self._lock:
            for room_id in room_ids:
                self._kept.pop(room_id, None)


# -- noticing changes ---------------------------------------------------------------------

CHANGED_ROOMS = "meet_web.changed_rooms"  # session.info: ids of rooms changed in this transaction


def _changed_room_ids(session: Session) -> set[uuid.UUID]:
    ids = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Room) and obj.id is not None:
            ids.add(obj.id)
        elif isinstance(obj, ResourceAccess) and obj.resource_id is not None:
            ids.add(obj.resource_id)
    return ids


def _after_flush(session, _context):
    # After the flush, so new rows have their ids; `session.new` and the others still
    # hold what was flushed.
    doors = session.info.get(DOORS)
    if doors is None:
        return
    ids = _changed_room_ids(session)
    if ids:
        session.info.setdefault(CHANGED_ROOMS, set()).update(ids)
        doors.changed(ids)


def _after_commit(session):
    doors = session.info.get(DOORS)
    changed = session.info.pop(CHANGED_ROOMS, None)
    if doors is not None and changed:
        try:
            doors.changed(changed)
        except Exception as exc:  # committed: the flush wrote versions already
            log.warning("new room versions after commit not written: %s", exc)


def _after_rollback(session):
    session.info.pop(CHANGED_ROOMS, None)


_LISTENERS = (
    ("after_flush", _after_flush),
    ("after_commit", _after_commit),
    ("after_rollback", _after_rollback),
)


def track_changes() -> None:
    """Have every session that holds a `Doors` in `session.info[DOORS]` write new
    versions for the rooms it changes: when it flushes them (so its own later reads,
    and a test's uncommitted rows, are seen) and again after the commit (so a door
    loaded between the flush and the commit, still the old one, is dropped)."""
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)

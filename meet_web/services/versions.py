"""Copies of rows kept per process, and the versions that keep them honest.

Rooms' doors (doors.py) and signed-in accounts (accounts.py) are read on every hot
request and change rarely, so each process keeps a copy. A copy is used only under the
row's current version, read from the ephemeral store that all processes share (in a
round trip the request makes anyway where it can): every session that changes such a
row writes a new version, so no process serves a copy older than the last change it
could see.

Ordering makes this safe without locks: a copy is loaded after its version was read
and kept under that version, so a copy read before a change is always kept under an
older version than the one the change wrote. Versions are random tokens, never reused.
Versions are written when the session flushes the change (its own later reads, and a
test's uncommitted rows, are then seen) and again after the commit (a copy loaded
between the flush and the commit, still the old one, is dropped). A kept copy also
expires after `lifetime` seconds, which bounds what a lost version write (the store
down just after a commit) can cost.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from ..db import KEPT
from .ephemeral import EphemeralStore

log = logging.getLogger(__name__)

CHANGED = "meet_web.changed"  # session.info: {KeptCopies: ids} changed in this transaction

LOCAL_LIFETIME = 60.0  # seconds a kept copy may be used, however its version reads
LOCAL_SIZE = 10_000  # copies kept per process (least recently used dropped first)
VERSION_LIFETIME = 86_400  # a version outlives any kept copy by far


class KeptCopies:
    """The process's copies of one kind of row, each under the version it was read at."""

    prefix = "version"  # of the version keys: `<prefix>:<id>`

    def __init__(self, store: EphemeralStore, *, lifetime=LOCAL_LIFETIME, size=LOCAL_SIZE):
        self.store, self.lifetime, self.size = store, lifetime, size
        self._kept: OrderedDict[Hashable, tuple[Any, Any, float]] = OrderedDict()
        self._lock = threading.Lock()

    def version_key(self, row_id) -> str:
        return f"{self.prefix}:{row_id}"

    def current_version(self, row_id) -> Any:
        return self.store.get(self.version_key(row_id))

    def id_changed_by(self, obj) -> Hashable | None:
        """The id of the kept row a changed ORM object bears on, if any."""
        raise NotImplementedError

    def kept(self, row_id) -> tuple[Any, Any] | None:
        """(copy, version it was read at), if kept and recent enough; no I/O."""
        with self._lock:
            kept = self._kept.get(row_id)
            if kept is None or kept[2] < time.monotonic():
                return None
            self._kept.move_to_end(row_id)
            return kept[0], kept[1]

    def keep(self, row_id, copy, version) -> None:
        with self._lock:
            self._kept.pop(row_id, None)
            self._kept[row_id] = (copy, version, time.monotonic() + self.lifetime)
            while len(self._kept) > self.size:
                dropped_id, (dropped, _, _) = self._kept.popitem(last=False)
                self.dropped(dropped_id, dropped)

    def dropped(self, row_id, copy) -> None:
        """Called (under the lock) when a copy leaves; subclasses clean their indexes."""

    def forget_all(self) -> None:
        """Drop every copy (tests roll back rows whose commits wrote no later version)."""
        with self._lock:
            while self._kept:
                row_id, (copy, _, _) = self._kept.popitem(last=False)
                self.dropped(row_id, copy)

    def changed(self, row_ids) -> None:
        """New versions for these rows: every process reloads its copies."""
        for row_id in row_ids:
            self.store.put(self.version_key(row_id), secrets.token_hex(8), VERSION_LIFETIME)
        self.drop(row_ids)

    def drop(self, row_ids) -> None:
        """Drop this process's copies of these rows (no I/O)."""
        with self._lock:
            for row_id in row_ids:
                kept = self._kept.pop(row_id, None)
                if kept is not None:
                    self.dropped(row_id, kept[0])


def _after_flush(session, _context):
    # After the flush, so new rows have their ids; `session.new` and the others still
    # hold what was flushed.
    caches = session.info.get(KEPT)
    if not caches:
        return
    objects = (*session.new, *session.dirty, *session.deleted)
    for cache in caches:
        ids = {cache.id_changed_by(obj) for obj in objects} - {None}
        if ids:
            session.info.setdefault(CHANGED, {}).setdefault(cache, set()).update(ids)
            cache.changed(ids)


def _after_commit(session):
    renew_versions(session)


def _after_rollback(session):
    # A copy loaded between the flush and the rollback (by this session: nobody else
    # saw the rows) holds what never was: new versions drop it too.
    renew_versions(session)


def renew_versions(session) -> None:
    """New versions for the rows this session flushed since its last commit or rollback."""
    for cache, ids in session.info.pop(CHANGED, {}).items():
        try:
            cache.changed(ids)
        except Exception as exc:  # the flush wrote versions already
            log.warning("new versions not written: %s", exc)


_LISTENERS = (
    ("after_flush", _after_flush),
    ("after_commit", _after_commit),
    ("after_rollback", _after_rollback),
)


def track_changes() -> None:
    """Have every session holding KeptCopies in `session.info[KEPT]` tell them of the
    rows it changes."""
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)

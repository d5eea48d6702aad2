"""The signed-in caller's account, without the ORM: what every authenticated request
needs of its user (id, active, operator, language, names), kept per process under the
user's version (versions.py) like rooms' doors.

The session's revocation mark and the user's version are read in one round trip; the
account is loaded with one Core statement only when this process has no copy under
that version.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import User
from .versions import KeptCopies

_users = User.__table__
_ACCOUNT = select(
    _users.c.id,
    _users.c.email,
    _users.c.full_name,
    _users.c.short_name,
    _users.c.language,
    _users.c.is_active,
    _users.c.is_operator,
)


@dataclass(frozen=True, slots=True)
class Account:
    id: uuid.UUID
    email: str | None
    full_name: str | None
    short_name: str | None
    language: str
    is_active: bool
    is_operator: bool

    def __str__(self) -> str:  # as User's
        return self.email or str(self.id)

    @property
    def display_name(self) -> str:
        return self.full_name or str(self)


def revoked_key(session_id: str) -> str:
    return f"session-revoked:{session_id}"


class Accounts(KeptCopies):
    prefix = "user-version"

    def id_changed_by(self, obj) -> uuid.UUID | None:
        return obj.id if isinstance(obj, User) else None

    def for_session(self, db: Session, user_id: str, session_id: str) -> Account | None:
        """The active account of a signed-in session, or None (revoked, gone, inactive)."""
        try:
            key = uuid.UUID(user_id)
        except ValueError:
            return None
        revoked, version = self.store.get_many([revoked_key(session_id), self.version_key(key)])
        if revoked:
            return None
        kept = self.kept(key)
        if kept is not None and kept[1] == version:
            account = kept[0]
        else:
            row = db.connection().execute(_ACCOUNT.where(_users.c.id == key)).first()
            if row is None:
                return None
            account = Account(**row._asdict())
            self.keep(key, account, version)
        return account if account.is_active else None


# -- a user's active sessions ------------------------------------------------------------------


def sessions_group(user_id) -> str:
    return f"user-sessions:{user_id}"


def session_entry_key(public_id: str) -> str:
    return f"session-seen:{public_id}"


def public_session_id(session_id: str) -> str:
    """How pages name a session: a digest, so that a page never shows the id a revocation
    is keyed by."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class SeenSession:
    public_id: str
    user_agent: str
    signed_in: float | None
    last_seen: float


class ActiveSessions:
    """Each user's signed-in sessions in the ephemeral store (a group per user, so it
    holds across processes with Redis), with their device and when they were last seen.

    An entry lives as long as the session may (`session.max_age`, renewed when seen);
    a request writes it at most once per `interval` seconds per process (a dict lookup
    otherwise), so the last-seen time is that precise.
    """

    MEMO_LIMIT = 50_000  # sessions this process remembers writing; then it starts over

    def __init__(self, store, max_age: int, interval: int):
        self.store, self.max_age, self.interval = store, max_age, interval
        self._written: dict[str, float] = {}

    def seen(self, user_id, session_id: str, user_agent: str, signed_in: float | None) -> None:
        now = time.time()
        if now - self._written.get(session_id, 0.0) < self.interval:
            return
        if len(self._written) >= self.MEMO_LIMIT:
            self._written.clear()
        self._written[session_id] = now
        self.write(user_id, session_id, user_agent, signed_in, now)

    def write(self, user_id, session_id, user_agent, signed_in, now=None) -> None:
        value = {
            "session_id": session_id,
            "user_agent": (user_agent or "")[:512],
            "signed_in": signed_in,
            "last_seen": now or time.time(),
        }
        key = session_entry_key(public_session_id(session_id))
        self.store.put(key, value, self.max_age, group=sessions_group(user_id))

    def _entries(self, user_id) -> list[tuple[str, dict]]:
        keys = self.store.group(sessions_group(user_id))
        values = self.store.get_many(keys) if keys else []
        return [(k, v) for k, v in zip(keys, values, strict=True) if isinstance(v, dict)]

    def of_user(self, user_id) -> list[SeenSession]:
        """The user's sessions, the most recently seen first."""
        found = [
            SeenSession(
                public_id=public_session_id(value["session_id"]),
                user_agent=value.get("user_agent") or "",
                signed_in=value.get("signed_in"),
                last_seen=value.get("last_seen") or 0.0,
            )
            for _key, value in self._entries(user_id)
            if value.get("session_id")
        ]
        return sorted(found, key=lambda s: s.last_seen, reverse=True)

    def revoke(self, user_id, session_id: str) -> None:
        """The session stops working at its next request, whatever copy of its cookie."""
        self.store.put(revoked_key(session_id), True, self.max_age)
        self.forget(user_id, session_id)

    def forget(self, user_id, session_id: str) -> None:
        key = session_entry_key(public_session_id(session_id))
        self.store.delete(key, groups=(sessions_group(user_id),))
        self._written.pop(session_id, None)

    def revoke_others(self, user_id, current_session_id: str, only: str | None = None) -> int:
        """Revoke the user's sessions but the current one (only the one with public id
        `only`, when given); how many were revoked."""
        revoked = 0
        for _key, value in self._entries(user_id):
            session_id = value.get("session_id")
            if not session_id or session_id == current_session_id:
                continue
            if only is not None and public_session_id(session_id) != only:
                continue
            self.revoke(user_id, session_id)
            revoked += 1
        return revoked


ACTIVE_SESSIONS_KEY = "meet_web.active_sessions"


def active_sessions(registry) -> ActiveSessions:
    """The process's ActiveSessions, made on first use (the store is registered after
    the security policy that uses it)."""
    found = registry.get(ACTIVE_SESSIONS_KEY)
    if found is None:
        from .ephemeral import EphemeralStore

        settings = registry.settings
        found = registry[ACTIVE_SESSIONS_KEY] = ActiveSessions(
            registry["meet_services"][EphemeralStore],
            settings["session.max_age"],
            settings["session.last_seen_interval"],
        )
    return found

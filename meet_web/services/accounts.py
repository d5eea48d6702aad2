"""The signed-in caller's account, without the ORM: what every authenticated request
needs of its user (id, active, operator, language, names), kept per process under the
user's version (versions.py) like rooms' doors.

The session's revocation mark and the user's version are read in one round trip; the
account is loaded with one Core statement only when this process has no copy under
that version.
"""

from __future__ import annotations

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

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, String, false, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..db import BaseModel
from .enums import AccessLevel, db_enum


class User(BaseModel):
    __tablename__ = "users"

    sub: Mapped[str | None] = mapped_column(String(255), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    full_name: Mapped[str | None] = mapped_column(String(100))
    short_name: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(10), default="en-us")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # False until the person picks a zone (account page, users API): until then the
    # account page offers their browser's zone.
    timezone_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    default_room_access_level: Mapped[AccessLevel | None] = mapped_column(
        db_enum(AccessLevel, "default_room_access_level")
    )
    default_room_configuration: Mapped[dict] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False)
    # E-mail me when a guest waits in the lobby of a room I manage and no manager is in
    # the meeting (services/lobby_alerts.py).
    guest_waiting_emails: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    last_login: Mapped[datetime | None]

    def __str__(self) -> str:
        return self.email or str(self.id)

    @property
    def display_name(self) -> str:
        return self.full_name or str(self)

    @classmethod
    def by_id(cls, session: Session, user_id: uuid.UUID | str) -> User | None:
        try:
            key = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
        except ValueError:
            return None
        return session.get(cls, key)

    @classmethod
    def by_sub(cls, session: Session, sub: str) -> User | None:
        return session.scalars(select(cls).where(cls.sub == sub)).one_or_none()

    @classmethod
    def by_email(cls, session: Session, email: str) -> list[User]:
        query = select(cls).where(func.lower(cls.email) == email.strip().lower())
        return list(session.scalars(query))


# Provisional users (no sub yet, created by email) must not collide by email.
Index(
    "uq_users_provisional_email",
    func.lower(User.email),
    unique=True,
    sqlite_where=User.sub.is_(None),
    postgresql_where=User.sub.is_(None),
)

# The user search's trigram indexes (PostgreSQL's pg_trgm, migration c3f1a9e2b7d4);
# SQLite has none: its search is a prefix match.
for _name, _column in (("email", User.email), ("full_name", User.full_name)):
    Index(
        f"ix_users_{_name}_trgm",
        func.lower(_column).label(f"{_name}_lower"),
        postgresql_using="gin",
        postgresql_ops={f"{_name}_lower": "gin_trgm_ops"},
    )

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, UniqueConstraint, column, func, select, table
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..db import BaseModel
from .enums import Role, db_enum
from .user import User

if TYPE_CHECKING:
    from .room import Room


class LastOwnerError(Exception):
    """Raised when a change would leave a room without an owner."""


class ResourceAccess(BaseModel):
    """A user's role on a room (the reference's resource access)."""

    __tablename__ = "resource_accesses"
    __table_args__ = (UniqueConstraint("user_id", "resource_id"),)

    resource_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(db_enum(Role, "role"), default=Role.MEMBER)

    resource: Mapped[Room] = relationship(back_populates="accesses")
    user: Mapped[User] = relationship()

    def is_last_owner(self, session: Session) -> bool:
        if self.role != Role.OWNER:
            return False
        # Two owners stepping down at once would each count the other and leave none:
        # lock the room's row first, so the second waits for the first to commit and
        # then counts what it left (PostgreSQL; SQLite has one writer at a time).
        # NO KEY UPDATE: adding members (a foreign-key check) is not held up.
        rooms = table("rooms", column("id"))
        session.execute(
            select(rooms.c.id).where(rooms.c.id == self.resource_id).with_for_update(key_share=True)
        )
        owners = session.scalar(
            select(func.count())
            .select_from(ResourceAccess)
            .where(
                ResourceAccess.resource_id == self.resource_id,
                ResourceAccess.role == Role.OWNER,
            )
        )
        return owners <= 1

    def change_role(self, session: Session, role: Role) -> None:
        if role != Role.OWNER and self.is_last_owner(session):
            raise LastOwnerError("A room must keep at least one owner.")
        self.role = role

    def delete(self, session: Session) -> None:
        if self.is_last_owner(session):
            raise LastOwnerError("A room must keep at least one owner.")
        session.delete(self)

    @classmethod
    def by_id(cls, session: Session, access_id: str) -> ResourceAccess | None:
        try:
            key = uuid.UUID(access_id)
        except ValueError:
            return None
        return session.get(cls, key)

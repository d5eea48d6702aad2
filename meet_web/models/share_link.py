from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import BaseModel, utcnow
from .recording import Recording
from .user import User

TOKEN_BYTES = 32


def new_share_token() -> str:
    """An unguessable token for a link; only its digest is stored."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def share_token_digest(token: str) -> str:
    # A 256-bit random token needs no salt or stretching: SHA-256 of it cannot be
    # reversed, and a lookup by digest stays one indexed query.
    return hashlib.sha256(token.encode()).hexdigest()


class RecordingShareLink(BaseModel):
    """A link that lets whoever holds it play and download one saved recording."""

    __tablename__ = "recording_share_links"

    recording_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    recording: Mapped[Recording] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > utcnow()

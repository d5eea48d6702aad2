"""Share links: whoever holds one may play and download one saved recording, nothing else.

Rules:
- Only a saved recording can be shared (409 otherwise), and not once it has expired
  (410).
- A link lasts `expires_in_days` whole days from its creation: DEFAULT_DAYS unless
  asked, at most MAX_DAYS, and at most `recording.expiration_days` when that is set.
  It never outlives the recording: a link asked to last longer ends when the
  recording expires.
- The token is shown once, when the link is made. Only its SHA-256 digest is kept,
  so the table never holds a usable token, and finding a link is one indexed lookup
  of the digest (no comparison of secrets in Python, so nothing to time).
- Every use resolves the token again: a revoked or expired link stops working at
  once, and so does every link of a recording that expired or was deleted (its links
  are deleted with it).
- Revoking is idempotent: the first revocation's time is kept.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..db import utcnow
from ..models import Recording
from ..models.share_link import RecordingShareLink, new_share_token, share_token_digest
from ..services.errors import Conflict, DomainError
from .config import RecordingConfig

DEFAULT_DAYS = 7
MAX_DAYS = 365

# What new_share_token() makes (43 URL-safe characters), with room to spare; anything
# else names no link and costs no query.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{32,128}\Z")

NOT_SAVED = "Only a saved recording can be shared."
RECORDING_EXPIRED = "The recording has expired."
NOT_AN_INTEGER = "A valid integer is required."


class Gone(DomainError):
    """What the request names existed but is no more (answered with 410)."""

    status = 410


class LinkStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


def link_status(link: RecordingShareLink, now: datetime | None = None) -> LinkStatus:
    if link.revoked_at is not None:
        return LinkStatus.REVOKED
    if link.expires_at <= (now or utcnow()):
        return LinkStatus.EXPIRED
    return LinkStatus.ACTIVE


# -- expiry ---------------------------------------------------------------------------------


def max_days(config: RecordingConfig) -> int:
    """The longest a link may be asked to last."""
    if config.expiration_days is None:
        return MAX_DAYS
    return max(1, min(MAX_DAYS, config.expiration_days))


def default_days(config: RecordingConfig) -> int:
    return min(DEFAULT_DAYS, max_days(config))


def parse_days(value: Any, config: RecordingConfig) -> int:
    """Whole days, from an integer; ValueError with the message to show otherwise
    (Django REST framework's wording)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(NOT_AN_INTEGER)
    if value < 1:
        raise ValueError("Ensure this value is greater than or equal to 1.")
    limit = max_days(config)
    if value > limit:
        raise ValueError(f"Ensure this value is less than or equal to {limit}.")
    return value


def days_from_form(value: str, config: RecordingConfig) -> int:
    """Whole days typed in a form field (digits only); ValueError as `parse_days`."""
    value = value.strip()
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise ValueError(NOT_AN_INTEGER)
    return parse_days(int(value), config)


def link_expiry(
    recording: Recording, days: int, config: RecordingConfig, now: datetime
) -> datetime:
    expires = now + timedelta(days=days)
    recording_expiry = recording.expired_at(config.expiration_days)
    if recording_expiry is not None:
        expires = min(expires, recording_expiry)
    return expires


# -- creating, listing, revoking --------------------------------------------------------------


def check_shareable(recording: Recording, config: RecordingConfig) -> None:
    if not recording.is_saved:
        raise Conflict(NOT_SAVED)
    if recording.is_expired(config.expiration_days):
        raise Gone(RECORDING_EXPIRED)


@dataclass(frozen=True)
class NewLink:
    """A link just made, and its token: the only time the token is known."""

    link: RecordingShareLink
    token: str


def create_link(
    session, recording: Recording, creator_id: uuid.UUID | None, days: int, config
) -> NewLink:
    check_shareable(recording, config)
    now = utcnow()
    token = new_share_token()
    link = RecordingShareLink(
        recording_id=recording.id,
        created_by_id=creator_id,
        token_digest=share_token_digest(token),
        expires_at=link_expiry(recording, days, config, now),
        created_at=now,
        updated_at=now,
    )
    session.add(link)
    session.flush()
    return NewLink(link, token)


def links_of(session, recording_id: uuid.UUID) -> list[RecordingShareLink]:
    """Every link of the recording, newest first (revoked and expired ones too)."""
    return list(
        session.scalars(
            select(RecordingShareLink)
            .where(RecordingShareLink.recording_id == recording_id)
            .order_by(RecordingShareLink.created_at.desc(), RecordingShareLink.id)
        )
    )


def link_of(session, recording_id: uuid.UUID, link_id: uuid.UUID) -> RecordingShareLink | None:
    """The recording's link `link_id`; None for another recording's."""
    return session.scalars(
        select(RecordingShareLink).where(
            RecordingShareLink.id == link_id, RecordingShareLink.recording_id == recording_id
        )
    ).one_or_none()


def revoke_link(link: RecordingShareLink) -> None:
    if link.revoked_at is None:
        link.revoked_at = utcnow()


# -- the holder's side ----------------------------------------------------------------------


class Problem(StrEnum):
    """Why a token opens nothing."""

    UNKNOWN = "unknown"  # no such link (never made, or its recording was deleted)
    REVOKED = "revoked"
    EXPIRED = "expired"
    RECORDING_EXPIRED = "recording-expired"
    NOT_SAVED = "not-saved"


@dataclass(frozen=True)
class Resolution:
    link: RecordingShareLink | None
    problem: Problem | None

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def recording(self) -> Recording | None:
        return self.link.recording if self.link is not None else None


def find_link(session, token: str) -> RecordingShareLink | None:
    """The link whose token this is, usable or not (with its recording and room)."""
    if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
        return None
    return session.scalars(
        select(RecordingShareLink)
        .where(RecordingShareLink.token_digest == share_token_digest(token))
        .options(selectinload(RecordingShareLink.recording).selectinload(Recording.room))
    ).one_or_none()


def resolve(session, token: str, config: RecordingConfig) -> Resolution:
    """The link a token opens, and whether it may be used now."""
    link = find_link(session, token)
    if link is None:
        return Resolution(None, Problem.UNKNOWN)
    status = link_status(link)
    if status == LinkStatus.REVOKED:
        return Resolution(link, Problem.REVOKED)
    if status == LinkStatus.EXPIRED:
        return Resolution(link, Problem.EXPIRED)
    if link.recording.is_expired(config.expiration_days):
        return Resolution(link, Problem.RECORDING_EXPIRED)
    if not link.recording.is_saved:
        return Resolution(link, Problem.NOT_SAVED)
    return Resolution(link, None)


def is_live_link_to(session, token: str, recording_id: uuid.UUID) -> bool:
    """Whether `token` is a link to this very recording, neither revoked nor expired
    (whether the recording itself may be played is the caller's to check)."""
    link = find_link(session, token)
    return (
        link is not None
        and link.recording_id == recording_id
        and link_status(link) == LinkStatus.ACTIVE
    )

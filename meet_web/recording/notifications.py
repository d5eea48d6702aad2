"""The "your recording is ready" e-mail to every owner of a completed recording.

Each owner gets it in their language, with the recording's date and time in their time
zone. It leaves after the transaction that completed the recording has committed; once
every owner's mail was accepted the recording's `notified_at` is set. That marker, not
the status (which the summary service moves on independently), says whether a mail is
still owed: `meet-web-resend-notifications <ini>` mails again the saved recordings
without it (every owner: the store does not remember which mail of several went out).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from ..db import utcnow
from ..models import Recording, RecordingAccess, Role, User
from ..services.mail import Mailer
from .config import RecordingConfig

log = logging.getLogger(__name__)

TEMPLATE = "recording_ready"


def local_time(moment, timezone: str):
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone)


def owners_of(recording: Recording) -> list[User]:
    """The people owning the recording, oldest access first (teams are not mailed)."""
    accesses = sorted(
        (a for a in recording.accesses if a.role == Role.OWNER and a.user is not None),
        key=lambda a: (a.created_at, str(a.id)),
    )
    return [access.user for access in accesses]


def with_owners(session: Session, recording_id: uuid.UUID) -> Recording | None:
    """The recording with what its notices need loaded: its room, its accesses' users."""
    return session.scalars(
        select(Recording)
        .where(Recording.id == recording_id)
        .options(
            selectinload(Recording.accesses).selectinload(RecordingAccess.user),
            selectinload(Recording.room),
        )
    ).one_or_none()


def link_to(recording: Recording, link_base: str | None) -> str:
    """The recording's page, `<link base>/<id>`."""
    return f"{link_base}/{recording.id}" if link_base else str(recording.id)


class CompletionMail:
    def __init__(self, mailer: Mailer, config: RecordingConfig):
        self.mailer, self.config = mailer, config

    def messages(self, recording: Recording, link_base: str | None) -> list:
        """One message per owner with an address, oldest access first."""
        link = link_to(recording, link_base)
        messages = []
        for user in owners_of(recording):
            if not user.email:
                continue
            when = local_time(recording.created_at, user.timezone)
            messages.append(
                self.mailer.compose(
                    TEMPLATE,
                    to=user.email,
                    language=user.language,
                    values={
                        "room_name": recording.room.name,
                        "date": when.strftime("%Y-%m-%d"),
                        "time": when.strftime("%H:%M"),
                        "expiration_days": self.config.expiration_days,
                        "link": link,
                    },
                )
            )
        return messages

    def send(self, sessions: Callable[[], Session], recording_id: uuid.UUID, link_base) -> bool:
        """Mail the owners of a saved recording not yet notified; True (and `notified_at`
        set) when every mail was accepted, or when they had been told already. No owner
        with an address counts as a failure."""
        with sessions() as session:
            recording = with_owners(session, recording_id)
            if recording is None or not recording.is_saved:
                return False
            if recording.notified_at is not None:
                return True
            messages = self.messages(recording, link_base)
        if not messages:
            log.warning("recording %s has no owner to mail", recording_id)
            return False
        results = [self.mailer.send_quietly(message) for message in messages]
        if not all(results):
            log.warning("recording %s: a completion mail failed; it is owed still", recording_id)
            return False
        with sessions() as session:
            session.execute(
                update(Recording)
                .where(Recording.id == recording_id, Recording.notified_at.is_(None))
                .values(notified_at=utcnow())
            )
            session.commit()
        return True

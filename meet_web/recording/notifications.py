"""The "your recording is ready" e-mail to every owner of a completed recording.

Each owner gets it in their language, with the recording's date and time in their time
zone. It leaves after the transaction that completed the recording has committed; when
every owner's mail was accepted the status moves from `saved` to
`notification_succeeded`. A recording left `saved` by a failure is mailed again by
`meet-web-resend-notifications <ini>` (every owner: the store does not remember which
mail of several went out).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from ..models import Recording, RecordingAccess, RecordingStatus, Role
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


class CompletionMail:
    def __init__(self, mailer: Mailer, config: RecordingConfig):
        self.mailer, self.config = mailer, config

    def messages(self, recording: Recording, link_base: str | None) -> list:
        """One message per owner with an address, oldest access first."""
        owners = sorted(
            (a for a in recording.accesses if a.role == Role.OWNER and a.user is not None),
            key=lambda a: (a.created_at, str(a.id)),
        )
        base = link_base or ""
        link = f"{base}/{recording.id}" if base else str(recording.id)
        messages = []
        for access in owners:
            user = access.user
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
        """Mail the owners of a `saved` recording; True (and `notification_succeeded`)
        when every mail was accepted. No owner with an address counts as a failure."""
        with sessions() as session:
            recording = session.scalars(
                select(Recording)
                .where(Recording.id == recording_id)
                .options(
                    selectinload(Recording.accesses).selectinload(RecordingAccess.user),
                    selectinload(Recording.room),
                )
            ).one_or_none()
            if recording is None or recording.status != RecordingStatus.SAVED:
                return False
            messages = self.messages(recording, link_base)
        if not messages:
            log.warning("recording %s has no owner to mail", recording_id)
            return False
        results = [self.mailer.send_quietly(message) for message in messages]
        if not all(results):
            log.warning("recording %s: a completion mail failed; it stays saved", recording_id)
            return False
        with sessions() as session:
            session.execute(
                update(Recording)
                .where(Recording.id == recording_id, Recording.status == RecordingStatus.SAVED)
                .values(status=RecordingStatus.NOTIFICATION_SUCCEEDED)
            )
            session.commit()
        return True

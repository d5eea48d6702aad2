"""The summary service: saved transcripts handed over for a written summary.

With `summary.enabled` on, a recording in `transcript` mode, or a screen recording
started with `options.transcribe`, is posted once it is saved to `summary.endpoint`
(the reference's version 2 payload, §5.3) with `Authorization: Bearer
<summary.api_token>`, waiting at most `summary.timeout` seconds. The service answers
with a `job_id`, kept as the recording's `external_process_id`; it reports on the job
later through POST /recordings/external-process-hook/, which moves the status on.

The job's title carries the meeting's date and time, in the owner's language and time
zone, from the start of the egress's file as its `egress_ended` webhook reports it (the
reference asks ListEgress for the same); completed by the legacy bucket notification,
which carries no times, it is "Transcription" (the reference's title when LiveKit cannot tell).

A refusal, an answer without a job id, a timeout or a service that cannot be reached is
logged and leaves the recording `saved` (not `notification_succeeded`); the owners'
mail goes out all the same. The call is not retried: the service may have started
the job before failing to answer, and a second job would summarise the meeting twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_date, format_time
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..i18n import DOMAIN, gettext_locale
from ..models import Recording, RecordingMode, User
from ..services.mail import localizer_for
from .config import RecordingConfig
from .notifications import link_to, local_time, owners_of, with_owners
from .storage import RecordingStorage

log = logging.getLogger(__name__)

# Both are translated in the owner's language (listed in meet_web/i18n/messages.py).
TITLE = 'Meeting "%(room)s" on %(date)s at %(time)s'
UNTIMED_TITLE = "Transcription"


@dataclass(frozen=True)
class SummaryConfig:
    enabled: bool
    endpoint: str
    api_token: str
    timeout: float
    signed_url_expiry_seconds: int
    auto_create_summary: bool
    default_language: str  # a site language (`en-us`): the language when none was chosen

    @classmethod
    def from_settings(cls, settings) -> SummaryConfig:
        return cls(
            enabled=settings["summary.enabled"],
            endpoint=settings["summary.endpoint"],
            api_token=settings["summary.api_token"],
            timeout=settings["summary.timeout"],
            signed_url_expiry_seconds=settings["summary.cloud_storage_signed_url_expiry_seconds"],
            auto_create_summary=settings["summary.auto_create_summary"],
            default_language=settings["app.default_language"],
        )


@dataclass(frozen=True)
class Times:
    """When the capture started and ended, as the egress reported it (UTC)."""

    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None


class SummaryFailed(Exception):
    pass


def title_of(room_name: str, owner: User, started_at: datetime | None) -> str:
    """`Meeting "<room>" on <date> at <time>` in the owner's language and time zone."""
    localizer = localizer_for(owner.language)
    if started_at is None:
        return localizer.translate(UNTIMED_TITLE, domain=DOMAIN)
    locale = gettext_locale(owner.language)
    when = local_time(started_at, owner.timezone)
    return localizer.translate(TITLE, domain=DOMAIN) % {
        "room": room_name,
        "date": format_date(when, format="long", locale=locale),
        "time": format_time(when, format="short", locale=locale),
    }


class SummaryService:
    def __init__(
        self, config: SummaryConfig, recording_config: RecordingConfig, storage: RecordingStorage
    ):
        self.config, self.recording_config, self.storage = config, recording_config, storage

    def applies_to(self, recording: Recording) -> bool:
        if not self.config.enabled:
            return False
        options = recording.options or {}
        return recording.mode == RecordingMode.TRANSCRIPT or options.get("transcribe") is True

    def is_satisfied(self, recording: Recording) -> bool:
        """Nothing is owed to the service: it does not apply, or it took the job."""
        return recording.external_process_id is not None or not self.applies_to(recording)

    def payload(self, recording: Recording, owner: User, link: str, times: Times) -> dict:
        """The reference's version 2 payload."""
        key = recording.key(self.recording_config.output_folder)
        language = (recording.options or {}).get("language")
        return {
            "user_sub": owner.sub,
            "user_email": owner.email,
            "cloud_storage_url": self._signed_url(key),
            "language": language or gettext_locale(self.config.default_language),
            "context_language": owner.language,
            "push_to_docs_config": {
                "user_email": owner.email,
                "title": title_of(recording.room.name, owner, times.started_at),
                "download_link": link,
                "form_link": None,  # only with collected metadata, which is not collected
                "auto_create_summary": self.config.auto_create_summary,
            },
            "metadata": None,
        }

    def submit(
        self,
        sessions: Callable[[], Session],
        recording_id: uuid.UUID,
        link_base: str | None,
        times: Times | None = None,
    ) -> bool:
        """Hand a saved recording to the service when that is due; False only when the
        call was due and failed (logged)."""
        with sessions() as session:
            recording = with_owners(session, recording_id)
            if recording is None or not recording.is_saved or self.is_satisfied(recording):
                return True
            owners = owners_of(recording)
            try:
                if not owners:
                    raise SummaryFailed("the recording has no owner")
                body = self.payload(
                    recording, owners[0], link_to(recording, link_base), times or Times()
                )
            except SummaryFailed as exc:
                log.error("recording %s not sent to the summary service: %s", recording_id, exc)
                return False
        try:
            job_id = self._post(body)
        except SummaryFailed as exc:
            log.error("recording %s not sent to the summary service: %s", recording_id, exc)
            return False
        try:
            with sessions() as session:
                session.execute(
                    update(Recording)
                    .where(Recording.id == recording_id)
                    .values(external_process_id=job_id)
                )
                session.commit()
        except IntegrityError:
            log.error(
                "recording %s: the summary service answered job %s, which another recording holds",
                recording_id,
                job_id,
            )
            return False
        log.info("recording %s sent to the summary service: job %s", recording_id, job_id)
        return True

    def _signed_url(self, key: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.storage.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.storage.config.bucket, "Key": key},
                ExpiresIn=self.config.signed_url_expiry_seconds,
            )
        except (BotoCoreError, ClientError) as exc:
            raise SummaryFailed(f"no signed URL for {key}: {exc}") from exc

    def _post(self, body: dict) -> str:
        """The job id the service answered with. Raises SummaryFailed."""
        import requests  # here: only a site with the summary service loads it (16 MiB)

        endpoint = self.config.endpoint
        try:
            response = requests.post(
                endpoint,
                json=body,
                headers={"Authorization": f"Bearer {self.config.api_token}"},
                timeout=self.config.timeout,
            )
        except requests.Timeout:
            raise SummaryFailed(f"{endpoint} did not answer in {self.config.timeout:g} s") from None
        except requests.RequestException as exc:
            raise SummaryFailed(f"{endpoint} cannot be reached: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise SummaryFailed(f"{endpoint} answered {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        job_id = answer.get("job_id") if isinstance(answer, dict) else None
        if not isinstance(job_id, str) or not job_id or len(job_id) > 255:
            raise SummaryFailed(f"{endpoint} answered without a job id")
        return job_id

"""A recording's life: start, stop, and what LiveKit's egress webhooks tell of it.

    initiated -> active -> stopped | aborted | failed_to_stop
    initiated -> failed_to_start
    active | stopped -> saved -> notification_succeeded
    saved | notification_succeeded -> external_process_successful | external_process_failed

Once saved (after commit) its owners are mailed and, when that applies, the summary
service is handed the recording; `notification_succeeded` says both went well.

Start commits the `initiated` row before the worker is called, so a second start in the
same room meets the partial unique index (409) at once, and webhooks that arrive before
the worker's answer find the row by the recording id the egress carries (its output
path). The worker's answer is written in a second transaction: `active` with its id, or
`failed_to_start`, which frees the room. Every write that follows a worker call commits
even when the request then fails, so the status tells what happened.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from livekit import api
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import SHARED_CONNECTION_KEY, after_commit
from ..models import Recording, RecordingAccess, RecordingMode, RecordingStatus, Role
from ..services.errors import Conflict, DomainError, NotFound, Refused
from ..services.livekit import LiveKitError, LiveKitGateway
from ..services.lobby_alerts import mail_base_url
from ..services.webhooks import WebhookHandlerError
from .config import RecordingConfig
from .notifications import CompletionMail
from .summary import SummaryService, Times
from .workers import RecordingWorker, WorkerError

log = logging.getLogger(__name__)

METADATA_KEYS = ("recording_mode", "recording_status")
# egress status -> room metadata `recording_status` (egress_updated)
METADATA_STATUS = {
    api.EGRESS_ACTIVE: "started",
    api.EGRESS_ENDING: "saving",
    api.EGRESS_ABORTED: "aborted",
}
LIMIT_MESSAGES = {
    RecordingMode.SCREEN_RECORDING: "screenRecordingLimitReached",
    RecordingMode.TRANSCRIPT: "transcriptionLimitReached",
}
# What an egress that ended well completes. failed_to_stop too: StopEgress failed or
# timed out, yet the egress went on to write its file.
SAVABLE = (RecordingStatus.ACTIVE, RecordingStatus.STOPPED, RecordingStatus.FAILED_TO_STOP)
RUNNING = (RecordingStatus.INITIATED, RecordingStatus.ACTIVE, RecordingStatus.STOPPED)

_OUTPUT_ID = re.compile(
    r"(?:^|/)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.[A-Za-z0-9]+$"
)


class RecordingFailed(DomainError):
    """The worker failed: 502 at start, 500 at stop (the reference's statuses)."""

    def __init__(self, message: str, status: int):
        super().__init__(message, key="error")
        self.status = status


def commit_now(request) -> None:
    """Commit the request's transaction so far and begin the next one."""
    request.tm.commit()
    request.tm.begin()


def recording_id_of(info: api.EgressInfo) -> uuid.UUID | None:
    """The recording id in the egress's output path, wherever LiveKit reports it."""
    paths = [output.filepath for output in info.room_composite.file_outputs]
    paths += [result.filename for result in info.file_results]
    paths += [result.location for result in info.file_results]
    paths.append(info.file.filename)
    for path in paths:
        match = _OUTPUT_ID.search(path or "")
        if match:
            return uuid.UUID(match.group(1))
    return None


def egress_times(info: api.EgressInfo | None) -> Times:
    """When the egress's file started and ended (nanoseconds in LiveKit's reports)."""
    if info is None:
        return Times()
    result = info.file_results[0] if info.file_results else None
    started = (result.started_at if result else 0) or info.started_at
    ended = (result.ended_at if result else 0) or info.ended_at

    def moment(nanoseconds: int) -> datetime | None:
        return datetime.fromtimestamp(nanoseconds / 1e9, UTC) if nanoseconds > 0 else None

    start, end = moment(started), moment(ended)
    if result is not None and result.duration > 0:
        duration = round(result.duration / 1e9)
    elif start and end and end >= start:
        duration = round((end - start).total_seconds())
    else:
        duration = None
    return Times(started_at=start, ended_at=end, duration_seconds=duration)


def sessions_like(request) -> Callable[[], Session]:
    """Sessions of their own, on the request's database (the test's connection in
    shared-connection mode), for work after the request's transaction."""
    connection = request.environ.get(SHARED_CONNECTION_KEY)
    if connection is not None and request.registry.settings["testing.shared_connection"]:
        return lambda: Session(bind=connection, join_transaction_mode="create_savepoint")
    return request.registry["dbsession_factory"]


class Recordings:
    def __init__(
        self,
        config: RecordingConfig,
        workers: dict[RecordingMode, RecordingWorker],
        gateway: LiveKitGateway,
        mail: CompletionMail,
        summary: SummaryService,
    ):
        self.config, self.workers, self.gateway = config, workers, gateway
        self.mail, self.summary = mail, summary

    @property
    def modes(self) -> list[str]:
        return [str(mode) for mode in self.workers]

    # start / stop ---------------------------------------------------------------------

    def start(self, request, room, user_id, mode: RecordingMode, options: dict) -> uuid.UUID:
        session = request.dbsession
        room_id, slug = room.id, room.slug
        recording = Recording(
            room_id=room_id, mode=mode, options=options, status=RecordingStatus.INITIATED
        )
        recording.accesses.append(RecordingAccess(user_id=user_id, role=Role.OWNER))
        try:
            with session.begin_nested():
                session.add(recording)
                session.flush()
        except IntegrityError:
            raise Conflict(
                f"A recording is already in progress for room {slug}", key="error"
            ) from None
        recording_id, key = recording.id, recording.key(self.config.output_folder)
        commit_now(request)
        try:
            worker_id = self.workers[mode].start(str(room_id), key)
        except WorkerError as exc:
            log.error("recording %s of room %s did not start: %s", recording_id, slug, exc)
            failed = self._locked(session, recording_id)
            if failed is not None and failed.status == RecordingStatus.INITIATED:
                failed.status = RecordingStatus.FAILED_TO_START
            commit_now(request)
            raise RecordingFailed(f"Recording failed to start for room {slug}", 502) from exc
        started = self._locked(session, recording_id)
        if started is not None:
            started.worker_id = started.worker_id or worker_id
            if started.status == RecordingStatus.INITIATED:
                started.status = RecordingStatus.ACTIVE
        metadata = {
            "recording_mode": options.get("original_mode") or str(mode),
            "recording_status": "starting",
        }
        after_commit(request, self._set_metadata, str(room_id), metadata)
        return recording_id

    def stop(self, request, room) -> RecordingStatus:
        session = request.dbsession
        slug = room.slug
        recording = session.scalars(
            select(Recording)
            .where(Recording.room_id == room.id, Recording.status == RecordingStatus.ACTIVE)
            .with_for_update()
        ).first()
        if recording is None:
            raise NotFound("No active recording found for this room.")
        try:
            if not recording.worker_id:
                raise WorkerError("the recording has no worker id")
            status = self.workers[recording.mode].stop(recording.worker_id)
        except (WorkerError, KeyError) as exc:
            log.error("recording %s of room %s did not stop: %s", recording.id, slug, exc)
            recording.status = RecordingStatus.FAILED_TO_STOP
            commit_now(request)
            raise RecordingFailed(f"Recording failed to stop for room {slug}", 500) from exc
        recording.status = status
        return status

    # webhooks -------------------------------------------------------------------------

    def on_egress_updated(self, event: api.WebhookEvent, request) -> None:
        info = event.egress_info
        recording = self._find(request.dbsession, info)
        if recording is None:
            return
        if recording.status == RecordingStatus.FAILED_TO_START and info.status in (
            api.EGRESS_STARTING,
            api.EGRESS_ACTIVE,
        ):
            # Started after all, once start had given up (a slow LiveKit): nobody
            # expects this capture, and it would hold LiveKit's resources.
            self._stop_stray(recording, info.egress_id)
            return
        state = METADATA_STATUS.get(info.status)
        if state is not None and self._shown_in_room(request.dbsession, recording):
            self._set_metadata(info.room_name, {"recording_status": state})

    def on_egress_ended(self, event: api.WebhookEvent, request) -> None:
        info = event.egress_info
        recording = self._find(request.dbsession, info)
        if recording is None:
            return
        if self._shown_in_room(request.dbsession, recording):
            try:
                self.gateway.drop_room_metadata(info.room_name, METADATA_KEYS)
            except LiveKitError as exc:
                log.info("room %s recording metadata not cleared: %s", info.room_name, exc.message)
        if recording.status == RecordingStatus.INITIATED:
            # It ended before start wrote the worker's answer: it did run.
            recording.status = RecordingStatus.ACTIVE
            recording.worker_id = recording.worker_id or info.egress_id
        if info.status == api.EGRESS_LIMIT_REACHED and recording.status == RecordingStatus.ACTIVE:
            recording.status = RecordingStatus.STOPPED
            message = LIMIT_MESSAGES.get(
                recording.mode, LIMIT_MESSAGES[RecordingMode.SCREEN_RECORDING]
            )
            try:
                self.gateway.send_data(info.room_name, {"type": message})
            except LiveKitError as exc:
                raise WebhookHandlerError(f"limit notice not sent: {exc.message}") from exc
        if self.config.storage_events.enabled:
            return  # the bucket's notification completes it (storage_events.py)
        if info.status in (api.EGRESS_COMPLETE, api.EGRESS_LIMIT_REACHED):
            if recording.status in SAVABLE:
                self.complete(request, recording, egress_times(info))
            else:
                log.warning("recording %s is %s: not saved again", recording.id, recording.status)
        elif info.status in (api.EGRESS_FAILED, api.EGRESS_ABORTED):
            if recording.status in RUNNING:
                recording.status = RecordingStatus.ABORTED
            log.warning(
                "recording %s ended %s: %s",
                recording.id,
                api.EgressStatus.Name(info.status),
                info.error,
            )

    # completion -----------------------------------------------------------------------

    def complete(self, request, recording: Recording, times: Times | None = None) -> None:
        """Saved now; the owners are told once this transaction has committed."""
        recording.status = RecordingStatus.SAVED
        if times is not None and times.duration_seconds is not None:
            recording.duration_seconds = times.duration_seconds
        after_commit(
            request,
            self.notify,
            sessions_like(request),
            recording.id,
            self.link_base(request),
            times or Times(),
        )

    def notify(
        self, sessions: Callable[[], Session], recording_id, link_base, times: Times
    ) -> bool:
        """Mail the owners, then hand the recording to the summary service when that
        applies (the mail goes first: a slow service must not delay it)."""
        self.mail.send(sessions, recording_id, link_base)
        self.summary.submit(sessions, recording_id, link_base, times)
        return self.settle(sessions, recording_id)

    def resend(self, sessions: Callable[[], Session], recording_id, link_base) -> bool:
        """Mail the owners again (a mail had failed); True when they have been told."""
        if not self.mail.send(sessions, recording_id, link_base):
            return False
        self.settle(sessions, recording_id)
        return True

    def settle(self, sessions: Callable[[], Session], recording_id) -> bool:
        """`saved` -> `notification_succeeded` once the owners were mailed and nothing is
        owed to the summary service; True when the recording is there (or beyond)."""
        with sessions() as session:
            recording = self._locked(session, recording_id)
            if recording is None or recording.notified_at is None:
                return False
            if not self.summary.is_satisfied(recording):
                return False
            if recording.status == RecordingStatus.SAVED:
                recording.status = RecordingStatus.NOTIFICATION_SUCCEEDED
                session.commit()
            return True

    def on_stored_object(self, request, recording_id: uuid.UUID) -> None:
        """The legacy path: the bucket says the recording's object was written."""
        recording = self._locked(request.dbsession, recording_id)
        if recording is None:
            raise NotFound("No recording found for this event.")
        if recording.status not in SAVABLE:
            raise Refused(
                f"Recording {recording_id} cannot be saved because it is either,"
                " in an error state or has already been saved."
            )
        self.complete(request, recording)

    def link_base(self, request) -> str | None:
        return self.config.link_base(mail_base_url(request))

    # helpers --------------------------------------------------------------------------

    def _locked(self, session: Session, recording_id) -> Recording | None:
        return session.scalars(
            select(Recording).where(Recording.id == recording_id).with_for_update()
        ).one_or_none()

    def _find(self, session: Session, info: api.EgressInfo) -> Recording | None:
        """The recording of an egress: by the id in its output path, else by its id."""
        recording_id = recording_id_of(info)
        query = select(Recording).with_for_update()
        if recording_id is not None:
            recording = session.scalars(query.where(Recording.id == recording_id)).one_or_none()
        elif info.egress_id:
            recording = session.scalars(
                query.where(Recording.worker_id == info.egress_id)
            ).one_or_none()
        else:
            recording = None
        if recording is None:
            # Rows are committed before their egress starts: this one is not ours,
            # or its room was deleted since. Retrying would not change that.
            log.warning("egress %s matches no recording; ignored", info.egress_id)
        return recording

    def _shown_in_room(self, session: Session, recording: Recording) -> bool:
        """Whether the room's metadata is this recording's to change: no other recording
        of the room is under way. The late news of an egress whose start or stop had
        given up (a slow LiveKit frees the room) must not change what the room shows of
        the recording made since."""
        other = session.scalars(
            select(Recording.id)
            .where(
                Recording.room_id == recording.room_id,
                Recording.id != recording.id,
                Recording.status.in_(RUNNING),
            )
            .limit(1)
        ).first()
        return other is None

    def _set_metadata(self, room: str, changes: dict) -> None:
        try:
            self.gateway.merge_room_metadata(room, changes)
        except LiveKitError as exc:
            log.info("room %s recording metadata not updated: %s", room, exc.message)

    def _stop_stray(self, recording: Recording, egress_id: str) -> None:
        worker = self.workers.get(recording.mode)
        try:
            if worker is not None and egress_id:
                worker.stop(egress_id)
        except WorkerError as exc:
            log.warning(
                "stray egress %s of recording %s not stopped: %s", egress_id, recording.id, exc
            )

"""Recording maintenance for stores without lifecycle rules (`meet-web-clean-recordings`).

Expired recordings (created more than `recording.expiration_days` ago, not in progress)
lose their object first, then their row. A row whose object could not be deleted is
kept, logged and tried again on the next run: this never leaves an object without the
row that lets the next run find it.

Stray objects are those under `recording.output_folder` named `<uuid>.<mp4|ogg>` that no
row names: the object of a recording deleted through the API whose S3 delete failed
after the commit (the row is gone either way), or of a row removed by hand. An object
is only touched once it is older than a safety margin, so an object being written for
a row another transaction has not committed yet is never taken for a stray.

Each run handles at most `limit` recordings and `limit` stray objects, and gives a phase
up after a few failures in a row (the store is down: the next run carries on).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import Recording
from ..models.recording import IN_PROGRESS_STATUSES
from .config import RecordingConfig
from .storage import RecordingStorage, StorageError

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 500
DEFAULT_SAFETY_MARGIN = timedelta(hours=1)
FAILURES_IN_A_ROW = 3  # then the store is taken to be down for this run
OBJECT_NAME = re.compile(
    r"(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(?:mp4|ogg)"
)


@dataclass
class Outcome:
    """What one phase did: the keys deleted (or, on a dry run, to delete), the keys it
    could not delete, and why it stopped early if it did."""

    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    stopped: str | None = None
    failing: int = field(default=0, repr=False)  # failures since the last success

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped is None


class RecordingMaintenance:
    def __init__(
        self,
        config: RecordingConfig,
        storage: RecordingStorage,
        sessions: Callable[[], Session],
    ):
        self.config, self.storage, self.sessions = config, storage, sessions

    # expired recordings -------------------------------------------------------------------

    def expired(self, limit: int, now: datetime) -> list[tuple[uuid.UUID, str]]:
        """(id, object key) of the oldest expired recordings, at most `limit`."""
        days = self.config.expiration_days
        if days is None:
            return []
        with self.sessions() as session:
            rows = session.scalars(
                select(Recording)
                .where(
                    Recording.created_at < now - timedelta(days=days),
                    Recording.status.not_in(IN_PROGRESS_STATUSES),
                )
                .order_by(Recording.created_at, Recording.id)
                .limit(limit)
            ).all()
            return [(row.id, row.key(self.config.output_folder)) for row in rows]

    def clean_expired(
        self, *, limit: int = DEFAULT_LIMIT, dry_run: bool = False, now: datetime | None = None
    ) -> Outcome:
        outcome = Outcome()
        for recording_id, key in self.expired(limit, now or utcnow()):
            if dry_run:
                outcome.done.append(key)
                continue
            if not self._delete_object(key, outcome, "expired recording"):
                if outcome.stopped:
                    break
                continue
            with self.sessions() as session:
                session.execute(delete(Recording).where(Recording.id == recording_id))
                session.commit()
            log.info("expired recording %s deleted with its object %s", recording_id, key)
        return outcome

    # stray objects ------------------------------------------------------------------------

    def strays(self, limit: int, margin: timedelta, now: datetime) -> list[str]:
        """Keys of objects no recording names, older than `margin`, at most `limit`.
        Raises StorageError when the store cannot be listed."""
        found: list[str] = []
        for page in self._listing():
            candidates = []
            for item in page:
                match = OBJECT_NAME.fullmatch(item["Key"][len(self.prefix) :])
                if match and item["LastModified"] <= now - margin:
                    candidates.append((uuid.UUID(match.group("id")), item["Key"]))
            if not candidates:
                continue
            with self.sessions() as session:
                known = set(
                    session.scalars(
                        select(Recording.id).where(Recording.id.in_([c[0] for c in candidates]))
                    )
                )
            for recording_id, key in candidates:
                if recording_id not in known:
                    found.append(key)
                    if len(found) >= limit:
                        return found
        return found

    def clean_strays(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        margin: timedelta = DEFAULT_SAFETY_MARGIN,
        dry_run: bool = False,
        now: datetime | None = None,
    ) -> Outcome:
        outcome = Outcome()
        try:
            keys = self.strays(limit, margin, now or utcnow())
        except StorageError as exc:
            log.error("stray recording objects not looked for: %s", exc)
            outcome.stopped = str(exc)
            return outcome
        for key in keys:
            if dry_run:
                outcome.done.append(key)
            elif self._delete_object(key, outcome, "stray object"):
                log.info("stray recording object %s deleted", key)
            elif outcome.stopped:
                break
        return outcome

    # helpers ------------------------------------------------------------------------------

    @property
    def prefix(self) -> str:
        return self.config.output_folder + "/"

    def _listing(self) -> Iterator[list[dict]]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.storage.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.storage.config.bucket, Prefix=self.prefix
            )
            for page in pages:
                yield page.get("Contents", [])
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(
                f"cannot list {self.prefix} in {self.storage.config.bucket}: {exc}"
            ) from exc

    def _delete_object(self, key: str, outcome: Outcome, what: str) -> bool:
        try:
            self.storage.delete(key)
        except StorageError as exc:
            log.error("%s %s not deleted, tried again next run: %s", what, key, exc)
            outcome.failed.append(key)
            outcome.failing += 1
            if outcome.failing >= FAILURES_IN_A_ROW:
                outcome.stopped = f"{outcome.failing} deletes failed in a row"
            return False
        outcome.failing = 0
        outcome.done.append(key)
        return True

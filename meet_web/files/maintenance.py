"""Removing what users no longer keep: uploads never finished, and deleted files.

Each file is removed in its own transaction, its objects first and then its row, so a
store that fails keeps the row (and the file's place in the next run) without holding
back the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import File, UploadState
from .storage import FileStorage, StorageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    removed: int
    failed: int


def stuck_uploads(older_than: datetime):
    """Files still pending (never uploaded) or analyzing (an upload-ended that was cut
    short) since before `older_than`."""
    return select(File.id).where(
        File.upload_state.in_((UploadState.PENDING, UploadState.ANALYZING)),
        File.updated_at < older_than,
        File.hard_deleted_at.is_(None),
    )


def purgeable(soft_deleted_before: datetime):
    """Hard-deleted files, and files soft-deleted before `soft_deleted_before`."""
    return select(File.id).where(
        or_(File.hard_deleted_at.is_not(None), File.deleted_at < soft_deleted_before)
    )


def remove(sessions: Callable[[], Session], storage: FileStorage, query, describe: str) -> Outcome:
    with sessions() as session:
        file_ids = session.scalars(query.order_by(File.created_at)).all()
    removed = failed = 0
    for file_id in file_ids:
        with sessions() as session, session.begin():
            file = session.scalars(
                query.with_only_columns(File).where(File.id == file_id).with_for_update()
            ).one_or_none()
            if file is None:  # changed since: no longer to remove
                continue
            try:
                for key in (file.temporary_key, file.key):
                    storage.delete(key)
            except StorageError as exc:
                log.error("%s file %s kept for the next run: %s", describe, file_id, exc)
                failed += 1
                continue
            session.delete(file)
            removed += 1
    return Outcome(removed, failed)


def clean_pending(
    sessions: Callable[[], Session], storage: FileStorage, now: datetime, hours: float
) -> Outcome:
    return remove(sessions, storage, stuck_uploads(now - timedelta(hours=hours)), "pending")


def purge_deleted(
    sessions: Callable[[], Session], storage: FileStorage, now: datetime, grace_days: int
) -> Outcome:
    return remove(sessions, storage, purgeable(now - timedelta(days=grace_days)), "deleted")

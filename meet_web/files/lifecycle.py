"""A file's life: created pending, uploaded by the browser, analysed, then ready; deleted
softly by its creator, hard-deleted when its upload is refused, purged at last.

    pending -> analyzing -> ready
    pending -> analyzing -> (refused) hard-deleted
    any -> soft-deleted -> purged (meet-web-purge-deleted-files)

The browser PUTs the content to a temporary key with a presigned URL, then calls
upload-ended. That call moves the file from pending to analyzing in one UPDATE and
commits it, so a second call (even a concurrent one) is refused; the content is then
copied to the final key, sniffed and measured. A refusal hard-deletes the file and
commits that before answering 400; a store that is down puts the file back to pending,
so the creator may try again. A creator holds at most `files.max_per_user` files of a
type that are not deleted; the creator's row is locked while counting, so two creations
at once cannot both take the last place.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..db import after_commit, utcnow
from ..models import File, FileType, UploadState, User
from ..recording.lifecycle import commit_now
from ..services.errors import DomainError, Refused
from .config import UPLOAD_POLICY_SECONDS, FilesConfig
from .sniffing import HEAD_BYTES, sniff
from .storage import FileStorage, ObjectMissing, StorageError

log = logging.getLogger(__name__)

LIMIT_REACHED = "You have reached the maximum number of files for this type."
NOT_PENDING = "This action is only available for files in the pending state."
NOT_UPLOADED = "Nothing was uploaded for this file: upload its content first."
EMPTY = "The file is empty."
STORAGE_DOWN = "The file storage cannot be reached; try again later."


class StorageDown(DomainError):
    status = 502


def readable_size(size: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{round(size / scale, 1):g} {unit}"
    return f"{size} bytes"


class Files:
    def __init__(self, config: FilesConfig, storage: FileStorage):
        self.config, self.storage = config, storage

    # creation -----------------------------------------------------------------------

    def kept_count(self, session: Session, creator_id: uuid.UUID, file_type: FileType) -> int:
        """The creator's files of this type that count towards the limit."""
        return session.scalar(
            select(func.count())
            .select_from(File)
            .where(
                File.creator_id == creator_id,
                File.type == file_type,
                File.deleted_at.is_(None),
                File.hard_deleted_at.is_(None),
            )
        )

    def create(
        self,
        session: Session,
        creator_id: uuid.UUID,
        file_type: FileType,
        filename: str,
        title: str | None,
        file_id: uuid.UUID | None = None,
    ) -> File:
        session.execute(select(User.id).where(User.id == creator_id).with_for_update())
        if self.kept_count(session, creator_id, file_type) >= self.config.max_per_user:
            raise Refused(LIMIT_REACHED)
        stem = filename.rpartition(".")[0] or filename
        file = File(
            id=file_id or uuid.uuid4(),
            type=file_type,
            creator_id=creator_id,
            filename=filename,
            title=title if title else stem[:255],
            upload_state=UploadState.PENDING,
        )
        session.add(file)
        session.flush()
        return file

    def upload_url(self, file: File) -> str:
        try:
            return self.storage.upload_url(file.temporary_key, UPLOAD_POLICY_SECONDS)
        except StorageError as exc:
            log.error("file %s: no upload URL: %s", file.id, exc)
            raise StorageDown(STORAGE_DOWN) from exc

    # upload-ended -------------------------------------------------------------------

    def end_upload(self, request, file: File) -> File:
        session = request.dbsession
        file_id = file.id
        moved = session.execute(
            update(File)
            .where(File.id == file_id, File.upload_state == UploadState.PENDING)
            .values(upload_state=UploadState.ANALYZING, updated_at=utcnow())
        )
        if moved.rowcount != 1:
            raise DomainError(NOT_PENDING)
        commit_now(request)
        file = session.get(File, file_id)
        try:
            size, mimetype = self._analyse(file)
        except ObjectMissing:
            self._refuse(request, file, NOT_UPLOADED)
        except StorageError as exc:
            log.error("file %s: upload not analysed, left pending: %s", file_id, exc)
            file.upload_state = UploadState.PENDING
            commit_now(request)
            raise StorageDown(STORAGE_DOWN) from exc
        problem = self.refusal(size, mimetype)
        if problem:
            self._refuse(request, file, problem)
        file.size, file.mimetype = size, mimetype
        file.upload_state = UploadState.READY
        session.flush()
        after_commit(request, self._forget, file.temporary_key)
        return file

    def _analyse(self, file: File) -> tuple[int, str]:
        """Copy the upload to its final key; (its size, its sniffed mimetype)."""
        self.storage.copy(file.temporary_key, file.key)
        size = self.storage.head(file.key).size
        head = self.storage.first_bytes(file.key, HEAD_BYTES) if size else b""
        return size, sniff(head, file.filename)

    def refusal(self, size: int, mimetype: str) -> str | None:
        """Why content of this size and type may not be kept, or None."""
        if size == 0:
            return EMPTY
        if size > self.config.max_size:
            return f"The file is too large: at most {readable_size(self.config.max_size)}."
        allowed = self.config.allowed_mimetypes
        if mimetype not in allowed:
            return (
                f"This file is {mimetype}, not an image of an allowed type ({', '.join(allowed)})."
            )
        return None

    def _refuse(self, request, file: File, message: str):
        self.hard_delete(file)
        keys = (file.temporary_key, file.key)
        commit_now(request)
        for key in keys:
            self._forget(key)
        raise DomainError(message)

    def _forget(self, key: str) -> None:
        """Remove an object now if the store lets us; the purge removes what stays."""
        try:
            self.storage.delete(key)
        except StorageError as exc:
            log.warning("object %s not removed yet (the purge will): %s", key, exc)

    # deletion -----------------------------------------------------------------------

    @staticmethod
    def soft_delete(file: File) -> None:
        file.deleted_at = file.deleted_at or utcnow()

    @staticmethod
    def hard_delete(file: File) -> None:
        now = utcnow()
        file.deleted_at = file.deleted_at or now
        file.hard_deleted_at = file.hard_deleted_at or now

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import BaseModel
from .enums import FileType, UploadState, db_enum
from .user import User


class File(BaseModel):
    """A file a user uploaded (background images for the camera)."""

    __tablename__ = "files"

    type: Mapped[FileType] = mapped_column(
        db_enum(FileType, "type"), default=FileType.BACKGROUND_IMAGE
    )
    title: Mapped[str] = mapped_column(String(255), default="")
    creator_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    filename: Mapped[str] = mapped_column(String(255))
    upload_state: Mapped[UploadState] = mapped_column(
        db_enum(UploadState, "upload_state"), default=UploadState.PENDING
    )
    mimetype: Mapped[str] = mapped_column(String(255), default="")
    size: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text, default="")
    malware_detection_info: Mapped[dict] = mapped_column(JSON, default=dict)
    deleted_at: Mapped[datetime | None]
    hard_deleted_at: Mapped[datetime | None]

    creator: Mapped[User | None] = relationship()

    @property
    def extension(self) -> str:
        """The filename's extension with its dot, lower-cased ('' when it has none)."""
        _, dot, ext = self.filename.rpartition(".")
        return f".{ext.lower()}" if dot and ext else ""

    @property
    def key(self) -> str:
        return f"files/{self.id}{self.extension}"

    @property
    def temporary_key(self) -> str:
        return f"tmp/files/{self.id}{self.extension}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None or self.hard_deleted_at is not None


Index("ix_files_creator_type_created", File.creator_id, File.type, File.created_at.desc())

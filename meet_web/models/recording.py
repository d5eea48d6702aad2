from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import BaseModel, utcnow
from .enums import RecordingMode, RecordingStatus, Role, db_enum
from .room import Room
from .user import User

# What may be deleted. notification_succeeded too, unlike the reference: it differs
# from saved only in that the owners' mail went out, and they must be able to delete
# the recording that mail told them about.
FINAL_STATUSES = frozenset(
    {
        RecordingStatus.STOPPED,
        RecordingStatus.SAVED,
        RecordingStatus.NOTIFICATION_SUCCEEDED,
        RecordingStatus.ABORTED,
        RecordingStatus.EXTERNAL_PROCESS_SUCCESSFUL,
        RecordingStatus.EXTERNAL_PROCESS_FAILED,
        RecordingStatus.FAILED_TO_START,
        RecordingStatus.FAILED_TO_STOP,
    }
)
IN_PROGRESS_STATUSES = (RecordingStatus.INITIATED.value, RecordingStatus.ACTIVE.value)
SAVED_STATUSES = frozenset(
    {
        RecordingStatus.NOTIFICATION_SUCCEEDED,
        RecordingStatus.SAVED,
        RecordingStatus.EXTERNAL_PROCESS_SUCCESSFUL,
        RecordingStatus.EXTERNAL_PROCESS_FAILED,
    }
)


class Recording(BaseModel):
    __tablename__ = "recordings"

    room_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[RecordingStatus] = mapped_column(
        db_enum(RecordingStatus, "status"), default=RecordingStatus.INITIATED
    )
    worker_id: Mapped[str | None] = mapped_column(String(255))
    mode: Mapped[RecordingMode] = mapped_column(
        db_enum(RecordingMode, "mode"), default=RecordingMode.SCREEN_RECORDING
    )
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    external_process_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # When the owners were told the recording is ready (mail sent to all of them);
    # None while a mail is still owed, whatever the status says.
    notified_at: Mapped[datetime | None]
    # Length of the media, from the egress's file result; None until it is known.
    duration_seconds: Mapped[int | None]

    room: Mapped[Room] = relationship()
    accesses: Mapped[list[RecordingAccess]] = relationship(
        back_populates="recording", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def extension(self) -> str:
        return "ogg" if self.mode == RecordingMode.TRANSCRIPT else "mp4"

    def key(self, output_folder: str) -> str:
        return f"{output_folder}/{self.id}.{self.extension}"

    def expired_at(self, expiration_days: int | None) -> datetime | None:
        if expiration_days is None:
            return None
        return self.created_at + timedelta(days=expiration_days)

    def is_expired(self, expiration_days: int | None) -> bool:
        expires = self.expired_at(expiration_days)
        return expires is not None and expires < utcnow()

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_saved(self) -> bool:
        """Its object is complete: it may be played and downloaded."""
        return self.status in SAVED_STATUSES


# At most one recording in progress per room.
Index(
    "uq_recordings_room_in_progress",
    Recording.room_id,
    unique=True,
    sqlite_where=Recording.status.in_(IN_PROGRESS_STATUSES),
    postgresql_where=Recording.status.in_(IN_PROGRESS_STATUSES),
)


class RecordingAccess(BaseModel):
    __tablename__ = "recording_accesses"
    __table_args__ = (
        CheckConstraint(
            "(user_id IS NOT NULL AND team = '') OR (user_id IS NULL AND team <> '')",
            name="user_xor_team",
        ),
    )

    recording_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    team: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[Role] = mapped_column(db_enum(Role, "role"), default=Role.MEMBER)

    recording: Mapped[Recording] = relationship(back_populates="accesses")
    user: Mapped[User | None] = relationship()


Index(
    "uq_recording_accesses_user_recording",
    RecordingAccess.user_id,
    RecordingAccess.recording_id,
    unique=True,
    sqlite_where=RecordingAccess.user_id.is_not(None),
    postgresql_where=RecordingAccess.user_id.is_not(None),
)
Index(
    "uq_recording_accesses_team_recording",
    RecordingAccess.team,
    RecordingAccess.recording_id,
    unique=True,
    sqlite_where=RecordingAccess.team != "",
    postgresql_where=RecordingAccess.team != "",
)

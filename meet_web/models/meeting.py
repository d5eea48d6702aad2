from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import BaseModel
from .recording import Recording
from .room import Room


class Meeting(BaseModel):
    """One LiveKit session of a room (room_started … room_finished), for usage statistics."""

    __tablename__ = "meetings"

    room_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("rooms.id", ondelete="SET NULL"), index=True
    )
    # LiveKit's session id of the room: one meeting per sid, whatever the redeliveries.
    livekit_sid: Mapped[str] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    duration_seconds: Mapped[int | None]
    peak_participants: Mapped[int] = mapped_column(default=0)
    total_participants: Mapped[int] = mapped_column(default=0)
    guest_participants: Mapped[int] = mapped_column(default=0)
    signed_in_participants: Mapped[int] = mapped_column(default=0)
    dial_in_participants: Mapped[int] = mapped_column(default=0)
    participant_seconds: Mapped[int] = mapped_column(BigInteger, default=0)


Index("ix_meetings_started", Meeting.started_at)


class MeetingParticipant(BaseModel):
    """One participant's presence in a meeting (by LiveKit participant sid)."""

    __tablename__ = "meeting_participants"
    __table_args__ = (UniqueConstraint("meeting_id", "participant_sid"),)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    participant_sid: Mapped[str] = mapped_column(String(64))
    identity: Mapped[str] = mapped_column(String(255), default="")
    # "guest", "signed_in" or "dial_in"
    kind: Mapped[str] = mapped_column(String(16), default="guest")
    joined_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]


class UsageDay(BaseModel):
    """Daily roll-up of the figures the dashboard draws (UTC days)."""

    __tablename__ = "usage_days"

    day: Mapped[date] = mapped_column(unique=True)
    meetings: Mapped[int] = mapped_column(default=0)
    participant_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    peak_participants: Mapped[int] = mapped_column(default=0)
    rooms_created: Mapped[int] = mapped_column(default=0)
    recordings: Mapped[int] = mapped_column(default=0)


# The daily roll-up counts the rooms and the recordings created on a day.
Index("ix_rooms_created_at", Room.created_at)
Index("ix_recordings_created_at", Recording.created_at)

"""Meeting figures and daily roll-ups (UTC days), recomputed from the rows.

A meeting counts on the UTC day it started, once it has finished. A day is recomputed
under its row's lock, so that meetings finishing together each see the others'
committed rows (PostgreSQL reads afresh after the lock is granted).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import Meeting, MeetingParticipant, Recording, Room, UsageDay
from .figures import Presence, interval, meeting_figures, peak_concurrency
from .upsert import insert_for


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def meeting_day(meeting: Meeting) -> date | None:
    moment = meeting.started_at or meeting.ended_at
    return moment.astimezone(UTC).date() if moment is not None else None


def presences(session: Session, meeting: Meeting) -> list[Presence]:
    rows = session.execute(
        select(
            MeetingParticipant.identity,
            MeetingParticipant.kind,
            MeetingParticipant.joined_at,
            MeetingParticipant.left_at,
        ).where(MeetingParticipant.meeting_id == meeting.id)
    )
    return [Presence(*row) for row in rows]


def refresh_meeting(session: Session, meeting: Meeting) -> None:
    """Write the meeting's figures from its participants' rows."""
    figures = meeting_figures(presences(session, meeting), meeting.started_at, meeting.ended_at)
    for field, value in vars(figures).items():
        setattr(meeting, field, value)
    session.flush()


def locked_day(session: Session, day: date) -> UsageDay:
    session.execute(insert_for(session, UsageDay).values(day=day).on_conflict_do_nothing())
    return session.execute(
        select(UsageDay).where(UsageDay.day == day).with_for_update(),
        execution_options={"populate_existing": True},
    ).scalar_one()


def day_figures(session: Session, day: date) -> dict[str, int]:
    """One day's figures from the meetings, rooms and recordings of that day."""
    start, end = day_bounds(day)
    started_that_day = (
        Meeting.started_at >= start,
        Meeting.started_at < end,
        Meeting.ended_at.is_not(None),
    )
    meetings, participant_seconds = session.execute(
        select(func.count(), func.coalesce(func.sum(Meeting.participant_seconds), 0)).where(
            *started_that_day
        )
    ).one()
    rows = session.execute(
        select(
            MeetingParticipant.joined_at,
            MeetingParticipant.left_at,
            Meeting.started_at,
            Meeting.ended_at,
        )
        .join(Meeting, Meeting.id == MeetingParticipant.meeting_id)
        .where(*started_that_day)
    )
    intervals = [
        i
        for joined, left, started, ended in rows
        if (i := interval(Presence("", "", joined, left), started, ended)) is not None
    ]
    return {
        "meetings": meetings,
        "participant_seconds": participant_seconds,
        "peak_participants": peak_concurrency(intervals),
        "rooms_created": count_created(session, Room, start, end),
        "recordings": count_created(session, Recording, start, end),
    }


def roll_up_day(session: Session, day: date) -> UsageDay:
    """Recompute one day's row, under its lock."""
    usage = locked_day(session, day)
    for field, value in day_figures(session, day).items():
        setattr(usage, field, value)
    usage.updated_at = utcnow()
    session.flush()
    return usage


def count_created(session: Session, model, start: datetime, end: datetime) -> int:
    return session.scalar(
        select(func.count()).where(model.created_at >= start, model.created_at < end)
    )

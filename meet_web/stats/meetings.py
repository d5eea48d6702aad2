"""Meetings recorded from LiveKit's webhooks (room_started, room_finished,
participant_joined, participant_left).

Redeliveries and reordering change nothing: a meeting is one row per LiveKit room sid
and a presence one row per participant sid, both written by upserts that keep the
first value of each moment. Every event of a meeting takes its row's lock first, so
that the figures, recomputed from the rows once the meeting has finished (and again
on any late event), see every committed presence.

A participant event is the most frequent webhook (one per person joining or leaving):
it is two statements built once per database (`ParticipantStatements`), the meeting's
upsert taking the lock and returning what the event needs, then the presence's.
Constructing SQLAlchemy statements per event cost more than executing them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from livekit import api
from sqlalchemy import bindparam, func, select
from zope.sqlalchemy import mark_changed

from ..db import utcnow
from ..models import Meeting, MeetingParticipant, Room
from ..services.livekit import CONNECTION_TEST_PREFIX
from ..telephony.names import HOLDING_PREFIX, room_id_of_meeting
from .figures import DIAL_IN, GUEST, SIGNED_IN
from .rollup import meeting_day, refresh_meeting, roll_up_day
from .upsert import insert_for, insert_for_dialect

Kind = api.ParticipantInfo.Kind
NOT_PEOPLE = frozenset({Kind.EGRESS, Kind.AGENT})  # recorders and subtitle agents


def from_epoch(seconds: int) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


def counted_room(room: api.Room) -> bool:
    """Meetings: not the phone callers' holding rooms, not the connection tests."""
    return bool(room.sid) and not room.name.startswith((HOLDING_PREFIX, CONNECTION_TEST_PREFIX))


def participant_kind(info: api.ParticipantInfo) -> str:
    if info.kind == Kind.SIP:
        return DIAL_IN
    # the attribute the app's join tokens carry (services/livekit.py)
    if info.attributes.get("is_authenticated") == "true":
        return SIGNED_IN
    return GUEST


def locked_meeting(session, room: api.Room) -> Meeting:
    """The meeting of this LiveKit session, created on its first event, locked."""
    room_id = room_id_of_meeting(room.name)
    registered = select(Room.id).where(Room.id == room_id).scalar_subquery() if room_id else None
    session.execute(
        insert_for(session, Meeting)
        .values(
            id=uuid.uuid4(),
            livekit_sid=room.sid,
            room_id=registered,
            started_at=from_epoch(room.creation_time),
        )
        .on_conflict_do_nothing(index_elements=["livekit_sid"])
    )
    return session.execute(
        select(Meeting).where(Meeting.livekit_sid == room.sid).with_for_update(),
        execution_options={"populate_existing": True},
    ).scalar_one()


def presence_values(
    meeting_id: uuid.UUID,
    info: api.ParticipantInfo,
    *,
    joined_at: datetime | None,
    left_at: datetime | None,
) -> dict:
    return {
        "id": uuid.uuid4(),
        "meeting_id": meeting_id,
        "participant_sid": info.sid,
        "identity": info.identity[:255],
        "kind": participant_kind(info),
        "joined_at": joined_at,
        "left_at": left_at,
        "now": utcnow(),
    }


class ParticipantStatements:
    """The two statements of a participant event, built once per dialect (their
    compiled form is then cached by SQLAlchemy under the same key)."""

    _built: dict[str, ParticipantStatements] = {}

    def __init__(self, dialect: str):
        meetings = Meeting.__table__
        presences = MeetingParticipant.__table__
        rooms = Room.__table__
        registered = select(rooms.c.id).where(rooms.c.id == bindparam("room_id")).scalar_subquery()
        meeting = insert_for_dialect(dialect, meetings).values(
            id=bindparam("id"),
            livekit_sid=bindparam("livekit_sid"),
            room_id=registered,
            started_at=bindparam("started_at"),
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
        )
        # A no-op update rather than DO NOTHING: it locks the row that exists and
        # returns it, where DO NOTHING would need a SELECT … FOR UPDATE after it.
        self.meeting = meeting.on_conflict_do_update(
            index_elements=["livekit_sid"],
            set_={"livekit_sid": meeting.excluded.livekit_sid},
        ).returning(meetings.c.id, meetings.c.ended_at)
        presence = insert_for_dialect(dialect, presences).values(
            id=bindparam("id"),
            meeting_id=bindparam("meeting_id"),
            participant_sid=bindparam("participant_sid"),
            identity=bindparam("identity"),
            kind=bindparam("kind"),
            joined_at=bindparam("joined_at"),
            left_at=bindparam("left_at"),
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
        )
        self.presence = presence.on_conflict_do_update(
            index_elements=["meeting_id", "participant_sid"],
            set_={
                "joined_at": func.coalesce(presences.c.joined_at, presence.excluded.joined_at),
                "left_at": func.coalesce(presences.c.left_at, presence.excluded.left_at),
                "updated_at": presence.excluded.updated_at,
            },
        )

    @classmethod
    def of(cls, session) -> ParticipantStatements:
        dialect = session.get_bind().dialect.name
        built = cls._built.get(dialect)
        if built is None:
            built = cls._built[dialect] = cls(dialect)
        return built


def meeting_row(connection, statements: ParticipantStatements, room: api.Room):
    """The meeting of this LiveKit session as (id, ended_at), created on its first
    event, locked."""
    return connection.execute(
        statements.meeting,
        {
            "id": uuid.uuid4(),
            "livekit_sid": room.sid,
            "room_id": room_id_of_meeting(room.name),
            "started_at": from_epoch(room.creation_time),
            "now": utcnow(),
        },
    ).one()


def finish(session, meeting: Meeting) -> None:
    refresh_meeting(session, meeting)
    day = meeting_day(meeting)
    if day is not None:
        roll_up_day(session, day)


def on_room_started(event: api.WebhookEvent, request) -> None:
    if not counted_room(event.room):
        return
    session = request.dbsession
    meeting = locked_meeting(session, event.room)
    if meeting.started_at is None:
        meeting.started_at = from_epoch(event.room.creation_time or event.created_at)
    if meeting.ended_at is not None:  # room_started delivered after room_finished
        finish(session, meeting)


def on_room_finished(event: api.WebhookEvent, request) -> None:
    if not counted_room(event.room):
        return
    session = request.dbsession
    meeting = locked_meeting(session, event.room)
    if meeting.ended_at is None:
        meeting.ended_at = from_epoch(event.created_at) or utcnow()
    if meeting.started_at is None:
        first_join = session.scalar(
            select(func.min(MeetingParticipant.joined_at)).where(
                MeetingParticipant.meeting_id == meeting.id
            )
        )
        meeting.started_at = first_join or meeting.ended_at
    finish(session, meeting)


def on_participant(event: api.WebhookEvent, request) -> None:
    info = event.participant
    if not info.sid or info.kind in NOT_PEOPLE or not counted_room(event.room):
        return
    session = request.dbsession
    # Core statements on tables: zope.sqlalchemy sees only the ORM's writes, and would
    # roll back a transaction it believes read-only.
    mark_changed(session, transaction_manager=request.tm)
    statements = ParticipantStatements.of(session)
    # On the session's connection: Core statements need none of the ORM's execution.
    connection = session.connection()
    meeting_id, ended_at = meeting_row(connection, statements, event.room)
    joined_at = from_epoch(info.joined_at)
    if event.event == "participant_joined":
        joined_at, left_at = joined_at or from_epoch(event.created_at), None
    else:
        left_at = from_epoch(event.created_at)
    connection.execute(
        statements.presence,
        presence_values(meeting_id, info, joined_at=joined_at, left_at=left_at),
    )
    if ended_at is not None:  # a late event: the figures were already written
        finish(session, session.get(Meeting, meeting_id))

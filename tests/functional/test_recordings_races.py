"""Two owners starting a recording of one room at the same moment, on PostgreSQL with
committed state: the partial unique index lets one recording in (201), the other start
is a 409, and LiveKit is asked for one egress only."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import Session

from meet_web.models import AccessLevel, Recording, ResourceAccess, Role, Room, User
from tests.conftest import RECORDINGS_BUCKET, recording_settings
from tests.multiprocess.test_races import (
    POSTGRESQL,
    at_once,
    browser,
    committed_app,
    outcomes,
    signed_in,
)


@pytest.fixture
def pg_recording_app(settings, app, s3, smtp, livekit):
    if not POSTGRESQL:
        pytest.skip("needs MEET_TEST_DATABASE_URL on PostgreSQL: SQLite serializes writes")
    s3.create_bucket(RECORDINGS_BUCKET)
    racing = committed_app(settings, **recording_settings(s3, smtp))
    yield racing
    racing.registry["dbengine"].dispose()


@pytest.fixture
def two_owners_room(pg_recording_app, settings, oidc_provider, livekit):
    engine = create_engine(settings["sqlalchemy.url"])
    tag = uuid.uuid4().hex[:8]
    logins = [f"rec-owner-{tag}-{n}" for n in (1, 2)]
    cookies = [signed_in(pg_recording_app, oidc_provider, login) for login in logins]
    with Session(engine) as session:
        users = [session.scalars(select(User).where(User.sub == lg)).one().id for lg in logins]
        room = Room(name=f"Rec {tag}", slug=f"rec-{tag}", access_level=AccessLevel.PUBLIC)
        room.accesses.extend(ResourceAccess(user_id=u, role=Role.OWNER) for u in users)
        session.add(room)
        session.commit()
        room_id = room.id
    livekit.add_room(str(room_id))
    try:
        yield cookies, room_id, engine
    finally:
        with Session(engine) as session:
            session.execute(delete(Recording).where(Recording.room_id == room_id))
            session.execute(delete(ResourceAccess).where(ResourceAccess.resource_id == room_id))
            session.execute(delete(Room).where(Room.id == room_id))
            session.execute(delete(User).where(User.id.in_(users)))
            session.commit()
        engine.dispose()


def test_concurrent_starts_give_one_recording(
    pg_recording_app, oidc_provider, two_owners_room, livekit
):
    cookies, room_id, engine = two_owners_room
    url = f"/api/v1.0/rooms/{room_id}/start-recording/"
    for round_ in range(4):
        clients = [browser(pg_recording_app, oidc_provider, c) for c in cookies]
        results = at_once(
            *[
                lambda c=c: c.post_json(url, {"mode": "screen_recording"}, expect_errors=True)
                for c in clients
            ]
        )
        statuses = outcomes(results)
        assert statuses == [201, 409], [getattr(r, "text", r) for r in results]
        loser = next(r for r in results if r.status_int == 409)
        assert loser.json["error"].startswith("A recording is already in progress for room rec-")
        with Session(engine) as session:
            active = session.scalars(
                select(Recording).where(Recording.room_id == room_id, Recording.status == "active")
            ).all()
            assert len(active) == 1
            active[0].status = "stopped"  # free the room for the next round
            session.commit()
        assert len(livekit.egresses(str(room_id))) == round_ + 1

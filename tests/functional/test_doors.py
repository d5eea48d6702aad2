"""A room's door (services/doors.py): kept per process, never served after a change.

The knock reads no SQL once the door is kept, and checks the room's version in its one
store call; any change to the room or its accesses, through the API or straight in
the database session, is seen by the very next request.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from meet_web.db import KEPT
from meet_web.models import AccessLevel, ResourceAccess, Role
from meet_web.services.doors import Door, Doors, version_key
from meet_web.services.lobby_alerts import GuestWaitingAlerts
from tests.conftest import EveryApp, app_service, make_room

ROOMS = "/api/v1.0/rooms"


@pytest.fixture
def statements(app):
    """The SQL statements the app's engine runs while the test counts."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    engine = app.registry["dbengine"]
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def knock(client, room, name="Guest", status=200):
    return client.post_json(
        f"{ROOMS}/{room.id}/request-entry/", {"username": name}, status=status
    ).json


def test_a_polling_guest_costs_no_sql_once_the_door_is_kept(testapp, restricted, statements):
    assert knock(testapp, restricted)["status"] == "waiting"
    # the first knock's "a guest is waiting" check reads the room's managers, after it
    app_service(testapp.app, GuestWaitingAlerts).drain()
    statements.clear()
    for _ in range(3):
        assert knock(testapp, restricted)["status"] == "waiting"
    assert statements == []


def test_a_change_through_the_api_is_seen_by_the_next_knock(testapp, new_testapp, restricted, cast):
    assert knock(testapp, restricted)["status"] == "waiting"
    owner = new_testapp()
    owner.login_as(cast.owner)
    owner.patch_json(f"{ROOMS}/{restricted.id}/", {"access_level": "public"}, status=200)
    answer = knock(testapp, restricted)
    assert answer["status"] == "accepted"
    assert answer["livekit"]["token"]


def test_a_new_member_is_known_at_once(testapp, restricted, cast, dbsession, user):
    testapp.login_as(user)
    assert "livekit" not in testapp.get(f"{ROOMS}/{restricted.id}/").json
    access = ResourceAccess(resource_id=restricted.id, user_id=user.id, role=Role.MEMBER)
    dbsession.add(access)
    dbsession.flush()
    assert testapp.get(f"{ROOMS}/{restricted.id}/").json["livekit"]["token"]
    dbsession.delete(access)
    dbsession.flush()
    assert "livekit" not in testapp.get(f"{ROOMS}/{restricted.slug}/").json


def test_a_deleted_room_is_404_at_once(testapp, restricted, cast, dbsession):
    assert knock(testapp, restricted)["status"] == "waiting"
    dbsession.delete(restricted)
    dbsession.flush()
    res = knock(testapp, restricted, status=404)
    assert res == {"detail": "No Room matches the given query."}


def test_a_slug_taken_over_by_another_room_finds_that_room(testapp, cast, dbsession):
    old = make_room(dbsession, "Corner", cast.owner)
    assert testapp.get(f"{ROOMS}/corner/").json["id"] == str(old.id)
    old.rename("Elsewhere")
    dbsession.flush()
    new = make_room(dbsession, "Corner", cast.owner)
    assert testapp.get(f"{ROOMS}/corner/").json["id"] == str(new.id)


def test_a_kept_door_is_used_only_under_its_version(app, restricted, dbsession):
    doors: Doors = app.registry["meet_services"][Doors]
    door = doors.load(dbsession, restricted.id)
    assert isinstance(door, Door) and door.access_level == AccessLevel.RESTRICTED
    kept, version = doors.kept(restricted.id)
    assert kept == door and version == doors.current_version(restricted.id)
    doors.changed([restricted.id])
    assert doors.kept(restricted.id) is None
    store = doors.store
    assert store.get(version_key(restricted.id)) not in (None, version)


def test_a_door_read_before_a_rollback_is_not_kept_after_it(app, connection, dbsession, restricted):
    """A session that changes a room, reads its door and rolls back leaves no copy of
    what never was."""
    doors: Doors = app.registry["meet_services"][Doors]
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    session.info[KEPT] = (EveryApp(Doors),)
    room = session.get(type(restricted), restricted.id)
    room.access_level = AccessLevel.PUBLIC
    session.flush()
    door = doors.load(session, restricted.id, version=doors.current_version(restricted.id))
    assert door.access_level == AccessLevel.PUBLIC
    _door, version = doors.kept(restricted.id)
    session.rollback()
    session.close()
    assert version != doors.current_version(restricted.id)

"""The admin rooms section: list, search, detail with live state, accesses and actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from meet_web.models import AccessLevel, Meeting, ResourceAccess, Role, Room
from meet_web.models.audit import AuditEvent
from tests.conftest import make_room, make_user
from tests.servers.smtp import closed_port


@pytest.fixture
def operator_app(testapp, cast):
    testapp.login_as(cast.operator)
    return testapp


def events(dbsession, action: str) -> list[AuditEvent]:
    return list(dbsession.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def csrf(app) -> str:
    return app.cookies["csrftoken"].strip('"')


def post_form(app, path, status=303, **fields):
    return app.post(path, {"csrf_token": csrf(app), **fields}, status=status)


def page_of(room) -> str:
    return f"/admin/rooms/{room.id}/"


@pytest.fixture
def rooms(dbsession, cast):
    other = make_user(dbsession, "carol")
    return {
        "secret": make_room(dbsession, "Secret Plans", other, access_level=AccessLevel.RESTRICTED),
        "coffee": make_room(dbsession, "Coffee", cast.member, access_level=AccessLevel.TRUSTED),
    }


# -- the list -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "found", "absent"),
    [
        ("", "Secret Plans", None),
        ("q=secret", "Secret Plans", "Coffee"),
        ("q=team-room", "Team Room", "Coffee"),
        ("q=CAROL@", "Secret Plans", "Team Room"),
        ("access_level=trusted", "Coffee", "Secret Plans"),
        ("access_level=public", "Team Room", "Coffee"),
    ],
)
def test_search_and_filter(operator_app, rooms, query, found, absent):
    text = operator_app.get(f"/admin/rooms/?{query}", status=200).text
    assert found in text
    if absent:
        assert absent not in text


def test_sort(operator_app, rooms):
    text = operator_app.get("/admin/rooms/?sort=name").text
    assert text.index("Coffee") < text.index("Secret Plans") < text.index("Team Room")
    text = operator_app.get("/admin/rooms/?sort=-name").text
    assert text.index("Team Room") < text.index("Secret Plans") < text.index("Coffee")


def test_htmx_gets_the_results_only(operator_app, rooms):
    res = operator_app.get(
        "/admin/rooms/?q=coffee", headers={"HX-Request": "true", "HX-Target": "admin-results"}
    )
    assert "Coffee" in res.text and "<html" not in res.text


@pytest.mark.parametrize(
    ("query", "status"),
    [("sort=slug", 400), ("access_level=secret", 400), ("page=-1", 400), ("page=5", 404)],
)
def test_bad_list_queries_get_a_page(operator_app, query, status):
    res = operator_app.get(f"/admin/rooms/?{query}", status=status)
    assert res.content_type == "text/html"


# -- the detail and its live state ----------------------------------------------------


def test_the_detail_shows_accesses_configuration_and_pin(operator_app, cast, dbsession):
    cast.room.pin_code = "1234567890"
    cast.room.configuration = {"everyone_can_mute": False}
    dbsession.flush()
    text = operator_app.get(page_of(cast.room), status=200).text
    for expected in ("owner@example.org", "member@example.org", "1234567890", "everyone_can_mute"):
        assert expected in text
    assert "No meeting is going on in this room." in text


def test_the_detail_shows_who_is_in_the_meeting_and_the_lobby(
    operator_app, restricted, livekit, new_testapp
):
    livekit.add_participant(str(restricted.id), "someone", "Ada Lovelace")
    guest = new_testapp()
    guest.post_json(
        f"/api/v1.0/rooms/{restricted.id}/request-entry/", {"username": "Grace"}, status=200
    )
    text = operator_app.get(page_of(restricted)).text
    assert "In a meeting with 1 participant" in text
    assert "Ada Lovelace" in text
    assert "Grace" in text


def test_livekit_down_is_said_plainly(testapp_with, cast):
    app = testapp_with({"livekit.url": f"http://127.0.0.1:{closed_port()}"})
    app.login_as(cast.operator)
    text = app.get(page_of(cast.room), status=200).text
    assert "LiveKit cannot be reached: the live state of this room is unknown." in text


@pytest.mark.parametrize("key", ["nope", "00000000-0000-0000-0000-000000000000"])
def test_unknown_rooms_are_not_found(operator_app, key):
    operator_app.get(f"/admin/rooms/{key}/", status=404)
    post_form(operator_app, f"/admin/rooms/{key}/delete", status=404, confirm="yes")


# -- accesses ------------------------------------------------------------------------


def test_add_change_and_remove_an_access(operator_app, cast, dbsession):
    path = page_of(cast.room)
    post_form(operator_app, path + "accesses", email="STRANGER@example.org", role="member")
    access = dbsession.scalars(
        select(ResourceAccess).where(ResourceAccess.user_id == cast.stranger.id)
    ).one()
    assert access.role == Role.MEMBER
    assert len(events(dbsession, "access.grant")) == 1

    post_form(operator_app, path + "access-role", access_id=str(access.id), role="owner")
    dbsession.refresh(access)
    assert access.role == Role.OWNER
    assert len(events(dbsession, "access.change")) == 1

    access_id = access.id
    post_form(operator_app, path + "access-remove", access_id=str(access_id))
    dbsession.expunge(access)
    assert dbsession.get(ResourceAccess, access_id) is None
    assert len(events(dbsession, "access.revoke")) == 1


def test_an_owners_access_may_be_changed_but_not_the_last_owner(operator_app, cast, dbsession):
    path = page_of(cast.room)
    owner_access = next(a for a in cast.room.accesses if a.role == Role.OWNER)
    res = post_form(
        operator_app,
        path + "access-role",
        status=403,
        access_id=str(owner_access.id),
        role="member",
    )
    assert "owner" in res.text.lower()
    post_form(operator_app, path + "access-remove", status=403, access_id=str(owner_access.id))
    dbsession.refresh(owner_access)
    assert owner_access.role == Role.OWNER
    assert events(dbsession, "access.change") == events(dbsession, "access.revoke") == []


@pytest.mark.parametrize(
    ("action", "fields", "status"),
    [
        ("accesses", {"email": "nobody@example.org", "role": "member"}, 400),
        ("accesses", {"email": "stranger@example.org", "role": "king"}, 400),
        ("accesses", {"role": "member"}, 400),
        ("accesses", {"email": "member@example.org", "role": "member"}, 400),
        ("access-role", {"access_id": "not-a-uuid", "role": "member"}, 400),
        (
            "access-role",
            {"access_id": "00000000-0000-0000-0000-000000000000", "role": "member"},
            404,
        ),
        ("access-role", {"role": "member"}, 400),
        ("access-remove", {"access_id": "zzz"}, 400),
    ],
)
def test_bad_access_forms(operator_app, cast, dbsession, action, fields, status):
    before = {(a.user_id, a.role) for a in cast.room.accesses}
    res = post_form(operator_app, page_of(cast.room) + action, status=status, **fields)
    assert res.content_type == "text/html"
    dbsession.expire(cast.room)
    assert {(a.user_id, a.role) for a in cast.room.accesses} == before
    assert dbsession.scalars(select(AuditEvent)).all() == []


def test_an_access_of_another_room_is_not_found(operator_app, cast, rooms):
    [access] = rooms["secret"].accesses
    post_form(
        operator_app, page_of(cast.room) + "access-remove", status=404, access_id=str(access.id)
    )


# -- end meeting, delete -------------------------------------------------------------


def test_end_meeting_asks_then_ends_it(operator_app, cast, livekit, dbsession):
    livekit.add_participant(str(cast.room.id), "someone", "Ada")
    path = page_of(cast.room) + "end-meeting"
    assert 'name="confirm" value="yes"' in operator_app.get(path).text
    post_form(operator_app, path, status=400)
    assert len(livekit.participants(str(cast.room.id))) == 1
    res = post_form(operator_app, path, confirm="yes")
    assert "The meeting was ended for everyone." in res.follow().text
    assert livekit.participants(str(cast.room.id)) == []
    assert str(cast.room.id) not in {room.name for room in livekit.rooms()}
    assert len(events(dbsession, "room.end_meeting")) == 1


def test_end_meeting_without_a_meeting(operator_app, cast, dbsession):
    res = post_form(operator_app, page_of(cast.room) + "end-meeting", confirm="yes")
    assert "No meeting is going on in this room." in res.follow().text
    assert events(dbsession, "room.end_meeting") == []


def test_delete_asks_then_deletes(operator_app, cast, dbsession):
    room_id = cast.room.id
    path = page_of(cast.room) + "delete"
    operator_app.get(path, status=200)
    post_form(operator_app, path, status=400)
    assert dbsession.get(Room, room_id) is not None
    res = post_form(operator_app, path, confirm="yes")
    assert res.location.endswith("/admin/rooms/")
    dbsession.expunge_all()
    assert dbsession.get(Room, room_id) is None
    assert len(events(dbsession, "room.delete")) == 1


def test_writes_without_csrf_are_refused(operator_app, cast, dbsession):
    for action, fields in (
        ("delete", {"confirm": "yes"}),
        ("end-meeting", {"confirm": "yes"}),
        ("accesses", {"email": "stranger@example.org", "role": "member"}),
    ):
        operator_app.post(
            page_of(cast.room) + action, fields, headers={"X-CSRF-Token": "no"}, status=403
        )
    assert dbsession.get(Room, cast.room.id) is not None
    assert cast.room.role_of(cast.stranger.id) is None


def test_end_meeting_with_livekit_down(testapp_with, cast, dbsession):
    app = testapp_with({"livekit.url": f"http://127.0.0.1:{closed_port()}"})
    app.login_as(cast.operator)
    res = post_form(app, page_of(cast.room) + "end-meeting", confirm="yes")
    assert "LiveKit cannot be reached: the meeting was not ended." in res.follow().text
    assert events(dbsession, "room.end_meeting") == []


def _meeting(dbsession, room, sid: str, started_at):
    dbsession.add(Meeting(room_id=room.id, livekit_sid=sid, started_at=started_at))
    dbsession.flush()


def test_sort_by_last_use_puts_rooms_never_used_last(operator_app, cast, rooms, dbsession):
    """Last use is the latest meeting's start; rooms without one come last both ways."""
    day = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    _meeting(dbsession, rooms["coffee"], "RM_coffee_old", day - timedelta(days=30))
    _meeting(dbsession, rooms["coffee"], "RM_coffee_new", day)
    _meeting(dbsession, cast.room, "RM_team", day - timedelta(days=3))

    text = operator_app.get("/admin/rooms/?sort=-last_used").text
    assert text.index("Coffee") < text.index("Team Room") < text.index("Secret Plans")
    assert "2026-11-02 09:30 UTC" in text  # the latest meeting, not the first
    assert "2026-10-03 09:30" not in text
    text = operator_app.get("/admin/rooms/?sort=last_used").text
    assert text.index("Team Room") < text.index("Coffee") < text.index("Secret Plans")
    assert 'aria-sort="ascending"' in text and "Last used" in text

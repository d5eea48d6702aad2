"""The audit log: each action writes its event in the transaction of the change, with
who, from where and a summary of what changed that holds no credential; a refused or
failed change writes none."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from meet_web.models import AccessLevel, ResourceAccess, Role
from meet_web.models.audit import AuditEvent
from meet_web.scripts import create_application
from meet_web.services import audit
from tests.conftest import (
    CLIENT_SECRET,
    bearer,
    fetch_token,
    make_application,
    make_recording,
    make_user,
)
from tests.functional.test_scripts import db, ini, ini_settings, script_db  # noqa: F401
from tests.login_flow import API, callback_path, start_login
from tests.servers.oidc import complete_login

GUEST = "0c1f3d4e-5a6b-4c7d-8e9f-a0b1c2d3e4f5"


def events(dbsession, action: str) -> list[AuditEvent]:
    dbsession.expire_all()
    return list(
        dbsession.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.created_at)
        )
    )


def only_event(dbsession, action: str) -> AuditEvent:
    (event,) = events(dbsession, action)
    return event


def event_count(dbsession) -> int:
    """The events but the sign-ins (a test's first `login_as` of a user signs in)."""
    dbsession.expire_all()
    return dbsession.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action != audit.SIGN_IN)
    )


def assert_by(event: AuditEvent, user) -> None:
    assert (event.actor_id, event.actor_label) == (user.id, user.email)
    assert len(event.request_id) == 32


@pytest.fixture
def owner(testapp, cast):
    testapp.login_as(cast.owner)
    return testapp


# -- sign-in and sign-out ---------------------------------------------------------------------


def test_sign_in(testapp, dbsession):
    user = make_user(dbsession, "newcomer")
    testapp.login("newcomer")
    event = only_event(dbsession, audit.SIGN_IN)
    assert_by(event, user)
    assert (event.target_type, event.target_id) == ("user", str(user.id))


def test_sign_out(testapp, dbsession, cast):
    testapp.login_as(cast.member)
    testapp.get(f"{API}/logout/", status=302)
    event = only_event(dbsession, audit.SIGN_OUT)
    assert_by(event, cast.member)
    assert event.target_id == str(cast.member.id)


def test_anonymous_sign_out_writes_nothing(testapp, dbsession):
    testapp.get(f"{API}/logout/", status=302)
    assert events(dbsession, audit.SIGN_OUT) == []


def test_failed_sign_in_of_a_disabled_account(testapp, dbsession):
    make_user(dbsession, "disabled", is_active=False)
    back = complete_login(start_login(testapp), "disabled")
    testapp.get(callback_path(back), status=400)
    event = only_event(dbsession, audit.SIGN_IN_FAILED)
    assert (event.actor_id, event.actor_label) == (None, "anonymous")
    assert event.target_id == "disabled"
    assert event.changes == {
        "reason": "This account is disabled.",
        "email": "disabled@example.org",
    }
    assert events(dbsession, audit.SIGN_IN) == []


def test_failed_sign_in_with_a_forged_state(testapp, dbsession):
    back = complete_login(start_login(testapp), "mallory")
    code = back.split("code=", 1)[1].split("&", 1)[0]
    res = testapp.get(f"{API}/callback/", {"code": code, "state": "forged"}, status=400)
    assert "X-Tm" not in res.headers
    event = only_event(dbsession, audit.SIGN_IN_FAILED)
    assert event.changes == {"reason": "provider", "email": None}
    assert event.target_id == ""


# -- rooms ------------------------------------------------------------------------------------


def test_room_create_through_the_api(testapp, dbsession, cast):
    testapp.login_as(cast.stranger)
    res = testapp.post_json(f"{API}/rooms/", {"name": "Weekly"}, status=201)
    event = only_event(dbsession, audit.ROOM_CREATE)
    assert_by(event, cast.stranger)
    assert (event.target_type, event.target_id) == ("room", res.json["id"])
    assert event.changes == {"slug": "weekly", "name": "Weekly"}


def test_room_create_from_the_home_page(testapp, dbsession, cast):
    testapp.login_as(cast.stranger)
    testapp.post("/rooms/", {"name": "Weekly Sync"}, status=303)
    assert only_event(dbsession, audit.ROOM_CREATE).changes["slug"] == "weekly-sync"


def test_room_create_refused_writes_nothing(testapp, dbsession, cast):
    testapp.login_as(cast.stranger)
    testapp.post_json(f"{API}/rooms/", {"name": "Team Room"}, status=400)
    assert event_count(dbsession) == 0


def test_room_update_through_the_api(owner, dbsession, cast):
    owner.patch_json(f"{API}/rooms/{cast.room.id}/", {"access_level": "restricted"})
    event = only_event(dbsession, audit.ROOM_UPDATE)
    assert_by(event, cast.owner)
    assert event.target_id == str(cast.room.id)
    assert event.changes == {"slug": "team-room", "access_level": "restricted"}


def test_room_update_from_the_settings_page(owner, dbsession, cast):
    form = {"name": "Team Room", "access_level": "trusted", "can_publish_sources": "camera"}
    owner.post("/team-room/settings", form, status=303)
    event = only_event(dbsession, audit.ROOM_UPDATE)
    assert event.changes["access_level"] == "trusted"
    assert event.changes["name"] == "Team Room"


def test_room_update_refused_writes_nothing(testapp, dbsession, cast):
    testapp.login_as(cast.member)
    testapp.patch_json(f"{API}/rooms/{cast.room.id}/", {"name": "Mine"}, status=403)
    assert event_count(dbsession) == 0


def test_room_delete(owner, dbsession, cast):
    room_id = str(cast.room.id)
    owner.delete(f"{API}/rooms/{room_id}/", status=204)
    event = only_event(dbsession, audit.ROOM_DELETE)
    assert_by(event, cast.owner)
    assert (event.target_type, event.target_id) == ("room", room_id)


# -- accesses ---------------------------------------------------------------------------------


def test_access_grant_through_the_api(owner, dbsession, cast):
    body = {"user": str(cast.stranger.id), "resource": str(cast.room.id), "role": "member"}
    res = owner.post_json(f"{API}/resource-accesses/", body, status=201)
    event = only_event(dbsession, audit.ACCESS_GRANT)
    assert_by(event, cast.owner)
    assert (event.target_type, event.target_id) == ("access", res.json["id"])
    assert event.changes == {
        "room": str(cast.room.id),
        "user": str(cast.stranger.id),
        "role": "member",
    }


def test_access_grant_from_the_members_form(owner, dbsession, cast):
    owner.post("/team-room/members", {"email": cast.stranger.email, "role": "member"}, status=303)
    assert only_event(dbsession, audit.ACCESS_GRANT).changes["user"] == str(cast.stranger.id)


def member_access(dbsession, cast) -> ResourceAccess:
    return dbsession.scalars(
        select(ResourceAccess).where(ResourceAccess.user_id == cast.member.id)
    ).one()


def test_access_change_through_the_api(owner, dbsession, cast):
    access = member_access(dbsession, cast)
    owner.patch_json(f"{API}/resource-accesses/{access.id}/", {"role": "administrator"})
    event = only_event(dbsession, audit.ACCESS_CHANGE)
    assert event.target_id == str(access.id)
    assert (event.changes["role"], event.changes["from"]) == ("administrator", "member")


def test_access_change_to_the_same_role_writes_nothing(owner, dbsession, cast):
    access = member_access(dbsession, cast)
    owner.patch_json(f"{API}/resource-accesses/{access.id}/", {"role": "member"})
    assert events(dbsession, audit.ACCESS_CHANGE) == []


def test_access_change_from_the_members_form(owner, dbsession, cast):
    access = member_access(dbsession, cast)
    form = {"access_id": str(access.id), "role": "administrator"}
    owner.post("/team-room/members-role", form, status=303)
    assert only_event(dbsession, audit.ACCESS_CHANGE).changes["from"] == "member"


def test_access_revoke_through_the_api(owner, dbsession, cast):
    access_id = str(member_access(dbsession, cast).id)
    owner.delete(f"{API}/resource-accesses/{access_id}/", status=204)
    event = only_event(dbsession, audit.ACCESS_REVOKE)
    assert event.target_id == access_id
    assert event.changes["user"] == str(cast.member.id)


def test_access_revoke_from_the_members_form(owner, dbsession, cast):
    access_id = str(member_access(dbsession, cast).id)
    owner.post("/team-room/members-remove", {"access_id": access_id}, status=303)
    assert only_event(dbsession, audit.ACCESS_REVOKE).target_id == access_id


def test_refused_revoke_writes_nothing(testapp, dbsession, cast):
    owner_access = dbsession.scalars(
        select(ResourceAccess).where(ResourceAccess.user_id == cast.owner.id)
    ).one()
    testapp.login_as(cast.administrator)
    testapp.delete(f"{API}/resource-accesses/{owner_access.id}/", status=403)
    assert event_count(dbsession) == 0


# -- participants and lobby -------------------------------------------------------------------


def test_participant_remove(owner, dbsession, cast, livekit):
    livekit.add_participant(str(cast.room.id), GUEST, "Guest")
    owner.post_json(
        f"{API}/rooms/{cast.room.id}/remove-participant/", {"participant_identity": GUEST}
    )
    event = only_event(dbsession, audit.PARTICIPANT_REMOVE)
    assert_by(event, cast.owner)
    assert (event.target_type, event.target_id) == ("participant", GUEST)
    assert event.changes == {"room": str(cast.room.id)}


def test_participant_remove_failing_at_livekit_writes_nothing(owner, dbsession, cast, livekit):
    owner.post_json(
        f"{API}/rooms/{cast.room.id}/remove-participant/",
        {"participant_identity": GUEST},
        status=404,
    )
    assert event_count(dbsession) == 0


def test_participant_promote(owner, dbsession, cast, livekit):
    room = str(cast.room.id)
    livekit.add_participant(room, str(cast.owner.id), "Owner")
    livekit.add_participant(room, str(cast.stranger.id), "Stranger")
    body = {"participant_identity": str(cast.stranger.id), "role": "administrator"}
    owner.post_json(f"{API}/rooms/{room}/update-participant-role/", body)
    event = only_event(dbsession, audit.PARTICIPANT_PROMOTE)
    assert (event.target_type, event.target_id) == ("user", str(cast.stranger.id))
    assert event.changes == {"room": room, "role": "administrator", "from": None}


def knock(client, room) -> str:
    res = client.post_json(f"{API}/rooms/{room.id}/request-entry/", {"username": "Guest"})
    return res.json["id"]


@pytest.mark.parametrize(
    ("allow", "action"), [(True, audit.LOBBY_ADMIT), (False, audit.LOBBY_DENY)]
)
def test_lobby_decision(testapp, new_testapp, dbsession, cast, restricted, allow, action):
    participant = knock(new_testapp(), restricted)
    assert event_count(dbsession) == 0, "knocking writes nothing"
    testapp.login_as(cast.administrator)
    body = {"participant_id": participant, "allow_entry": allow}
    testapp.post_json(f"{API}/rooms/{restricted.id}/enter/", body)
    event = only_event(dbsession, action)
    assert_by(event, cast.administrator)
    assert (event.target_type, event.target_id) == ("participant", participant)


def test_lobby_decision_on_nobody_writes_nothing(owner, dbsession, restricted):
    body = {"participant_id": GUEST, "allow_entry": True}
    owner.post_json(f"{API}/rooms/{restricted.id}/enter/", body, status=404)
    assert event_count(dbsession) == 0


# -- recordings -------------------------------------------------------------------------------


@pytest.fixture
def recorder(recording_app, cast, livekit):
    livekit.add_room(str(cast.room.id))
    client = recording_app()
    client.login_as(cast.owner)
    return client


def test_recording_start_and_stop(recorder, dbsession, cast):
    recorder.post_json(
        f"{API}/rooms/{cast.room.id}/start-recording/", {"mode": "screen_recording"}, status=201
    )
    started = only_event(dbsession, audit.RECORDING_START)
    assert_by(started, cast.owner)
    assert started.target_type == "recording"
    assert started.changes == {"room": str(cast.room.id), "mode": "screen_recording"}
    recorder.post_json(f"{API}/rooms/{cast.room.id}/stop-recording/", {}, status=200)
    stopped = only_event(dbsession, audit.RECORDING_STOP)
    assert (stopped.target_type, stopped.target_id) == ("room", str(cast.room.id))
    assert stopped.changes == {"status": "stopped"}


def test_recording_stop_without_recording_writes_nothing(recorder, dbsession, cast):
    recorder.post_json(f"{API}/rooms/{cast.room.id}/stop-recording/", {}, status=404)
    assert event_count(dbsession) == 0


def test_recording_delete_through_the_api(recorder, dbsession, cast, s3):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="saved")
    recording_id = str(recording.id)
    recorder.delete(f"{API}/recordings/{recording_id}/", status=204)
    event = only_event(dbsession, audit.RECORDING_DELETE)
    assert_by(event, cast.owner)
    assert event.target_id == recording_id


def test_recording_delete_from_the_page(recorder, dbsession, cast, s3):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="saved")
    recording_id = str(recording.id)
    recorder.post(f"/recordings/{recording_id}/delete", {"page": "1"}, status=303)
    assert only_event(dbsession, audit.RECORDING_DELETE).target_id == recording_id


# -- applications -----------------------------------------------------------------------------


def test_application_token_issued(external_api, dbsession):
    alice = make_user(dbsession, "alice")
    calendar = make_application(dbsession)
    fetch_token(external_api(), alice.email, client_id=calendar.client_id)
    event = only_event(dbsession, audit.APPLICATION_TOKEN)
    assert (event.actor_id, event.actor_label) == (None, f"application {calendar.client_id}")
    assert (event.target_type, event.target_id) == ("application", calendar.client_id)
    assert event.changes == {"for": alice.email}
    assert CLIENT_SECRET not in json.dumps(event.changes)


@pytest.mark.parametrize("method", ["create", "update", "delete"])
def test_rooms_through_the_external_api_are_by_the_application(external_api, dbsession, method):
    alice = make_user(dbsession, "alice")
    calendar = make_application(dbsession)
    client = external_api()
    headers = bearer(fetch_token(client, alice.email, client_id=calendar.client_id))
    rooms = "/external-api/v1.0/rooms/"
    room_id = client.post_json(rooms, {}, headers=headers, status=201).json["id"]
    if method == "update":
        client.patch_json(f"{rooms}{room_id}/", {"access_level": "trusted"}, headers=headers)
    elif method == "delete":
        client.delete(f"{rooms}{room_id}/", headers=headers, status=204)
    action = {"create": audit.ROOM_CREATE, "update": audit.ROOM_UPDATE}.get(
        method, audit.ROOM_DELETE
    )
    event = only_event(dbsession, action)
    assert (event.actor_id, event.actor_label) == (alice.id, f"application {calendar.client_id}")
    assert event.target_id == room_id
    if method == "update":
        assert event.changes["access_level"] == "trusted"


def test_application_token_refused_writes_nothing(external_api, dbsession):
    calendar = make_application(dbsession)
    external_api().post_json(
        "/external-api/v1.0/application/token/",
        {
            "client_id": calendar.client_id,
            "client_secret": "wrong",
            "grant_type": "client_credentials",
            "scope": "alice@example.org",
        },
        status=401,
    )
    assert event_count(dbsession) == 0


def test_application_create_script(ini, db, capsys):  # noqa: F811
    status = create_application.main([ini, "--name", "Calendar", "--scope", "rooms:list"])
    assert status == 0
    printed = json.loads(capsys.readouterr().out)
    event = db.scalars(select(AuditEvent)).one()
    assert (event.action, event.actor_label) == (
        audit.APPLICATION_CREATE,
        "meet-web-create-application",
    )
    assert (event.target_type, event.target_id) == ("application", printed["client_id"])
    assert event.changes == {"name": "Calendar", "active": True, "scopes": ["rooms:list"]}
    assert printed["client_secret"] not in json.dumps(event.changes)


# -- what every event holds -------------------------------------------------------------------


def test_the_proxy_request_id_is_kept(owner, dbsession, cast):
    owner.patch_json(
        f"{API}/rooms/{cast.room.id}/",
        {"access_level": AccessLevel.TRUSTED.value},
        headers={"X-Request-ID": "req-42"},
    )
    assert only_event(dbsession, audit.ROOM_UPDATE).request_id == "req-42"


def test_the_client_address_is_kept(owner, dbsession, cast):
    owner.patch_json(
        f"{API}/rooms/{cast.room.id}/",
        {"access_level": "trusted"},
        extra_environ={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert only_event(dbsession, audit.ROOM_UPDATE).client_ip == "198.51.100.7"


def test_a_request_id_that_is_not_a_token_is_replaced(owner, dbsession, cast):
    owner.patch_json(
        f"{API}/rooms/{cast.room.id}/",
        {"access_level": "trusted"},
        headers={"X-Request-ID": "a b\\c"},
    )
    request_id = only_event(dbsession, audit.ROOM_UPDATE).request_id
    assert request_id != "a b\\c" and len(request_id) == 32


def test_changes_never_hold_credentials():
    cleaned = audit.clean_changes(
        {
            "name": "x",
            "client_secret": "s",
            "access_token": "t",
            "Password": "p",
            "pin_code": "1234",
            "nested": {"api_key": "k", "role": Role.MEMBER, "keep": [1, 2]},
            "body": "a message",
            "long": "y" * 500,
        }
    )
    assert cleaned == {
        "name": "x",
        "nested": {"role": "member", "keep": [1, 2]},
        "long": "y" * 199 + "…",
    }

"""Participant management through the JSON API (reference §7.2): what each endpoint
sends to LiveKit, bad input, LiveKit failures (404 / 502 / 503 with a JSON error) and
nothing half-written. Actor matrices are in tests/permissions/test_api_meeting.py."""

from __future__ import annotations

import json
import time

import pytest
from livekit import api
from sqlalchemy import select

from meet_web.models import AccessLevel, ResourceAccess, Role
from meet_web.services.livekit import LiveKitGateway
from tests.api_checks import assert_error
from tests.conftest import MeetTestApp, app_service, make_user

GUEST = "0c1f3d4e-5a6b-4c7d-8e9f-a0b1c2d3e4f5"


def url(room, action: str) -> str:
    return f"/api/v1.0/rooms/{room.id}/{action}/"


@pytest.fixture
def meeting(cast, livekit):
    """The owner, the member and a guest with a microphone are in the meeting."""
    room = str(cast.room.id)
    livekit.add_participant(room, str(cast.owner.id), "Owner")
    livekit.add_participant(room, str(cast.member.id), "Member", metadata='{"keep": 1}')
    return livekit.add_participant(room, GUEST, "Guest", tracks=["microphone"])


@pytest.fixture
def owner(testapp, cast):
    testapp.login_as(cast.owner)
    return testapp


def mint(app, room, identity: str, **kw) -> dict:
    fields = {"name": "Someone", "role": None, "sources": [], "is_authenticated": False, **kw}
    token = app_service(app, LiveKitGateway).token(room=str(room.id), identity=identity, **fields)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app_with(testapp_with):
    """Another app on the test's transaction, built with some settings changed."""
    return lambda **overrides: testapp_with(overrides)


# -- mute-participant -----------------------------------------------------------------


def test_mute(owner, cast, meeting, livekit):
    sid = meeting.tracks[0].sid
    res = owner.post_json(
        url(cast.room, "mute-participant"), {"participant_identity": GUEST, "track_sid": sid}
    )
    assert res.json == {"status": "success"}
    (call,) = livekit.calls_to("MutePublishedTrack")
    assert call.request.room == str(cast.room.id)
    assert (call.request.identity, call.request.track_sid, call.request.muted) == (
        GUEST,
        sid,
        True,
    )
    assert livekit.participant(str(cast.room.id), GUEST).tracks[0].muted


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"participant_identity": GUEST},
        {"track_sid": "TR_x"},
        {"participant_identity": "", "track_sid": "TR_x"},
        {"participant_identity": GUEST, "track_sid": "x" * 256},
        {"participant_identity": GUEST, "track_sid": 5},
    ],
)
def test_mute_bad_input(owner, cast, meeting, livekit, body):
    owner.post_json(url(cast.room, "mute-participant"), body, status=400)
    assert livekit.calls_to("MutePublishedTrack") == []


@pytest.mark.parametrize(
    ("target", "track"), [("nobody", "TR_x"), (GUEST, "TR_unknown")], ids=["person", "track"]
)
def test_mute_not_found(owner, cast, meeting, target, track):
    body = {"participant_identity": target, "track_sid": track}
    res = owner.post_json(url(cast.room, "mute-participant"), body, status=404)
    assert "not found" in assert_error(res, 404, key="error")["error"]


def test_token_holder_mutes_someone_else(testapp, app, cast, meeting, livekit):
    headers = mint(app, cast.room, str(cast.member.id))
    body = {"participant_identity": GUEST, "track_sid": meeting.tracks[0].sid}
    testapp.post_json(url(cast.room, "mute-participant"), body, headers=headers)
    (presence,) = livekit.calls_to("GetParticipant")
    assert presence.request.identity == str(cast.member.id), "the caller's presence is checked"
    assert livekit.participant(str(cast.room.id), GUEST).tracks[0].muted


def test_token_requests_need_no_csrf_token(testapp, app, cast, meeting):
    """No session, no CSRF: the bearer token cannot be sent by a third-party page."""
    headers = mint(app, cast.room, str(cast.member.id))
    body = {"participant_identity": GUEST, "track_sid": meeting.tracks[0].sid}
    assert "csrftoken" not in testapp.cookies
    testapp.post_json(url(cast.room, "mute-participant"), body, headers=headers)


# -- update-participant ---------------------------------------------------------------


def test_update_every_field(owner, cast, meeting, livekit):
    body = {
        "participant_identity": GUEST,
        "name": "Renamed Guest",
        "metadata": {"badge": "speaker"},
        "attributes": {"team": "blue"},
        "permission": {
            "can_subscribe": True,
            "can_publish": True,
            "can_publish_data": False,
            "can_publish_sources": ["camera", "screen_share_audio"],
            "can_update_metadata": False,
            "can_subscribe_metrics": True,
        },
    }
    assert owner.post_json(url(cast.room, "update-participant"), body).json == {"status": "success"}
    participant = livekit.participant(str(cast.room.id), GUEST)
    assert participant.name == "Renamed Guest"
    assert json.loads(participant.metadata) == {"badge": "speaker"}
    assert participant.attributes["team"] == "blue"
    permission = participant.permission
    assert permission.can_publish and permission.can_subscribe
    assert not permission.can_publish_data
    assert list(permission.can_publish_sources) == [
        api.TrackSource.CAMERA,
        api.TrackSource.SCREEN_SHARE_AUDIO,
    ]
    assert permission.can_subscribe_metrics


@pytest.mark.parametrize(
    "fields",
    [{"name": "Only Name"}, {"attributes": {"a": "b"}}, {"permission": {"can_publish": False}}],
)
def test_update_never_overwrites_metadata_with_null(owner, cast, meeting, livekit, fields):
    body = {"participant_identity": str(cast.member.id), **fields}
    owner.post_json(url(cast.room, "update-participant"), body)
    (call,) = livekit.calls_to("UpdateParticipant")
    assert call.request.metadata == ""
    assert livekit.participant(str(cast.room.id), str(cast.member.id)).metadata == '{"keep": 1}'


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "participant_identity"),
        ({"participant_identity": GUEST}, "name"),
        ({"participant_identity": GUEST, "metadata": {}, "attributes": {}}, "name"),
        ({"participant_identity": GUEST, "name": ""}, "name"),
        ({"participant_identity": GUEST, "name": "x" * 256}, "name"),
        ({"participant_identity": GUEST, "metadata": "text"}, "metadata"),
        ({"participant_identity": GUEST, "metadata": [1]}, "metadata"),
        ({"participant_identity": GUEST, "attributes": {"a": 1}}, "attributes"),
        ({"participant_identity": GUEST, "attributes": ["a"]}, "attributes"),
        ({"participant_identity": GUEST, "permission": "all"}, "permission"),
        ({"participant_identity": GUEST, "permission": {"hidden": True}}, "permission"),
        ({"participant_identity": GUEST, "permission": {"hidden": False}}, "permission"),
        ({"participant_identity": GUEST, "permission": {"recorder": False}}, "permission"),
        ({"participant_identity": GUEST, "permission": {"agent": True}}, "permission"),
        ({"participant_identity": GUEST, "permission": {"agent": None}}, "permission"),
        ({"participant_identity": GUEST, "permission": {"can_fly": True}}, "permission"),
        ({"participant_identity": GUEST, "permission": {"can_publish": "yes"}}, "permission"),
        (
            {"participant_identity": GUEST, "permission": {"can_publish_sources": ["CAMERA"]}},
            "permission",
        ),
        (
            {"participant_identity": GUEST, "permission": {"can_publish_sources": ["radio"]}},
            "permission",
        ),
        (
            {"participant_identity": GUEST, "permission": {"can_publish_sources": "camera"}},
            "permission",
        ),
        (
            {"participant_identity": GUEST, "permission": {"can_publish_sources": [["camera"]]}},
            "permission",
        ),
        (
            {"participant_identity": GUEST, "permission": {"can_publish_sources": [{"a": 1}]}},
            "permission",
        ),
        (
            {"participant_identity": GUEST, "permission": {"can_publish_sources": [1]}},
            "permission",
        ),
    ],
)
def test_update_bad_input(owner, cast, meeting, livekit, body, field):
    res = owner.post_json(url(cast.room, "update-participant"), body, status=400)
    assert_error(res, 400, field)
    assert livekit.calls_to("UpdateParticipant") == []


def test_update_unknown_participant(owner, cast, meeting):
    body = {"participant_identity": "nobody", "name": "X"}
    owner.post_json(url(cast.room, "update-participant"), body, status=404)


# -- remove-participant ---------------------------------------------------------------


def test_remove(owner, cast, meeting, livekit):
    res = owner.post_json(url(cast.room, "remove-participant"), {"participant_identity": GUEST})
    assert res.json == {"status": "success"}
    assert livekit.participant(str(cast.room.id), GUEST) is None


def test_remove_clears_admission_and_refuses_knocks(owner, new_testapp, cast, dbsession, livekit):
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    guest = new_testapp()
    pid = guest.post_json(url(cast.room, "request-entry"), {"username": "G"}).json["id"]
    owner.post_json(url(cast.room, "enter"), {"participant_id": pid, "allow_entry": True})
    assert (
        guest.post_json(url(cast.room, "request-entry"), {"username": "G"}).json["status"]
        == "accepted"
    )
    livekit.add_participant(str(cast.room.id), pid, "G")
    owner.post_json(url(cast.room, "remove-participant"), {"participant_identity": pid})
    res = guest.post_json(url(cast.room, "request-entry"), {"username": "G"}, status=403)
    assert "removed" in res.json["detail"]


def test_removed_participant_may_knock_after_the_timeout(app_with, cast, dbsession, livekit):
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    owner = app_with(**{"lobby.removed_timeout": "1"})
    guest = MeetTestApp(owner.app, extra_environ=owner.extra_environ)
    owner.login_as(cast.owner)
    pid = guest.post_json(url(cast.room, "request-entry"), {"username": "G"}).json["id"]
    owner.post_json(url(cast.room, "enter"), {"participant_id": pid, "allow_entry": True})
    livekit.add_participant(str(cast.room.id), pid, "G")
    owner.post_json(url(cast.room, "remove-participant"), {"participant_identity": pid})
    guest.post_json(url(cast.room, "request-entry"), {"username": "G"}, status=403)
    time.sleep(1.2)
    res = guest.post_json(url(cast.room, "request-entry"), {"username": "G"})
    assert res.json["status"] == "waiting", "admission is not restored"


def test_remove_unknown_participant(owner, cast, meeting):
    owner.post_json(
        url(cast.room, "remove-participant"), {"participant_identity": "nobody"}, status=404
    )


def test_remove_bad_input(owner, cast, meeting):
    owner.post_json(url(cast.room, "remove-participant"), {}, status=400)
    owner.post_json(
        url(cast.room, "remove-participant"), {"participant_identity": ["x"]}, status=400
    )


# -- update-participant-role ----------------------------------------------------------


@pytest.fixture
def stranger_in_meeting(cast, meeting, livekit):
    livekit.add_participant(str(cast.room.id), str(cast.stranger.id), "Stranger")
    return cast.stranger


def role_rows(dbsession, cast, user) -> list[Role]:
    dbsession.expire_all()
    return list(
        dbsession.scalars(
            select(ResourceAccess.role).where(
                ResourceAccess.resource_id == cast.room.id, ResourceAccess.user_id == user.id
            )
        )
    )


@pytest.mark.parametrize("role", ["member", "administrator"])
def test_promote_a_stranger(owner, cast, dbsession, livekit, stranger_in_meeting, role):
    body = {"participant_identity": str(cast.stranger.id), "role": role}
    res = owner.post_json(url(cast.room, "update-participant-role"), body)
    assert res.json == {"role": role, "livekit_synced": True}
    assert role_rows(dbsession, cast, cast.stranger) == [role]
    attributes = livekit.participant(str(cast.room.id), str(cast.stranger.id)).attributes
    assert attributes["room_role"] == role
    (call,) = livekit.calls_to("UpdateParticipant")
    assert call.request.metadata == "" and call.request.name == ""


def test_demote_an_administrator(testapp, cast, dbsession, livekit, meeting):
    livekit.add_participant(str(cast.room.id), str(cast.administrator.id))
    testapp.login_as(cast.owner)
    body = {"participant_identity": str(cast.administrator.id), "role": "member"}
    testapp.post_json(url(cast.room, "update-participant-role"), body)
    assert role_rows(dbsession, cast, cast.administrator) == ["member"]


def test_an_administrator_promotes(testapp, cast, dbsession, livekit, stranger_in_meeting):
    livekit.add_participant(str(cast.room.id), str(cast.administrator.id))
    testapp.login_as(cast.administrator)
    body = {"participant_identity": str(cast.stranger.id), "role": "administrator"}
    testapp.post_json(url(cast.room, "update-participant-role"), body)
    assert role_rows(dbsession, cast, cast.stranger) == ["administrator"]


def test_role_sync_failure_keeps_the_role(owner, cast, dbsession, livekit, stranger_in_meeting):
    livekit.fail("UpdateParticipant", "internal")
    body = {"participant_identity": str(cast.stranger.id), "role": "member"}
    res = owner.post_json(url(cast.room, "update-participant-role"), body)
    assert res.json == {"role": "member", "livekit_synced": False}
    assert role_rows(dbsession, cast, cast.stranger) == ["member"]
    # running it again re-syncs
    res = owner.post_json(url(cast.room, "update-participant-role"), body)
    assert res.json == {"role": "member", "livekit_synced": True}
    assert role_rows(dbsession, cast, cast.stranger) == ["member"]


@pytest.mark.parametrize("role", ["owner", "king", "", None])
def test_role_bad_role(owner, cast, dbsession, stranger_in_meeting, role):
    body = {"participant_identity": str(cast.stranger.id), "role": role}
    owner.post_json(url(cast.room, "update-participant-role"), body, status=400)
    assert role_rows(dbsession, cast, cast.stranger) == []


def test_role_missing_fields(owner, cast, stranger_in_meeting):
    owner.post_json(url(cast.room, "update-participant-role"), {}, status=400)
    owner.post_json(url(cast.room, "update-participant-role"), {"role": "member"}, status=400)


def test_role_not_for_oneself(owner, cast, dbsession, meeting):
    body = {"participant_identity": str(cast.owner.id), "role": "member"}
    res = owner.post_json(url(cast.room, "update-participant-role"), body, status=403)
    assert res.json == {"error": "You cannot change your own role."}
    assert role_rows(dbsession, cast, cast.owner) == ["owner"]


def test_role_never_for_an_owner(testapp, cast, dbsession, livekit, meeting):
    livekit.add_participant(str(cast.room.id), str(cast.administrator.id))
    testapp.login_as(cast.administrator)
    body = {"participant_identity": str(cast.owner.id), "role": "member"}
    res = testapp.post_json(url(cast.room, "update-participant-role"), body, status=403)
    assert res.json == {"error": "Room owners cannot be demoted."}
    assert role_rows(dbsession, cast, cast.owner) == ["owner"]


def test_role_needs_the_requester_in_the_meeting(
    testapp, cast, dbsession, livekit, stranger_in_meeting
):
    testapp.login_as(cast.administrator)  # not in the LiveKit room
    body = {"participant_identity": str(cast.stranger.id), "role": "member"}
    testapp.post_json(url(cast.room, "update-participant-role"), body, status=403)
    livekit.add_participant(
        str(cast.room.id), str(cast.administrator.id), state=api.ParticipantInfo.State.DISCONNECTED
    )
    testapp.post_json(url(cast.room, "update-participant-role"), body, status=403)
    assert role_rows(dbsession, cast, cast.stranger) == []


def test_role_target_must_be_connected(owner, cast, dbsession, meeting):
    body = {"participant_identity": str(cast.stranger.id), "role": "member"}
    res = owner.post_json(url(cast.room, "update-participant-role"), body, status=404)
    assert assert_error(res, 404, key="error")["error"] == "Participant not found"
    assert role_rows(dbsession, cast, cast.stranger) == []


@pytest.mark.parametrize("identity", [GUEST, "sip_+33123456789"])
def test_role_target_must_have_an_account(owner, cast, meeting, livekit, identity):
    livekit.add_participant(str(cast.room.id), identity)
    body = {"participant_identity": identity, "role": "member"}
    res = owner.post_json(url(cast.room, "update-participant-role"), body, status=404)
    assert assert_error(res, 404, key="error")["error"] == "This participant has no account."


def test_role_target_may_be_a_user_without_a_role(owner, cast, dbsession, livekit, meeting):
    newcomer = make_user(dbsession, "newcomer")
    livekit.add_participant(str(cast.room.id), str(newcomer.id))
    body = {"participant_identity": str(newcomer.id), "role": "administrator"}
    owner.post_json(url(cast.room, "update-participant-role"), body)
    assert role_rows(dbsession, cast, newcomer) == ["administrator"]


@pytest.mark.parametrize("fault", ["down", "internal", "unavailable"])
def test_role_nothing_written_when_livekit_fails(
    owner, cast, dbsession, livekit, stranger_in_meeting, fault
):
    if fault == "down":
        livekit.refuse_connections()
        status = 503
    else:
        livekit.fail("GetParticipant", fault, times=None)
        status = 502 if fault == "internal" else 503
    body = {"participant_identity": str(cast.stranger.id), "role": "member"}
    res = owner.post_json(url(cast.room, "update-participant-role"), body, status=status)
    assert_error(res, status, key="error")
    assert role_rows(dbsession, cast, cast.stranger) == []


# -- toggle-hand and rename -----------------------------------------------------------


def test_raise_and_lower_hand(testapp, app, cast, meeting, livekit):
    headers = mint(app, cast.room, GUEST)
    before = time.time()
    res = testapp.post_json(url(cast.room, "toggle-hand"), {"raised": True}, headers=headers)
    assert res.json == {"status": "success"}
    stamp = livekit.participant(str(cast.room.id), GUEST).attributes["handRaisedAt"]
    from datetime import datetime

    assert datetime.fromisoformat(stamp).timestamp() >= before - 1
    testapp.post_json(url(cast.room, "toggle-hand"), {"raised": False}, headers=headers)
    assert "handRaisedAt" not in livekit.participant(str(cast.room.id), GUEST).attributes
    for call in livekit.calls_to("UpdateParticipant"):
        assert call.request.identity == GUEST
        assert call.request.metadata == "", "never 'null'"


def test_toggle_hand_uses_the_tokens_identity(testapp, app, cast, meeting, livekit):
    headers = mint(app, cast.room, GUEST)
    body = {"raised": True, "participant_identity": str(cast.member.id)}
    testapp.post_json(url(cast.room, "toggle-hand"), body, headers=headers)
    assert "handRaisedAt" in livekit.participant(str(cast.room.id), GUEST).attributes
    member = livekit.participant(str(cast.room.id), str(cast.member.id))
    assert "handRaisedAt" not in member.attributes


@pytest.mark.parametrize("body", [{}, {"raised": "yes"}, {"raised": 1}, {"raised": None}])
def test_toggle_hand_bad_input(testapp, app, cast, meeting, livekit, body):
    testapp.post_json(
        url(cast.room, "toggle-hand"), body, headers=mint(app, cast.room, GUEST), status=400
    )
    assert livekit.calls_to("UpdateParticipant") == []


def test_toggle_hand_not_in_the_meeting(testapp, app, cast, meeting):
    headers = mint(app, cast.room, "not-here")
    testapp.post_json(url(cast.room, "toggle-hand"), {"raised": True}, headers=headers, status=404)


def test_rename(testapp, app, cast, meeting, livekit):
    headers = mint(app, cast.room, GUEST)
    res = testapp.post_json(url(cast.room, "rename"), {"name": "  New Name  "}, headers=headers)
    assert res.json == {"status": "success"}
    assert livekit.participant(str(cast.room.id), GUEST).name == "New Name"
    (call,) = livekit.calls_to("UpdateParticipant")
    assert call.request.metadata == ""


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 256}, {"name": 7}])
def test_rename_bad_input(testapp, app, cast, meeting, livekit, body):
    testapp.post_json(
        url(cast.room, "rename"), body, headers=mint(app, cast.room, GUEST), status=400
    )
    assert livekit.calls_to("UpdateParticipant") == []


def test_rename_not_in_the_meeting(testapp, app, cast, meeting):
    headers = mint(app, cast.room, "not-here")
    testapp.post_json(url(cast.room, "rename"), {"name": "X"}, headers=headers, status=404)


def test_rename_respects_the_display_name_lock(app_with, cast, meeting, livekit):
    client = app_with(**{"livekit.authenticated_participants_can_edit_display_name": "false"})
    gateway = app_service(client.app, LiveKitGateway)
    member = gateway.token(
        room=str(cast.room.id),
        identity=str(cast.member.id),
        name="Member Example",
        role="member",
        sources=[],
        is_authenticated=True,
    )
    res = client.post_json(
        url(cast.room, "rename"),
        {"name": "Someone Else"},
        headers={"Authorization": f"Bearer {member}"},
        status=403,
    )
    assert (
        assert_error(res, 403)["detail"] == "Signed-in participants keep the name of their account."
    )
    assert livekit.participant(str(cast.room.id), str(cast.member.id)).name == "Member"
    # guests still choose their name
    guest = gateway.token(
        room=str(cast.room.id),
        identity=GUEST,
        name="Guest",
        role=None,
        sources=[],
        is_authenticated=False,
    )
    client.post_json(
        url(cast.room, "rename"), {"name": "Guest B."}, headers={"Authorization": f"Bearer {guest}"}
    )
    assert livekit.participant(str(cast.room.id), GUEST).name == "Guest B."


def test_rename_when_names_are_free(testapp, app, cast, meeting, livekit):
    headers = mint(app, cast.room, str(cast.member.id), is_authenticated=True)
    testapp.post_json(url(cast.room, "rename"), {"name": "Nickname"}, headers=headers)
    assert livekit.participant(str(cast.room.id), str(cast.member.id)).name == "Nickname"


# -- LiveKit failures -----------------------------------------------------------------


def calls(cast, meeting, app):
    """(endpoint, body, headers, LiveKit method) for each endpoint's main LiveKit call."""
    guest = mint(app, cast.room, GUEST)
    return [
        (
            "mute-participant",
            {"participant_identity": GUEST, "track_sid": meeting.tracks[0].sid},
            {},
            "MutePublishedTrack",
        ),
        (
            "update-participant",
            {"participant_identity": GUEST, "name": "N"},
            {},
            "UpdateParticipant",
        ),
        ("remove-participant", {"participant_identity": GUEST}, {}, "RemoveParticipant"),
        ("toggle-hand", {"raised": True}, guest, "UpdateParticipant"),
        ("rename", {"name": "N"}, guest, "UpdateParticipant"),
    ]


ENDPOINTS = [
    "mute-participant",
    "update-participant",
    "remove-participant",
    "toggle-hand",
    "rename",
]


def call_for(endpoint, cast, meeting, app):
    return next(c for c in calls(cast, meeting, app) if c[0] == endpoint)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("code", "status"),
    [("not_found", 404), ("internal", 502), ("unknown", 502), ("unavailable", 503)],
)
def test_livekit_errors(owner, app, cast, meeting, livekit, endpoint, code, status):
    _, body, headers, method = call_for(endpoint, cast, meeting, app)
    livekit.fail(method, code)
    res = owner.post_json(url(cast.room, endpoint), body, headers=headers, status=status)
    message = assert_error(res, status, key="error")["error"]
    assert ("not found" in message) == (status == 404)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_livekit_unreachable(owner, app, cast, meeting, livekit, endpoint):
    _, body, headers, _ = call_for(endpoint, cast, meeting, app)
    livekit.refuse_connections()
    res = owner.post_json(url(cast.room, endpoint), body, headers=headers, status=503)
    assert "unreachable" in assert_error(res, 503, key="error")["error"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_livekit_slow(app_with, app, cast, meeting, livekit, endpoint):
    client = app_with(**{"livekit.timeout": "0.3"})
    client.login_as(cast.owner)
    _, body, headers, method = call_for(endpoint, cast, meeting, app)
    livekit.delay(method, 3.0)
    started = time.monotonic()
    res = client.post_json(url(cast.room, endpoint), body, headers=headers, status=503)
    assert time.monotonic() - started < 2
    assert "media server" in assert_error(res, 503, key="error")["error"]
    assert livekit.participant(str(cast.room.id), GUEST).name == "Guest"


def test_remove_keeps_the_lobby_ban_when_livekit_fails(
    owner, new_testapp, cast, dbsession, livekit
):
    """Fail closed: the admin meant them out; they may not knock while LiveKit is down."""
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    guest = new_testapp()
    pid = guest.post_json(url(cast.room, "request-entry"), {"username": "G"}).json["id"]
    owner.post_json(url(cast.room, "enter"), {"participant_id": pid, "allow_entry": True})
    livekit.refuse_connections()
    owner.post_json(url(cast.room, "remove-participant"), {"participant_identity": pid}, status=503)
    guest.post_json(url(cast.room, "request-entry"), {"username": "G"}, status=403)


def test_unknown_room(owner):
    owner.post_json(
        "/api/v1.0/rooms/no-such-room/remove-participant/",
        {"participant_identity": GUEST},
        status=404,
    )


def test_unknown_room_with_a_token(testapp, app, cast):
    headers = mint(app, cast.room, GUEST)
    testapp.post_json(
        "/api/v1.0/rooms/no-such-room/toggle-hand/", {"raised": True}, headers=headers, status=404
    )


def test_a_signed_in_browser_using_its_livekit_token_needs_no_csrf_header(testapp, cast, livekit):
    from meet_web.services.livekit import LiveKitGateway
    from tests.conftest import app_service

    room = str(cast.room.id)
    livekit.add_participant(room, str(cast.member.id), "Member")
    testapp.login_as(cast.member)
    token = app_service(testapp.app, LiveKitGateway).token(
        room=room,
        identity=str(cast.member.id),
        name="Member",
        role="member",
        sources=[],
        is_authenticated=True,
    )
    testapp.post_json(
        f"/api/v1.0/rooms/{room}/toggle-hand/",
        {"raised": True},
        headers={"Authorization": f"Bearer {token}", "X-CSRF-Token": "wrong"},
        status=200,
    )

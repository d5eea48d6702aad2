"""The lobby through the JSON API (reference §2.2 and §3): request-entry, enter,
waiting-participants, the lobby cookie, identities, tokens and re-evaluated rules.

Who may knock or decide, actor by actor, is in tests/permissions/test_api_meeting.py.
"""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from livekit import api

from meet_web.models import AccessLevel, ResourceAccess, Role
from meet_web.services.livekit import participant_color
from tests.api_checks import assert_error
from tests.conftest import MeetTestApp

COOKIE = "lobbyParticipantId"
KEY_COOKIE = "lobbyParticipantIdKey"


@pytest.fixture
def app_with(testapp_with):
    """Another app on the test's transaction, built with some settings changed."""
    return lambda **overrides: testapp_with(overrides)


def url(room, action: str = "") -> str:
    return f"/api/v1.0/rooms/{room.id}/" + (f"{action}/" if action else "")


def verify(livekit, token: str):
    return api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(token)


def knock(client, room, username="Guest", **kw):
    return client.post_json(url(room, "request-entry"), {"username": username}, **kw)


def admit(client, room, participant_id, allow=True, **kw):
    body = {"participant_id": participant_id, "allow_entry": allow}
    return client.post_json(url(room, "enter"), body, **kw)


# -- request-entry --------------------------------------------------------------------


def lobby_cookies(res) -> dict[str, list[str]]:
    """Set-Cookie headers of the lobby: name -> lower-cased attributes."""
    found = {}
    for name, value in res.headerlist:
        if name == "Set-Cookie" and value.startswith(COOKIE):
            parts = [part.strip() for part in value.split(";")]
            found[parts[0].split("=", 1)[0]] = [p.lower() for p in parts[1:]]
    return found


def test_guest_knocks_and_gets_a_cookie(testapp, restricted, livekit):
    res = knock(testapp, restricted, "Guest")
    pid = testapp.cookies[COOKIE]
    assert str(uuid.UUID(pid)) == pid
    assert res.json == {
        "id": pid,
        "username": "Guest",
        "status": "waiting",
        "color": participant_color(pid),
        "livekit": None,
    }
    cookies = lobby_cookies(res)
    assert set(cookies) == {COOKIE, KEY_COOKIE}
    for attributes in cookies.values():
        assert "httponly" in attributes
        assert "samesite=lax" in attributes
        assert "path=/" in attributes
        assert "secure" not in attributes, "app.secure_cookies is off in tests"
        assert not any(a.startswith(("max-age", "expires")) for a in attributes), "session"


def test_the_cookie_keeps_the_identity(testapp, restricted):
    first = knock(testapp, restricted).json
    second = knock(testapp, restricted)
    assert second.json["id"] == first["id"]
    assert lobby_cookies(second) == {}, "existing cookies are not set again"


@pytest.mark.parametrize("value", ["not-a-uuid", "", "12345"])
def test_a_malformed_cookie_is_replaced(testapp, restricted, value):
    testapp.set_cookie(COOKIE, value)
    res = knock(testapp, restricted)
    pid = testapp.cookies[COOKIE]
    assert pid != value
    assert res.json["id"] == pid
    assert knock(testapp, restricted).json["id"] == pid


@pytest.mark.parametrize("key", [None, "", "forged-key", "AAAAAAAAAAAAAAAAAAAAAAAA"])
def test_an_identity_without_its_key_is_replaced(testapp, restricted, key):
    chosen = str(uuid.uuid4())
    testapp.set_cookie(COOKIE, chosen)
    if key is not None:
        testapp.set_cookie(KEY_COOKIE, key)
    res = knock(testapp, restricted)
    assert res.json["id"] != chosen
    assert set(lobby_cookies(res)) == {COOKIE, KEY_COOKIE}


def test_a_key_is_bound_to_its_identity(new_testapp, restricted):
    first, second = new_testapp(), new_testapp()
    knock(first, restricted)
    second_id = knock(second, restricted).json["id"]
    mixed = new_testapp()
    mixed.set_cookie(COOKIE, second_id)
    mixed.set_cookie(KEY_COOKIE, first.cookies[KEY_COOKIE])
    assert knock(mixed, restricted).json["id"] not in (second_id, first.cookies[COOKIE])


def test_secure_cookie_by_default(app_with, cast, dbsession):
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    client = app_with(**{"app.secure_cookies": "true"})  # the default; tests turn it off
    res = knock(client, cast.room)
    cookies = lobby_cookies(res)
    assert set(cookies) == {COOKIE, KEY_COOKIE}
    assert all("secure" in attributes for attributes in cookies.values())


def test_signed_in_identity_is_the_user_id(testapp, cast, restricted, livekit):
    testapp.login_as(cast.stranger)
    res = knock(testapp, restricted, "Stranger")
    assert res.json["id"] == str(cast.stranger.id)
    assert res.json["status"] == "waiting"
    assert res.json["color"] == participant_color(str(cast.stranger.id))
    assert COOKIE not in testapp.cookies


def test_signed_in_user_admitted_from_the_lobby(testapp, new_testapp, cast, restricted, livekit):
    testapp.login_as(cast.stranger)
    knock(testapp, restricted, "Stranger")
    owner = new_testapp()
    owner.login_as(cast.owner)
    waiting = owner.get(url(restricted, "waiting-participants")).json["participants"]
    assert [w["id"] for w in waiting] == [str(cast.stranger.id)]
    admit(owner, restricted, str(cast.stranger.id))
    res = knock(testapp, restricted, "Stranger")
    assert res.json["status"] == "accepted"
    claims = verify(livekit, res.json["livekit"]["token"])
    assert claims.identity == str(cast.stranger.id)
    assert claims.name == "Stranger"
    assert claims.attributes == {
        "color": participant_color(str(cast.stranger.id)),
        "room_role": "",
        "is_authenticated": "true",
    }
    assert not claims.video.room_admin


def test_guest_knocks_owner_admits(testapp, new_testapp, cast, restricted, livekit):
    guest = new_testapp()
    res = knock(guest, restricted, "Guest")
    pid = res.json["id"]
    testapp.login_as(cast.owner)
    waiting = testapp.get(url(restricted, "waiting-participants")).json
    assert waiting == {
        "participants": [
            {"id": pid, "username": "Guest", "status": "waiting", "color": participant_color(pid)}
        ]
    }
    res = admit(testapp, restricted, pid)
    assert res.json == {"message": "Participant was updated."}
    assert testapp.get(url(restricted, "waiting-participants")).json == {"participants": []}
    res = knock(guest, restricted, "Guest Renamed")
    assert res.json["status"] == "accepted"
    assert res.json["id"] == pid
    assert res.json["color"] == participant_color(pid)
    block = res.json["livekit"]
    assert block["url"] == livekit.url
    assert block["room"] == str(restricted.id)
    claims = verify(livekit, block["token"])
    assert claims.identity == pid
    assert claims.name == "Guest Renamed", "the name of this request"
    assert claims.video.room == str(restricted.id)
    assert claims.video.room_join and not claims.video.room_admin
    assert claims.attributes == {
        "color": participant_color(pid),
        "room_role": "",
        "is_authenticated": "false",
    }


def test_guest_denied(testapp, new_testapp, cast, restricted):
    guest = new_testapp()
    pid = knock(guest, restricted).json["id"]
    testapp.login_as(cast.administrator)
    admit(testapp, restricted, pid, allow=False)
    res = knock(guest, restricted)
    assert res.json["status"] == "denied"
    assert res.json["livekit"] is None
    assert testapp.get(url(restricted, "waiting-participants")).json["participants"] == []


def test_a_slug_finds_the_room(testapp, restricted):
    res = testapp.post_json(f"/api/v1.0/rooms/{restricted.slug}/request-entry/", {"username": "G"})
    assert res.json["status"] == "waiting"


@pytest.mark.parametrize("key", ["no-such-room", str(uuid.uuid4())])
def test_unknown_room(testapp, key):
    testapp.post_json(f"/api/v1.0/rooms/{key}/request-entry/", {"username": "G"}, status=404)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": ""},
        {"username": "   "},
        {"username": None},
        {"username": 42},
        {"username": "x" * 256},
    ],
)
def test_request_entry_needs_a_username(testapp, restricted, body):
    res = testapp.post_json(url(restricted, "request-entry"), body, status=400)
    assert_error(res, 400, "username")


@pytest.mark.parametrize("body", [b"not json", b"[1]", b'"text"'])
def test_request_entry_bad_body(testapp, restricted, body):
    testapp.post(
        url(restricted, "request-entry"),
        body,
        headers={"Content-Type": "application/json"},
        status=400,
    )


def test_request_entry_takes_only_post(testapp, restricted):
    testapp.get(url(restricted, "request-entry"), status=405)


def test_nothing_is_written_for_who_skips_the_lobby(testapp, new_testapp, cast, dbsession, livekit):
    """Public room: accepted at once, no lobby entry, no notification."""
    livekit.add_room(str(cast.room.id))
    guest = new_testapp()
    res = knock(guest, cast.room, "Guest")
    assert res.json["status"] == "accepted"
    assert livekit.data_messages() == []
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    testapp.login_as(cast.owner)
    res = admit(testapp, cast.room, res.json["id"], status=404)
    assert res.json["message"] == "Participant not found."


def test_a_new_knock_notifies_the_meeting(new_testapp, restricted, livekit):
    livekit.add_room(str(restricted.id))
    guest = new_testapp()
    knock(guest, restricted)
    knock(guest, restricted)
    other = new_testapp()
    knock(other, restricted)  # within a second of the first: told by a later poll
    time.sleep(1.05)
    knock(other, restricted)
    messages = livekit.data_messages(str(restricted.id))
    assert [m.data for m in messages] == [b'{"type": "participantWaiting"}'] * 2


@pytest.mark.parametrize("fault", ["down", "internal", "missing room"])
def test_knocking_works_when_livekit_cannot_be_told(testapp, restricted, livekit, fault):
    if fault == "down":
        livekit.refuse_connections()
    elif fault == "internal":
        livekit.add_room(str(restricted.id))
        livekit.fail("SendData", "internal")
    res = knock(testapp, restricted)
    assert res.json["status"] == "waiting"


# -- rules re-evaluated on every poll --------------------------------------------------


def test_waiting_guest_enters_when_the_room_becomes_public(new_testapp, restricted, dbsession):
    guest = new_testapp()
    pid = knock(guest, restricted).json["id"]
    restricted.access_level = AccessLevel.PUBLIC
    dbsession.flush()
    res = knock(guest, restricted)
    assert res.json["status"] == "accepted"
    assert res.json["id"] == pid
    assert res.json["livekit"]["room"] == str(restricted.id)


def test_waiting_user_enters_when_the_room_becomes_trusted(testapp, cast, restricted, dbsession):
    testapp.login_as(cast.stranger)
    assert knock(testapp, restricted).json["status"] == "waiting"
    restricted.access_level = AccessLevel.TRUSTED
    dbsession.flush()
    assert knock(testapp, restricted).json["status"] == "accepted"


def test_waiting_user_enters_when_given_a_role(testapp, cast, restricted, dbsession):
    testapp.login_as(cast.stranger)
    assert knock(testapp, restricted).json["status"] == "waiting"
    restricted.accesses.append(ResourceAccess(user=cast.stranger, role=Role.MEMBER))
    dbsession.flush()
    res = knock(testapp, restricted)
    assert res.json["status"] == "accepted"
    assert verify_attributes(res)["room_role"] == "member"


def verify_attributes(res) -> dict:
    token = res.json["livekit"]["token"]
    return jwt.decode(token, options={"verify_signature": False})["attributes"]


def test_guest_waits_again_when_a_public_room_becomes_restricted(new_testapp, cast, dbsession):
    guest = new_testapp()
    assert knock(guest, cast.room).json["status"] == "accepted"
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    assert knock(guest, cast.room).json["status"] == "waiting"


def test_denied_guest_enters_when_the_room_becomes_public(
    testapp, new_testapp, cast, restricted, dbsession
):
    guest = new_testapp()
    pid = knock(guest, restricted).json["id"]
    testapp.login_as(cast.owner)
    admit(testapp, restricted, pid, allow=False)
    restricted.access_level = AccessLevel.PUBLIC
    dbsession.flush()
    assert knock(guest, restricted).json["status"] == "accepted"


def test_public_rooms_list_no_waiters(testapp, new_testapp, cast, restricted, dbsession):
    knock(new_testapp(), restricted)
    restricted.access_level = AccessLevel.PUBLIC
    dbsession.flush()
    testapp.login_as(cast.owner)
    assert testapp.get(url(restricted, "waiting-participants")).json == {"participants": []}


def test_a_denied_guest_may_knock_again_later(testapp, new_testapp, cast, app_with, dbsession):
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    owner = app_with(**{"lobby.denied_timeout": "1", "lobby.waiting_timeout": "1"})
    guest = MeetTestApp(owner.app, extra_environ=owner.extra_environ)
    owner.login_as(cast.owner)
    pid = knock(guest, cast.room).json["id"]
    admit(owner, cast.room, pid, allow=False)
    assert knock(guest, cast.room).json["status"] == "denied"
    time.sleep(1.2)
    assert knock(guest, cast.room).json["status"] == "waiting"
    waiting = owner.get(url(cast.room, "waiting-participants")).json["participants"]
    assert [w["id"] for w in waiting] == [pid]


def test_a_guest_who_stops_polling_leaves_the_list(cast, app_with, dbsession):
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    owner = app_with(**{"lobby.waiting_timeout": "1"})
    guest = MeetTestApp(owner.app, extra_environ=owner.extra_environ)
    owner.login_as(cast.owner)
    pid = knock(guest, cast.room).json["id"]
    assert [
        w["id"] for w in owner.get(url(cast.room, "waiting-participants")).json["participants"]
    ] == [pid]
    time.sleep(1.2)
    assert owner.get(url(cast.room, "waiting-participants")).json["participants"] == []
    admit(owner, cast.room, pid, status=404)


# -- identity cannot be borrowed ------------------------------------------------------


def test_a_guest_cannot_borrow_an_admitted_participants_identity(
    testapp, new_testapp, cast, restricted
):
    """LiveKit identities are visible to everyone in the meeting: knowing one must not
    be enough to enter as that participant."""
    admitted = new_testapp()
    pid = knock(admitted, restricted).json["id"]
    testapp.login_as(cast.owner)
    admit(testapp, restricted, pid)
    intruder = new_testapp()
    intruder.set_cookie(COOKIE, pid)
    res = knock(intruder, restricted)
    assert res.json["status"] == "waiting"
    assert res.json["id"] != pid


def test_a_guest_cannot_take_a_signed_in_users_identity(testapp, new_testapp, cast, restricted):
    testapp.login_as(cast.stranger)
    knock(testapp, restricted)
    owner = new_testapp()
    owner.login_as(cast.owner)
    admit(owner, restricted, str(cast.stranger.id))
    intruder = new_testapp()
    intruder.set_cookie(COOKIE, str(cast.stranger.id))
    res = knock(intruder, restricted)
    assert res.json["status"] == "waiting"
    assert res.json["id"] != str(cast.stranger.id)


# -- display names --------------------------------------------------------------------


def test_signed_in_users_choose_their_display_name(testapp, cast, livekit):
    testapp.login_as(cast.member)
    res = knock(testapp, cast.room, "Chosen Name")
    assert res.json["username"] == "Chosen Name"
    assert verify(livekit, res.json["livekit"]["token"]).name == "Chosen Name"


def test_display_name_lock(app_with, cast, livekit):
    client = app_with(**{"livekit.authenticated_participants_can_edit_display_name": "false"})
    client.login_as(cast.member)
    res = knock(client, cast.room, "Chosen Name")
    assert res.json["username"] == cast.member.full_name
    assert verify(livekit, res.json["livekit"]["token"]).name == cast.member.full_name
    guest = app_with(**{"livekit.authenticated_participants_can_edit_display_name": "false"})
    res = knock(guest, cast.room, "Guest Name")
    assert verify(livekit, res.json["livekit"]["token"]).name == "Guest Name", "guests choose"


# -- rate limit and removal -----------------------------------------------------------


def test_rate_limit(app_with, cast, dbsession):
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    client = app_with(**{"lobby.rate_limit": "3"})
    for _ in range(3):
        knock(client, cast.room)
    res = knock(client, cast.room, status=429)
    assert res.headers["Retry-After"] == "60"
    assert res.json == {"detail": "Request was throttled. Expected available in 60 seconds."}
    client.reset()  # a new guest (no cookie) is another identity
    assert knock(client, cast.room).json["status"] == "waiting"


def test_rate_limit_for_signed_in_users(app_with, cast):
    client = app_with(**{"lobby.rate_limit": "2"})
    client.login_as(cast.member)
    knock(client, cast.room)
    knock(client, cast.room)
    knock(client, cast.room, status=429)


def test_a_removed_guest_cannot_knock(testapp, new_testapp, cast, restricted, livekit):
    guest = new_testapp()
    pid = knock(guest, restricted).json["id"]
    testapp.login_as(cast.owner)
    admit(testapp, restricted, pid)
    livekit.add_participant(str(restricted.id), pid, "Guest")
    testapp.post_json(url(restricted, "remove-participant"), {"participant_identity": pid})
    res = knock(guest, restricted, status=403)
    assert res.json == {"detail": "You were removed from this meeting; try again later."}
    assert testapp.get(url(restricted, "waiting-participants")).json["participants"] == []
    admit(testapp, restricted, pid, status=404)


def test_a_removed_member_cannot_rejoin_a_public_room(testapp, new_testapp, cast, livekit):
    member = new_testapp()
    member.login_as(cast.member)
    assert knock(member, cast.room).json["status"] == "accepted"
    livekit.add_participant(str(cast.room.id), str(cast.member.id))
    testapp.login_as(cast.owner)
    testapp.post_json(
        url(cast.room, "remove-participant"), {"participant_identity": str(cast.member.id)}
    )
    knock(member, cast.room, status=403)


# -- enter ----------------------------------------------------------------------------


def test_enter_on_a_public_room(testapp, cast):
    testapp.login_as(cast.owner)
    res = admit(testapp, cast.room, str(uuid.uuid4()), status=404)
    assert res.json["message"] == "Room has no lobby system."


def test_enter_unknown_participant(testapp, cast, restricted):
    testapp.login_as(cast.owner)
    res = admit(testapp, restricted, str(uuid.uuid4()), status=404)
    assert res.json["message"] == "Participant not found."


def test_enter_accepts_any_uuid_spelling(testapp, new_testapp, cast, restricted):
    guest = new_testapp()
    pid = knock(guest, restricted).json["id"]
    testapp.login_as(cast.owner)
    admit(testapp, restricted, uuid.UUID(pid).hex.upper())
    assert knock(guest, restricted).json["status"] == "accepted"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"participant_id": str(uuid.uuid4())},
        {"allow_entry": True},
        {"participant_id": "not-a-uuid", "allow_entry": True},
        {"participant_id": 42, "allow_entry": True},
        {"participant_id": str(uuid.uuid4()), "allow_entry": "yes"},
        {"participant_id": str(uuid.uuid4()), "allow_entry": None},
    ],
)
@pytest.mark.parametrize("level", [AccessLevel.RESTRICTED, AccessLevel.PUBLIC])
def test_enter_bad_body(testapp, cast, dbsession, body, level):
    cast.room.access_level = level
    dbsession.flush()
    testapp.login_as(cast.owner)
    testapp.post_json(url(cast.room, "enter"), body, status=400)


def test_enter_decides_a_denied_or_accepted_participant_again(
    testapp, new_testapp, cast, restricted
):
    guest = new_testapp()
    pid = knock(guest, restricted).json["id"]
    testapp.login_as(cast.owner)
    admit(testapp, restricted, pid, allow=False)
    admit(testapp, restricted, pid, allow=True)
    assert knock(guest, restricted).json["status"] == "accepted"

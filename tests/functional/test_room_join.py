"""The `livekit` block of room retrieve, metadata sync on update, and the creation callback."""

import json

import pytest
from livekit import api

from meet_web.models import AccessLevel


@pytest.fixture
def verify(livekit):
    return api.TokenVerifier(livekit.api_key, livekit.api_secret).verify


def room_url(room) -> str:
    return f"/api/v1.0/rooms/{room.slug}/"


def test_member_token_carries_identity_role_and_sources(testapp, cast, verify):
    testapp.login_as(cast.member)
    block = testapp.get(room_url(cast.room)).json["livekit"]
    claims = verify(block["token"])
    assert block["room"] == str(cast.room.id)
    assert claims.identity == str(cast.member.id)
    assert claims.name == "Member Example"
    assert claims.attributes["room_role"] == "member"
    assert claims.attributes["is_authenticated"] == "true"
    assert not claims.video.room_admin


def test_guest_token_uses_the_lobby_cookie_and_username(testapp, cast, verify):
    res = testapp.get(room_url(cast.room), params={"username": "Gina"})
    claims = verify(res.json["livekit"]["token"])
    assert claims.identity == testapp.cookies["lobbyParticipantId"]
    assert claims.name == "Gina"
    assert claims.attributes["room_role"] == ""
    assert claims.attributes["is_authenticated"] == "false"


def test_owner_is_room_admin_with_default_sources(testapp, cast, dbsession, verify):
    cast.room.configuration = {"can_publish_sources": []}
    dbsession.flush()
    testapp.login_as(cast.owner)
    claims = verify(testapp.get(room_url(cast.room)).json["livekit"]["token"])
    assert claims.video.room_admin
    assert claims.video.can_publish_sources == [
        "camera",
        "microphone",
        "screen_share",
        "screen_share_audio",
    ]


def test_restricted_room_gives_strangers_no_token(testapp, cast, dbsession):
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    testapp.login_as(cast.stranger)
    assert "livekit" not in testapp.get(room_url(cast.room)).json


def test_removed_participant_gets_no_token(testapp, new_testapp, cast, livekit):
    guest = new_testapp()
    identity = guest.get(room_url(cast.room)).json and guest.cookies["lobbyParticipantId"]
    livekit.add_participant(str(cast.room.id), identity, "Gina")
    testapp.login_as(cast.owner)
    testapp.post_json(
        f"/api/v1.0/rooms/{cast.room.id}/remove-participant/", {"participant_identity": identity}
    )
    assert "livekit" not in guest.get(room_url(cast.room)).json


def test_update_syncs_settings_into_the_live_room(testapp, cast, livekit):
    livekit.add_room(str(cast.room.id), metadata=json.dumps({"recording_status": "started"}))
    testapp.login_as(cast.owner)
    testapp.patch_json(room_url(cast.room), {"access_level": "trusted"})
    metadata = json.loads(livekit.room(str(cast.room.id)).metadata)
    assert metadata == {
        "recording_status": "started",
        "access_level": "trusted",
        "configuration": {},
    }


def test_update_without_live_room_or_livekit_still_succeeds(testapp, cast, livekit):
    testapp.login_as(cast.owner)
    testapp.patch_json(room_url(cast.room), {"access_level": "trusted"}, status=200)
    livekit.refuse_connections()
    testapp.patch_json(room_url(cast.room), {"access_level": "restricted"}, status=200)


def test_rename_alone_does_not_call_livekit(testapp, cast, livekit):
    testapp.login_as(cast.owner)
    testapp.patch_json(room_url(cast.room), {"name": "Other Name"})
    assert livekit.calls_to("UpdateRoomMetadata") == []


def test_creation_callback_hands_the_slug_over_once(testapp, new_testapp, cast):
    testapp.login_as(cast.owner)
    testapp.post_json("/api/v1.0/rooms/", {"name": "Planning", "callback_id": "cb-1"}, status=201)
    other = new_testapp()
    first = other.post_json("/api/v1.0/rooms/creation-callback/", {"callback_id": "cb-1"})
    assert first.json == {"status": "success", "room": {"slug": "planning"}}
    again = other.post_json("/api/v1.0/rooms/creation-callback/", {"callback_id": "cb-1"})
    assert again.json == {"status": "success", "room": {}}


def test_creation_callback_requires_an_id(testapp):
    res = testapp.post_json("/api/v1.0/rooms/creation-callback/", {}, status=400)
    assert res.json == {"callback_id": ["This field is required."]}


def test_failed_creation_leaves_no_callback(testapp, new_testapp, cast):
    testapp.login_as(cast.owner)
    testapp.post_json("/api/v1.0/rooms/", {"name": "Team Room", "callback_id": "cb-2"}, status=400)
    res = new_testapp().post_json("/api/v1.0/rooms/creation-callback/", {"callback_id": "cb-2"})
    assert res.json["room"] == {}


def test_settings_page_syncs_the_live_room(testapp, cast, livekit):
    livekit.add_room(str(cast.room.id))
    testapp.login_as(cast.owner)
    page = testapp.get("/team-room/settings")
    form = page.forms["room-settings"]
    form["access_level"] = "restricted"
    form.submit(status=303)
    metadata = json.loads(livekit.room(str(cast.room.id)).metadata)
    assert metadata["access_level"] == "restricted"

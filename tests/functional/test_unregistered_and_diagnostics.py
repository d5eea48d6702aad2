"""Unregistered rooms (off by default) and the connection test (behind its flag)."""

import pytest
from livekit import api

from tests.conftest import ACTORS

UNREGISTERED = {"rooms.allow_unregistered": "true"}
DIAGNOSTICS = {"diagnostics.connection_test_enabled": "true"}


@pytest.fixture
def verify(livekit):
    return api.TokenVerifier(livekit.api_key, livekit.api_secret).verify


def test_unknown_slug_is_404_by_default(testapp):
    res = testapp.get("/api/v1.0/rooms/no-such-room/", status=404)
    assert res.json == {"detail": "No Room matches the given query."}


@pytest.mark.parametrize("actor", ACTORS)
def test_unregistered_room_gives_everyone_a_token(testapp_with, cast, verify, actor):
    client = testapp_with(UNREGISTERED)
    client.login_as(cast[actor])
    data = client.get("/api/v1.0/rooms/Stand Up/", params={"username": "Sam"}).json
    assert data["id"] is None
    assert data["slug"] == "stand-up"
    assert data["access_level"] == "public"
    assert data["is_administrable"] is False
    claims = verify(data["livekit"]["token"])
    assert claims.video.room == "stand-up"
    assert not claims.video.room_admin
    assert claims.attributes["room_role"] == ""


def test_unregistered_rooms_have_no_lobby_or_actions(testapp_with):
    client = testapp_with(UNREGISTERED)
    client.post_json("/api/v1.0/rooms/stand-up/request-entry/", {"username": "x"}, status=404)
    client.get("/api/v1.0/rooms/stand-up/waiting-participants/", status=404)


def test_registered_rooms_still_win(testapp_with, cast):
    data = testapp_with(UNREGISTERED).get("/api/v1.0/rooms/team-room/").json
    assert data["id"] == str(cast.room.id)


def test_reserved_names_are_not_unregistered_rooms(testapp_with):
    client = testapp_with(UNREGISTERED)
    client.get("/api/v1.0/rooms/webhooks-livekit/", status=405)
    client.get("/api/v1.0/rooms/admin/", status=404)


def test_connection_test_is_off_by_default(testapp):
    testapp.post("/api/v1.0/diagnostics/connection/", status=404)


@pytest.mark.parametrize("actor", ACTORS)
def test_connection_test_token(testapp_with, cast, verify, actor):
    client = testapp_with(DIAGNOSTICS)
    client.login_as(cast[actor])
    data = client.post("/api/v1.0/diagnostics/connection/").json["livekit"]
    claims = verify(data["token"])
    assert data["room"].startswith("connection-test-")
    assert claims.video.room == data["room"]
    assert claims.name == "Connection Test"
    assert not claims.video.room_admin
    assert data["expires_in"] == 300


def test_connection_test_refuses_get(testapp_with):
    testapp_with(DIAGNOSTICS).get("/api/v1.0/diagnostics/connection/", status=405)


def test_connection_test_is_rate_limited(testapp_with):
    client = testapp_with(DIAGNOSTICS)
    for _ in range(30):
        client.post("/api/v1.0/diagnostics/connection/", status=200)
    client.post("/api/v1.0/diagnostics/connection/", status=429)

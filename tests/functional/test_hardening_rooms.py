"""With `rooms.allow_unregistered` on, no spelling of a registered room's id or slug
reaches the unregistered-room fallback: its LiveKit room is named by the slug, and a
slug equal to a registered room's id would join that meeting without its lobby."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
from livekit import api

UNREGISTERED = {"rooms.allow_unregistered": "true"}


@pytest.fixture
def client(testapp_with):
    return testapp_with(UNREGISTERED)


@pytest.mark.parametrize(
    "spelling",
    [
        "{id}!",
        "{id}.",
        " {id}",
        "{ID}.",
        "{hex}!",  # the id without dashes
        "urn-uuid-{id}",
        "meet-{hex}",
    ],
)
def test_a_near_spelling_of_a_room_id_is_not_an_unregistered_room(
    client, restricted, livekit, spelling
):
    key = spelling.format(id=restricted.id, ID=str(restricted.id).upper(), hex=restricted.id.hex)
    res = client.get(f"/api/v1.0/rooms/{quote(key)}/", status=404)
    assert "livekit" not in res.json
    assert "detail" in res.json


def test_an_unknown_uuid_is_not_an_unregistered_room(client):
    client.get(f"/api/v1.0/rooms/{uuid.uuid4()}/", status=404)
    client.get(f"/api/v1.0/rooms/{uuid.uuid4()}!/", status=404)


def test_the_room_itself_still_answers_with_its_rules(client, restricted):
    """Its id (as `uuid.UUID` reads ids) or slug is the registered room, lobby and all:
    no token for strangers."""
    keys = (str(restricted.id), restricted.id.hex, f"{restricted.id}-", "Team Room")
    for key in (*keys, restricted.slug):
        data = client.get(f"/api/v1.0/rooms/{quote(key)}/").json
        assert data["id"] == str(restricted.id)
        assert "livekit" not in data


def test_connection_test_rooms_are_not_unregistered_rooms(client):
    client.get(f"/api/v1.0/rooms/connection-test-{uuid.uuid4().hex[:8]}/", status=404)


def test_ordinary_unregistered_rooms_still_work(client, livekit):
    data = client.get("/api/v1.0/rooms/Daily Stand-up 2/").json
    assert data["slug"] == "daily-stand-up-2"
    claims = api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(data["livekit"]["token"])
    assert claims.video.room == "daily-stand-up-2"

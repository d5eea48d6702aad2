"""POST /api/v1.0/rooms/{id}/start-subtitle/ (reference §2.2): a LiveKit token for the
room dispatches the transcription agent once, through the LiveKit fake."""

from datetime import timedelta

import pytest

from meet_web.services.livekit import LiveKitGateway
from tests.conftest import app_service, make_room

ON = {"subtitles.enabled": "true"}


def url(room) -> str:
    return f"/api/v1.0/rooms/{room.id}/start-subtitle/"


def token_for(app, room, identity="guest-1", ttl=timedelta(hours=1)) -> dict:
    token = app_service(app, LiveKitGateway).token(
        room=str(room.id),
        identity=identity,
        name="Guest",
        role=None,
        sources=[],
        is_authenticated=False,
        ttl=ttl,
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def room(dbsession):
    return make_room(dbsession, "Subtitled")


@pytest.fixture
def subtitles_app(testapp_with):
    return testapp_with(ON)


def test_starting_creates_one_dispatch(subtitles_app, app, room, livekit):
    res = subtitles_app.post_json(url(room), {}, headers=token_for(app, room), status=200)
    assert res.json == {"status": "success"}
    [call] = livekit.calls_to("CreateDispatch")
    assert call.request.room == str(room.id)
    assert call.request.agent_name == "multi-user-transcriber"
    [dispatch] = livekit.agent_dispatches(str(room.id))
    assert dispatch.agent_name == "multi-user-transcriber"


def test_starting_again_creates_none(subtitles_app, app, room, livekit):
    subtitles_app.post_json(url(room), {}, headers=token_for(app, room, "a"), status=200)
    subtitles_app.post_json(url(room), {}, headers=token_for(app, room, "b"), status=200)
    assert len(livekit.calls_to("CreateDispatch")) == 1
    assert len(livekit.calls_to("ListDispatch")) == 2
    assert len(livekit.agent_dispatches(str(room.id))) == 1


def test_another_agents_dispatch_does_not_count(testapp_with, subtitles_app, app, room, livekit):
    other = testapp_with({**ON, "subtitles.agent_name": "another-agent"})
    other.post_json(url(room), {}, headers=token_for(app, room), status=200)
    subtitles_app.post_json(url(room), {}, headers=token_for(app, room), status=200)
    names = sorted(d.agent_name for d in livekit.agent_dispatches(str(room.id)))
    assert names == ["another-agent", "multi-user-transcriber"]


def test_the_agent_name_comes_from_the_settings(testapp_with, app, room, livekit):
    named = testapp_with({**ON, "subtitles.agent_name": "captioner"})
    named.post_json(url(room), {}, headers=token_for(app, room), status=200)
    [dispatch] = livekit.agent_dispatches(str(room.id))
    assert dispatch.agent_name == "captioner"


def test_disabled_is_not_found(testapp, app, room, livekit):
    res = testapp.post_json(url(room), {}, headers=token_for(app, room), status=404)
    assert res.json == {"detail": "Subtitles are not enabled."}
    assert livekit.calls_to("ListDispatch") == []
    assert livekit.agent_dispatches() == []


@pytest.mark.parametrize("method", ["ListDispatch", "CreateDispatch"])
def test_a_livekit_failure_is_a_502(subtitles_app, app, room, livekit, method):
    livekit.fail(method, "internal")
    res = subtitles_app.post_json(url(room), {}, headers=token_for(app, room), status=502)
    assert res.json == {"error": f"Subtitles failed to start for room {room.slug}"}
    assert livekit.agent_dispatches() == []


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer garbage"}])
def test_no_valid_token_is_refused(subtitles_app, room, livekit, headers):
    subtitles_app.post_json(url(room), {}, headers=headers, status=403)
    assert livekit.agent_dispatches() == []


def test_an_expired_token_is_refused(subtitles_app, app, room, livekit):
    headers = token_for(app, room, ttl=timedelta(seconds=-120))
    subtitles_app.post_json(url(room), {}, headers=headers, status=403)
    assert livekit.agent_dispatches() == []


def test_a_token_for_another_room_is_refused(subtitles_app, app, room, dbsession, livekit):
    other = make_room(dbsession, "Elsewhere")
    subtitles_app.post_json(url(room), {}, headers=token_for(app, other), status=403)
    assert livekit.agent_dispatches() == []


def test_an_unknown_room_is_not_found(subtitles_app, app, room, livekit):
    headers = token_for(app, room)
    subtitles_app.post_json(
        "/api/v1.0/rooms/00000000-0000-4000-8000-000000000000/start-subtitle/",
        {},
        headers=headers,
        status=404,
    )
    assert livekit.agent_dispatches() == []


def test_documented_in_openapi(testapp):
    spec = testapp.get("/api/v1.0/openapi.json").json
    operation = spec["paths"]["/api/v1.0/rooms/{id}/start-subtitle/"]["post"]
    assert "200" in operation["responses"]

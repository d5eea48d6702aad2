"""Who may ready a room for a room system's call (`POST /roomkit/join/`): only the holder
of `roomkit.api_token` (reference §2.5). A session, whatever its role on the room, and a
LiveKit token for the room count for nothing: 401. With `roomkit.enabled` off the token
holder gets 404, everyone else still 401 (the token is checked first)."""

from __future__ import annotations

import pytest

from meet_web.services.livekit import LiveKitGateway
from tests.conftest import ACTORS, ROOMKIT_TOKEN, app_service
from tests.permissions.matrix import by

URL = "/api/v1.0/roomkit/join/"
PIN = "0123456789"

JOIN = by(anonymous=401, stranger=401, member=401, administrator=401, owner=401, operator=401)
JOIN_FLAG_OFF = JOIN


@pytest.fixture
def kit_room(cast, dbsession):
    cast.room.pin_code = PIN
    dbsession.flush()
    return cast.room


@pytest.mark.parametrize("flag", ["true", "false"])
@pytest.mark.parametrize("actor", ACTORS)
def test_sessions_do_not_count(telephony_app, kit_room, cast, livekit, actor, flag):
    client = telephony_app(**{"roomkit.enabled": flag})
    client.login_as(cast[actor])
    expected = JOIN if flag == "true" else JOIN_FLAG_OFF
    res = client.post_json(URL, {"pin_code": PIN}, status=expected[actor])
    assert set(res.json) == {"detail"}
    assert livekit.dispatch_rules() == []


@pytest.mark.parametrize("flag", ["true", "false"])
@pytest.mark.parametrize("actor", ACTORS)
def test_a_livekit_token_does_not_count(telephony_app, kit_room, cast, livekit, actor, flag):
    client = telephony_app(**{"roomkit.enabled": flag})
    client.login_as(cast[actor])
    token = app_service(client.app, LiveKitGateway).token(
        room=str(kit_room.id),
        identity="room-system",
        name="Room system",
        role="owner",
        sources=["microphone"],
        is_authenticated=False,
    )
    headers = {"Authorization": f"Bearer {token}"}
    res = client.post_json(URL, {"pin_code": PIN}, headers=headers, status=401)
    assert res.json == {"detail": "Invalid token."}
    assert livekit.dispatch_rules() == []


@pytest.mark.parametrize(("flag", "status"), [("true", 200), ("false", 404)])
@pytest.mark.parametrize("actor", ACTORS)
def test_the_roomkit_token_holder(telephony_app, kit_room, cast, livekit, actor, flag, status):
    """With the token, whoever is signed in besides: the token decides."""
    client = telephony_app(**{"roomkit.enabled": flag})
    client.login_as(cast[actor])
    headers = {"Authorization": f"Bearer {ROOMKIT_TOKEN}"}
    client.post_json(URL, {"pin_code": PIN}, headers=headers, status=status)
    assert len(livekit.dispatch_rules()) == (1 if status == 200 else 0)


@pytest.mark.parametrize("actor", ACTORS)
def test_bad_input_is_refused_only_after_the_token(telephony_app, kit_room, cast, livekit, actor):
    client = telephony_app()
    client.login_as(cast[actor])
    client.post_json(URL, {"pin_code": "1"}, status=JOIN[actor])
    headers = {"Authorization": f"Bearer {ROOMKIT_TOKEN}"}
    client.post_json(URL, {"pin_code": "1"}, headers=headers, status=400)
    assert livekit.calls == []


def test_other_methods_are_405(telephony_app):
    client = telephony_app()
    headers = {"Authorization": f"Bearer {ROOMKIT_TOKEN}"}
    client.get(URL, headers=headers, status=405)

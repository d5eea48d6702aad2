"""POST /api/v1.0/roomkit/join/ (reference §2.5): a room system's server, with its bearer
token, readies a room for its call by the room's PIN (the room's dispatch rule).

In the reference's order: 401 (no, malformed, wrong or unconfigured token), 404 with the
flag off, 429 past the rate, 400 for the body, 404 for an unknown PIN; a LiveKit failure
is a 502 (503 unreachable). A refused request creates no rule and calls no LiveKit."""

from __future__ import annotations

import pytest

from tests.api_checks import BAD_BODIES, assert_bad_body, assert_error
from tests.conftest import ROOMKIT_TOKEN, make_room

URL = "/api/v1.0/roomkit/join/"
PIN = "0123456789"
AUTH = {"Authorization": f"Bearer {ROOMKIT_TOKEN}"}


@pytest.fixture
def room(dbsession, user):
    return make_room(dbsession, "Kit Room", user, pin_code=PIN)


@pytest.fixture
def client(telephony_app):
    return telephony_app()


def join(client, body, *, headers=AUTH, status=200):
    return client.post_json(URL, body, headers=headers, status=status)


def assert_untouched(livekit):
    assert livekit.dispatch_rules() == []
    assert livekit.calls == []


def test_join_makes_the_rooms_rule(client, livekit, room):
    assert join(client, {"pin_code": PIN}).json == {"status": "success"}
    (rule,) = livekit.dispatch_rules()
    assert rule.name == f"SIP_{room.id}"
    assert rule.rule.dispatch_rule_direct.room_name == f"phone-lobby-{room.id}"
    assert rule.rule.dispatch_rule_direct.pin == PIN


def test_join_is_idempotent(client, livekit, room):
    for _ in range(3):
        join(client, {"pin_code": PIN})
    assert len(livekit.dispatch_rules()) == 1


def test_roomkit_works_without_telephony(testapp_with, livekit, room):
    client = testapp_with({"roomkit.enabled": "true", "roomkit.api_token": ROOMKIT_TOKEN})
    join(client, {"pin_code": PIN})
    assert len(livekit.dispatch_rules()) == 1


# -- the token ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Authentication credentials were not provided."),
        ("", "Authentication credentials were not provided."),
        (ROOMKIT_TOKEN, "Invalid authorization header."),
        (f"Token {ROOMKIT_TOKEN}", "Invalid authorization header."),
        (f"bearer {ROOMKIT_TOKEN}", "Invalid authorization header."),
        ("Bearer", "Invalid authorization header."),
        ("Bearer ", "Invalid authorization header."),
        (f"Bearer {ROOMKIT_TOKEN} extra", "Invalid authorization header."),
        ("Bearer not-the-token", "Invalid token."),
        (f"Bearer {ROOMKIT_TOKEN[:-1]}", "Invalid token."),
        (f"Bearer {ROOMKIT_TOKEN}x", "Invalid token."),
        ("Bearer é", "Invalid token."),
    ],
)
def test_a_bad_token_is_a_401(client, livekit, room, header, message):
    headers = {} if header is None else {"Authorization": header}
    res = join(client, {"pin_code": PIN}, headers=headers, status=401)
    assert assert_error(res, 401) == {"detail": message}
    assert res.headers["WWW-Authenticate"] == "Bearer"
    assert_untouched(livekit)


def test_an_unconfigured_token_refuses_everyone(telephony_app, livekit, room):
    client = telephony_app(**{"roomkit.api_token": ""})
    res = join(client, {"pin_code": PIN}, headers={"Authorization": "Bearer "}, status=401)
    res = join(client, {"pin_code": PIN}, headers={"Authorization": "Bearer x"}, status=401)
    assert res.json == {"detail": "Roomkit is not configured."}
    assert_untouched(livekit)


def test_the_token_is_checked_before_the_flag(telephony_app, livekit, room):
    client = telephony_app(**{"roomkit.enabled": "false"})
    join(client, {"pin_code": PIN}, headers={}, status=401)
    res = join(client, {"pin_code": PIN}, status=404)
    assert res.json == {"detail": "Not found."}
    assert_untouched(livekit)


# -- the body and the room ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "This field is required."),
        ({"pin": PIN}, "This field is required."),
        ({"pin_code": ""}, "This field may not be blank."),
        ({"pin_code": "012345678"}, "Ensure this field has at least 10 characters."),
        ({"pin_code": "01234567890"}, "Ensure this field has no more than 10 characters."),
        ({"pin_code": 123456789}, "Not a valid string."),
        ({"pin_code": None}, "Not a valid string."),
        ({"pin_code": [PIN]}, "Not a valid string."),
    ],
)
def test_a_bad_pin_is_a_400(client, livekit, room, body, message):
    res = join(client, body, status=400)
    assert assert_error(res, 400, "pin_code") == {"pin_code": [message]}
    assert_untouched(livekit)


@pytest.mark.parametrize(("body", "content_type", "message"), BAD_BODIES)
def test_a_body_that_is_no_object_is_a_400(client, livekit, room, body, content_type, message):
    res = client.post(URL, body, headers={**AUTH, "Content-Type": content_type}, expect_errors=True)
    assert_bad_body(res, message)
    assert_untouched(livekit)


def test_the_pin_length_is_the_settings(telephony_app, livekit, dbsession, user):
    make_room(dbsession, "Short Pin", user, pin_code="123456")
    client = telephony_app(**{"telephony.pin_length": "6"})
    join(client, {"pin_code": PIN}, status=400)
    join(client, {"pin_code": "123456"})


def test_an_unknown_pin_is_a_404(client, livekit, room):
    res = join(client, {"pin_code": "9999999999"}, status=404)
    assert assert_error(res, 404) == {"detail": "No room found for this PIN code."}
    assert_untouched(livekit)


def test_a_pin_of_a_deleted_room_is_a_404(client, livekit, room, dbsession):
    dbsession.delete(room)
    dbsession.flush()
    join(client, {"pin_code": PIN}, status=404)
    assert_untouched(livekit)


# -- LiveKit, the rate ------------------------------------------------------------------


def test_a_sip_failure_is_a_502(client, livekit, room):
    livekit.fail("CreateSIPDispatchRule", "internal")
    res = join(client, {"pin_code": PIN}, status=502)
    assert set(assert_error(res, 502, key="error")) == {"error"}
    assert livekit.dispatch_rules() == []


def test_livekit_unreachable_is_a_503(client, livekit, room):
    livekit.fail("ListSIPDispatchRule", "unavailable")
    res = join(client, {"pin_code": PIN}, status=503)
    assert "error" in res.json


def test_the_rate_is_limited_per_address(telephony_app, livekit, room):
    client = telephony_app(**{"roomkit.rate_limit": "2"})
    join(client, {"pin_code": PIN})
    join(client, {"pin_code": PIN})
    res = join(client, {"pin_code": PIN}, status=429)
    assert res.headers["Retry-After"] == "60"
    other = {"REMOTE_ADDR": "192.0.2.7"}
    client.post_json(URL, {"pin_code": PIN}, headers=AUTH, extra_environ=other, status=200)

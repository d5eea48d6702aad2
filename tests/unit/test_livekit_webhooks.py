"""Webhook verification without livekit-api's WebhookReceiver: the same signatures are
refused, and the fields routing reads are those of the protobuf event it parses; the
whole event is parsed only for handlers."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import warnings
from datetime import timedelta

import jwt
import pytest
from livekit import api

from meet_web.services.livekit import InvalidWebhook, LiveKitGateway
from meet_web.services.webhooks import (
    EXPIRY_LEEWAY,
    NO_EXPIRY_WINDOW,
    WebhookRouter,
    replay_window,
)
from tests.servers.livekit_fake import DEFAULT_API_KEY as KEY
from tests.servers.livekit_fake import DEFAULT_API_SECRET as SECRET
from tests.servers.livekit_fake import event, offline_gateway, sign_webhook, webhook_request

OTHER_SECRET = "another-secret-that-is-long-enough-0123456789"


@pytest.fixture
def gateway() -> LiveKitGateway:
    return offline_gateway(KEY, SECRET)


def digest(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def signed(claims: dict, *, secret: str = SECRET, algorithm: str = "HS256") -> str:
    now = int(time.time())
    with warnings.catch_warnings():  # PyJWT finds our secret short for HS512
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode({"iss": KEY, "nbf": now, "exp": now + 300, **claims}, secret, algorithm)


def reference(body: bytes, token: str) -> api.WebhookEvent | None:
    """livekit-api's answer: the event, or None when it refuses the webhook."""
    receiver = api.WebhookReceiver(api.TokenVerifier(KEY, SECRET))
    try:
        return receiver.receive(body.decode("utf-8"), token)
    except Exception:
        return None


def agrees_with_livekit_api(gateway, body: bytes, token: str) -> bool:
    expected = reference(body, token)
    try:
        delivery = gateway.receive_webhook(body, token)
    except InvalidWebhook:
        return expected is None
    if expected is None:  # refused only when the whole event is parsed
        with pytest.raises(InvalidWebhook):
            delivery.parse()
        return True
    room_name = expected.room.name or expected.egress_info.room_name
    read = (delivery.event, delivery.id, delivery.room_name)
    assert read == (expected.event, expected.id, room_name)
    assert delivery.parse() == expected
    return True


# -- the signature --------------------------------------------------------------------

BODY = b'{"event": "room_started", "id": "EV_1", "room": {"name": "standup"}}'


def tokens() -> dict[str, str]:
    """Signatures made now (a session outlives a token's nbf or leeway)."""
    now = int(time.time())
    return {
        "valid": signed({"sha256": digest(BODY)}),
        "another secret": signed({"sha256": digest(BODY)}, secret=OTHER_SECRET),
        "another issuer": signed({"sha256": digest(BODY), "iss": "another-key"}),
        "no issuer": jwt.encode({"exp": now + 300, "sha256": digest(BODY)}, SECRET, "HS256"),
        "expired": signed({"sha256": digest(BODY), "exp": now - 120}),
        "expired within the leeway": signed({"sha256": digest(BODY), "exp": now - 30}),
        "not yet valid": signed({"sha256": digest(BODY), "nbf": now + 120}),
        "soon valid": signed({"sha256": digest(BODY), "nbf": now + 30}),
        "no expiry": jwt.encode({"iss": KEY, "sha256": digest(BODY)}, SECRET, "HS256"),
        "an expiry in a string": signed({"sha256": digest(BODY), "exp": str(now + 300)}),
        "an audience": signed({"sha256": digest(BODY), "aud": "someone"}),
        "HS512": signed({"sha256": digest(BODY)}, algorithm="HS512"),
        "unsigned": jwt.encode(
            {"iss": KEY, "exp": now + 300, "sha256": digest(BODY)}, None, "none"
        ),
        "no hash": signed({}),
        "an empty hash": signed({"sha256": ""}),
        "another body's hash": signed({"sha256": digest(BODY + b" ")}),
        "a hash not in base64": signed({"sha256": "not base64!"}),
        "a hash with junk": signed({"sha256": "!" + digest(BODY)}),  # b64decode skips junk
        "a hash that is a number": signed({"sha256": 5}),
        "a hash that is a list": signed({"sha256": [digest(BODY)]}),
        "a participant token": signed({"sub": "alice", "video": {"roomJoin": True}}),
        "garbage": "garbage",
        "three dots": "a.b.c",
        "empty": "",
    }


@pytest.mark.parametrize("name", tokens())
def test_the_signature_is_checked_as_livekit_api_checks_it(gateway, name):
    assert agrees_with_livekit_api(gateway, BODY, tokens()[name])


@pytest.mark.parametrize(
    "name", ["another issuer", "no issuer", "expired", "not yet valid", "no expiry", "HS512"]
)
def test_refused_signatures(gateway, name):
    with pytest.raises(InvalidWebhook):
        gateway.receive_webhook(BODY, tokens()[name])


def test_a_bearer_prefix_is_tolerated(gateway):
    assert gateway.receive_webhook(BODY, "Bearer " + tokens()["valid"]).id == "EV_1"


def test_a_livekit_api_signature_is_accepted(gateway):
    body, headers = webhook_request(event("participant_joined", room="r", identity="alice"))
    delivery = gateway.receive_webhook(body, headers["Authorization"])
    assert (delivery.event, delivery.room_name) == ("participant_joined", "r")
    assert delivery.parse().participant.identity == "alice"


def test_the_expiry_comes_from_the_signature(gateway):
    expires = int(time.time()) + 200
    token = signed({"sha256": digest(BODY), "exp": expires})
    assert gateway.receive_webhook(BODY, token).expires == expires


# -- the body -------------------------------------------------------------------------

BODIES = {
    "an egress": json.dumps(
        {"event": "egress_ended", "id": "EV_2", "egressInfo": {"roomName": "r1"}}
    ),
    "snake_case names": json.dumps(
        {"event": "egress_ended", "egress_info": {"room_name": "r2"}, "id": "EV_3"}
    ),
    "both names": json.dumps(
        {"event": "egress_ended", "egressInfo": {"roomName": "a"}, "egress_info": {"x": 1}}
    ),
    "both names inside": json.dumps(
        {"event": "egress_ended", "egressInfo": {"roomName": "a", "room_name": "b"}}
    ),
    "room and egress": json.dumps(
        {"event": "egress_ended", "room": {"name": "a"}, "egressInfo": {"roomName": "b"}}
    ),
    "an empty room name": json.dumps(
        {"event": "egress_ended", "room": {"name": ""}, "egressInfo": {"roomName": "b"}}
    ),
    "nulls": json.dumps({"event": None, "id": None, "room": None, "egressInfo": None}),
    "a null room name": json.dumps({"event": "room_started", "room": {"name": None}}),
    "no fields": "{}",
    "unknown fields": json.dumps({"event": "room_started", "someNewField": {"a": [1]}}),
    "an unknown event": json.dumps({"event": "participant_connection_aborted"}),
    "a number for a string": json.dumps({"event": 5}),
    "a boolean for a string": json.dumps({"event": "room_started", "id": True}),
    "a string for a message": json.dumps({"event": "room_started", "room": "x"}),
    "a list for a message": json.dumps({"event": "room_started", "room": []}),
    "a number for a message": json.dumps({"event": "room_started", "room": 5}),
    "a list": "[]",
    "a list of names": '["event"]',
    "a string": '"abc"',
    "a number": "5",
    "null": "null",
    "a lone surrogate": '{"event": "room_started", "room": {"name": "\\ud800"}}',
    "a paired surrogate": '{"event": "room_started", "room": {"name": "\\ud83d\\ude00"}}',
    "non-ASCII": json.dumps({"event": "room_started", "room": {"name": "Zoë"}}),
    "NaN elsewhere": '{"event": "room_started", "someNewField": NaN}',
    "a duplicated key": '{"event": "room_started", "event": "room_finished"}',
    "an invalid field elsewhere": json.dumps({"event": "room_started", "participant": 5}),
    "an unknown enum": json.dumps({"event": "track_published", "track": {"type": "HOLO"}}),
    "spaces around": ' {"event": "room_started"} \n',
    "not JSON": "not json",
    "empty": "",
}


@pytest.mark.parametrize("text", BODIES.values(), ids=BODIES.keys())
def test_the_body_reads_as_livekit_api_parses_it(gateway, text):
    body = text.encode()
    assert agrees_with_livekit_api(gateway, body, sign_webhook(body))


@pytest.mark.parametrize("body", [b"\xff\xfe not utf-8", b"not json", b"", b"{", b"5"])
def test_unreadable_bodies_are_refused_at_once(gateway, body):
    with pytest.raises(InvalidWebhook):
        gateway.receive_webhook(body, sign_webhook(body))


def test_the_room_name_of_an_egress_event(gateway):
    for name in ("an egress", "snake_case names"):
        body = BODIES[name].encode()
        assert gateway.receive_webhook(body, sign_webhook(body)).room_name in ("r1", "r2")


def test_what_routing_does_not_read_is_checked_by_parse(gateway):
    body = BODIES["an invalid field elsewhere"].encode()
    delivery = gateway.receive_webhook(body, sign_webhook(body))
    assert delivery.event == "room_started"
    with pytest.raises(InvalidWebhook):
        delivery.parse()


def test_the_event_is_parsed_once(gateway):
    body, headers = webhook_request(event("room_finished", room="r"))
    delivery = gateway.receive_webhook(body, headers["Authorization"])
    assert delivery.parse() is delivery.parse()


# -- the router -----------------------------------------------------------------------


def test_the_event_is_parsed_only_for_a_handler(gateway):
    """A body protobuf refuses shows when the router parses it."""
    body = json.dumps({"event": "track_published", "participant": 5}).encode()
    delivery = gateway.receive_webhook(body, sign_webhook(body))
    router = WebhookRouter()
    router.register("room_finished", lambda event, request: None)
    assert not router.handles("track_published")
    assert router.dispatch(delivery, None) == 0
    router.register("track_published", lambda event, request: None)
    assert router.handles("track_published")
    with pytest.raises(InvalidWebhook):
        router.dispatch(delivery, None)


def test_handlers_get_the_protobuf_event(gateway):
    body, headers = webhook_request(event("egress_ended", egress="EG_1", room="r"))
    seen: list = []
    router = WebhookRouter()
    router.register("egress_ended", lambda event, request: seen.append(event))
    router.register("egress_ended", lambda event, request: seen.append(event))
    assert router.dispatch(gateway.receive_webhook(body, headers["Authorization"]), None) == 2
    assert isinstance(seen[0], api.WebhookEvent)
    assert seen[0].egress_info.room_name == "r"
    assert seen[0] is seen[1]


# -- the replay window ----------------------------------------------------------------


def test_the_replay_window_lasts_while_the_signature_verifies():
    expires = time.time() + 300
    assert 300 + EXPIRY_LEEWAY - 1 <= replay_window(expires) <= 300 + EXPIRY_LEEWAY
    assert replay_window(int(expires)) <= 300 + EXPIRY_LEEWAY
    assert replay_window(time.time() - 3600) == 1.0


@pytest.mark.parametrize("expires", [None, "1234567890", [1]])
def test_a_signature_without_a_numeric_expiry_is_remembered_ten_minutes(expires):
    assert replay_window(expires) == NO_EXPIRY_WINDOW == timedelta(minutes=10).total_seconds()

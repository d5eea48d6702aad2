"""The LiveKit gateway (reference §4, §7.2): tokens, colours, verification, webhooks
and the sync facade over the server API, against the loopback LiveKit fake."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from datetime import timedelta

import jwt
import pytest
from livekit import api

from meet_web.services.livekit import (
    TOKEN_TTL,
    InvalidToken,
    InvalidWebhook,
    LiveKitConfig,
    LiveKitError,
    LiveKitGateway,
    LiveKitNotFound,
    LiveKitUnavailable,
    participant_color,
)
from meet_web.settings import load_settings
from tests.servers.livekit_fake import unused_url

DEFAULTS = ("camera", "microphone", "screen_share", "screen_share_audio")
OTHER_SECRET = "another-secret-that-is-long-enough-0123456789"


def make_config(server, **overrides) -> LiveKitConfig:
    fields = {
        "url": server.url,
        "public_url": "wss://media.example.org",
        "api_key": server.api_key,
        "api_secret": server.api_secret,
        "timeout": 5.0,
        "default_sources": DEFAULTS,
        "webhook_filter": None,
    }
    return LiveKitConfig(**{**fields, **overrides})


@pytest.fixture
def gateway(livekit) -> LiveKitGateway:
    return LiveKitGateway(make_config(livekit))


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def mint(gateway, **kw) -> str:
    fields = {
        "room": "4b4a0f64-3a52-4c5b-a8a8-1d1b9c1b2c3d",
        "identity": "alice-id",
        "name": "Alice",
        "role": None,
        "sources": list(DEFAULTS),
        "is_authenticated": False,
    }
    return gateway.token(**{**fields, **kw})


# -- tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "room_admin"),
    [(None, False), ("member", False), ("administrator", True), ("owner", True)],
)
def test_token_grants_by_role(gateway, role, room_admin):
    token = mint(gateway, role=role, sources=gateway.publish_sources(role, None))
    video = claims_of(token)["video"]
    assert video == {
        "roomJoin": True,
        "room": "4b4a0f64-3a52-4c5b-a8a8-1d1b9c1b2c3d",
        "roomAdmin": room_admin,
        "canUpdateOwnMetadata": False,
        "canSubscribe": True,
        "canPublish": True,
        "canPublishData": True,
        "canPublishSources": list(DEFAULTS),
    }, "no other grant (no hidden, recorder, roomCreate...)"


@pytest.mark.parametrize("role", ["administrator", "owner"])
@pytest.mark.parametrize(
    "configuration",
    [None, {}, {"can_publish_sources": []}, {"can_publish_sources": ["camera"]}],
)
def test_admins_always_publish_the_default_sources(gateway, role, configuration):
    assert gateway.publish_sources(role, configuration) == list(DEFAULTS)


@pytest.mark.parametrize("role", [None, "member"])
@pytest.mark.parametrize(
    ("configuration", "sources"),
    [
        (None, list(DEFAULTS)),
        ({}, list(DEFAULTS)),
        ({"can_publish_sources": None}, list(DEFAULTS)),
        ({"everyone_can_mute": False}, list(DEFAULTS)),
        ({"can_publish_sources": ["microphone"]}, ["microphone"]),
        ({"can_publish_sources": ["camera", "screen_share"]}, ["camera", "screen_share"]),
        ({"can_publish_sources": []}, []),
    ],
)
def test_others_publish_what_the_room_allows(gateway, role, configuration, sources):
    assert gateway.publish_sources(role, configuration) == sources


def test_default_sources_come_from_the_configuration(livekit):
    gateway = LiveKitGateway(make_config(livekit, default_sources=("microphone",)))
    assert gateway.publish_sources("owner", {"can_publish_sources": ["camera"]}) == ["microphone"]
    assert gateway.publish_sources(None, {}) == ["microphone"]


def test_an_empty_source_list_means_no_publishing(gateway):
    video = claims_of(mint(gateway, sources=[]))["video"]
    assert video["canPublish"] is False
    assert video["canPublishSources"] == []
    assert video["canSubscribe"] is True


def test_token_identity_name_and_attributes(gateway):
    token = mint(gateway, identity="guest-1", name="Guest One", role=None)
    claims = claims_of(token)
    assert claims["sub"] == "guest-1"
    assert claims["name"] == "Guest One"
    assert claims["iss"] == gateway.config.api_key
    assert claims["attributes"] == {
        "color": participant_color("guest-1"),
        "room_role": "",
        "is_authenticated": "false",
    }


@pytest.mark.parametrize("role", ["member", "administrator", "owner"])
def test_token_attributes_for_a_signed_in_user(gateway, role):
    token = mint(gateway, role=role, is_authenticated=True, color="hsl(1, 50%, 50%)")
    assert claims_of(token)["attributes"] == {
        "color": "hsl(1, 50%, 50%)",
        "room_role": role,
        "is_authenticated": "true",
    }


def test_token_lives_six_hours_from_now(gateway):
    before = int(time.time())
    claims = claims_of(mint(gateway))
    after = int(time.time())
    assert timedelta(hours=6) == TOKEN_TTL
    assert claims["exp"] - claims["nbf"] == 6 * 3600
    assert before <= claims["nbf"] <= after


def test_token_verifies_with_the_api_secret(gateway, livekit):
    token = mint(gateway)
    claims = api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(token)
    assert claims.identity == "alice-id"
    with pytest.raises(jwt.InvalidSignatureError):
        api.TokenVerifier(livekit.api_key, OTHER_SECRET).verify(token)


def test_a_minted_token_is_accepted_by_livekit(gateway, livekit):
    """The fake checks tokens as LiveKit does: the /rtc stub verifies it."""
    room = "4b4a0f64-3a52-4c5b-a8a8-1d1b9c1b2c3d"
    conn = livekit.record_rtc("/rtc", {"access_token": mint(gateway)}, None, websocket=False)
    assert conn.claims is not None
    assert conn.claims.video.room == room


# -- colours --------------------------------------------------------------------------


def reference_color(identity: str) -> str:
    """The reference's algorithm, written independently: low 16 bits of the SHA-1
    digest seed Python's Mersenne Twister; hue, saturation, lightness in that order."""
    seed = int(hashlib.sha1(identity.encode("utf-8")).hexdigest(), 16) & 0xFFFF
    state = random.getstate()
    try:
        random.seed(seed)
        hue, sat, light = random.randint(0, 360), random.randint(50, 75), random.randint(25, 60)
    finally:
        random.setstate(state)
    return f"hsl({hue}, {sat}%, {light}%)"


IDENTITIES = [
    "alice",
    "0b6f0f57-2b29-4a0b-9f3d-3d1a4f8f6d11",
    "",
    "Zoë Ünïcode",
    "x" * 300,
]


@pytest.mark.parametrize("identity", IDENTITIES)
def test_color_matches_the_reference_algorithm(identity):
    assert participant_color(identity) == reference_color(identity)


def test_color_is_within_the_reference_ranges():
    for n in range(300):
        color = participant_color(f"participant-{n}")
        hue, sat, light = (int(part.strip(" %")) for part in color[4:-1].split(","))
        assert 0 <= hue <= 360
        assert 50 <= sat <= 75
        assert 25 <= light <= 60
        assert color == f"hsl({hue}, {sat}%, {light}%)"


def test_color_does_not_touch_the_global_random_state():
    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    participant_color("alice")
    assert random.random() == expected


def test_color_is_the_same_in_another_process():
    script = (
        "import json, sys\n"
        "from meet_web.services.livekit import participant_color\n"
        "print(json.dumps([participant_color(i) for i in json.loads(sys.argv[1])]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(IDENTITIES)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "4242"},  # another str hash() than ours
        timeout=60,
    )
    assert json.loads(out.stdout) == [participant_color(i) for i in IDENTITIES]


# -- verification ---------------------------------------------------------------------


def test_verify_returns_the_claims(gateway):
    claims = gateway.verify(mint(gateway, identity="bob", role="member"))
    assert claims.identity == "bob"
    assert claims.video.room == "4b4a0f64-3a52-4c5b-a8a8-1d1b9c1b2c3d"
    assert claims.attributes["room_role"] == "member"


def test_verify_refuses_another_secret(livekit, gateway):
    other = LiveKitGateway(make_config(livekit, api_secret=OTHER_SECRET))
    with pytest.raises(InvalidToken):
        gateway.verify(mint(other))


def test_verify_refuses_an_expired_token(gateway):
    # the verifier allows 60 s of clock leeway, as the reference does
    token = mint(gateway, ttl=timedelta(seconds=-120))
    with pytest.raises(InvalidToken):
        gateway.verify(token)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_verify_refuses_malformed_tokens(gateway, token):
    with pytest.raises(InvalidToken):
        gateway.verify(token)


def test_verify_refuses_a_token_without_identity(gateway, livekit):
    token = api.AccessToken(livekit.api_key, livekit.api_secret).to_jwt()
    with pytest.raises(InvalidToken):
        gateway.verify(token)


# -- webhooks -------------------------------------------------------------------------


def test_receive_webhook(gateway, livekit):
    body, headers = livekit.webhook_request(livekit.event("room_started", room="standup"))
    delivery = gateway.receive_webhook(body, headers["Authorization"])
    assert delivery.event == "room_started"
    assert delivery.room_name == "standup"
    assert delivery.parse().room.name == "standup"
    assert delivery.parse().id == delivery.id
    # a "Bearer " prefix is tolerated
    assert gateway.receive_webhook(body, "Bearer " + headers["Authorization"]).id == delivery.id


def test_receive_webhook_refuses_a_tampered_body(gateway, livekit):
    body, headers = livekit.webhook_request(livekit.event("room_started", room="x"), tamper=True)
    with pytest.raises(InvalidWebhook):
        gateway.receive_webhook(body, headers["Authorization"])


def test_receive_webhook_refuses_another_secret(gateway, livekit):
    body, headers = livekit.webhook_request(
        livekit.event("room_started", room="x"), secret=OTHER_SECRET
    )
    with pytest.raises(InvalidWebhook):
        gateway.receive_webhook(body, headers["Authorization"])


@pytest.mark.parametrize("body", [b"\xff\xfe not utf-8", b"not json", b""])
def test_receive_webhook_refuses_unreadable_bodies(gateway, livekit, body):
    with pytest.raises(InvalidWebhook):
        gateway.receive_webhook(body, livekit.sign_webhook(body))


def test_receive_webhook_refuses_an_access_token(gateway, livekit):
    """A participant's token carries no body hash: it cannot sign a webhook."""
    body, _ = livekit.webhook_request(livekit.event("room_finished", room="x"))
    with pytest.raises(InvalidWebhook):
        gateway.receive_webhook(body, mint(gateway))


# -- configuration --------------------------------------------------------------------


def base_settings(**extra) -> dict:
    return load_settings(
        {
            "sqlalchemy.url": "sqlite://",
            "session.secret": "s" * 40,
            "livekit.url": "http://127.0.0.1:7880",
            "livekit.api_key": "key",
            "livekit.api_secret": "x" * 40,
            "oidc.issuer": "http://127.0.0.1:9",
            "oidc.client_id": "meet",
            "oidc.client_secret": "secret",
            **extra,
        },
        {},
    )


def test_config_from_settings():
    config = LiveKitConfig.from_settings(base_settings())
    assert config.public_url == "http://127.0.0.1:7880"
    assert config.timeout == 5.0
    assert config.default_sources == DEFAULTS
    assert config.webhook_filter is None
    config = LiveKitConfig.from_settings(
        base_settings(
            **{
                "livekit.public_url": "wss://media.example.org",
                "livekit.webhook_events_filter_regex": "^prod-",
            }
        )
    )
    assert config.public_url == "wss://media.example.org"
    assert config.webhook_filter.search("prod-room")


def test_an_invalid_filter_regex_disables_filtering(caplog):
    config = LiveKitConfig.from_settings(
        base_settings(**{"livekit.webhook_events_filter_regex": "(unclosed"})
    )
    assert config.webhook_filter is None
    assert "invalid" in caplog.text


# -- server calls ---------------------------------------------------------------------


def test_room_exists(gateway, livekit):
    livekit.add_room("standup")
    assert gateway.room_exists("standup") is True
    assert gateway.room_exists("other") is False
    assert list(livekit.calls_to("ListRooms")[-1].request.names) == ["other"]


def test_send_data(gateway, livekit):
    livekit.add_room("standup")
    gateway.send_data("standup", {"type": "participantWaiting"})
    (message,) = livekit.data_messages("standup")
    assert json.loads(message.data) == {"type": "participantWaiting"}
    assert message.kind == api.DataPacket.Kind.RELIABLE
    assert not message.topic
    assert list(message.destination_identities) == []
    (call,) = livekit.calls_to("SendData")
    assert call.claims.video.room_admin and call.claims.video.room == "standup"


def test_send_data_to_a_missing_room(gateway):
    with pytest.raises(LiveKitNotFound) as info:
        gateway.send_data("nowhere", {"type": "x"})
    assert info.value.status == 404


def test_merge_room_metadata(gateway, livekit):
    livekit.add_room("standup", metadata=json.dumps({"recording_status": "started", "a": 1}))
    gateway.merge_room_metadata("standup", {"access_level": "trusted", "a": 2})
    assert json.loads(livekit.room("standup").metadata) == {
        "recording_status": "started",
        "access_level": "trusted",
        "a": 2,
    }


@pytest.mark.parametrize("metadata", ["", "not json", "[1, 2]"])
def test_merge_room_metadata_over_unusable_metadata(gateway, livekit, metadata):
    livekit.add_room("standup", metadata=metadata)
    gateway.merge_room_metadata("standup", {"access_level": "public"})
    assert json.loads(livekit.room("standup").metadata) == {"access_level": "public"}


def test_merge_room_metadata_of_a_missing_room(gateway, livekit):
    with pytest.raises(LiveKitNotFound):
        gateway.merge_room_metadata("nowhere", {"a": 1})
    assert livekit.calls_to("UpdateRoomMetadata") == []


def test_get_participant_and_presence(gateway, livekit):
    livekit.add_participant("standup", "alice", "Alice")
    livekit.add_participant("standup", "gone", "Gone", state=api.ParticipantInfo.State.DISCONNECTED)
    livekit.add_participant("standup", "joining", "J", state=api.ParticipantInfo.State.JOINING)
    assert gateway.get_participant("standup", "alice").name == "Alice"
    assert gateway.is_connected("standup", "alice") is True
    assert gateway.is_connected("standup", "joining") is True
    assert gateway.is_connected("standup", "gone") is False
    assert gateway.is_connected("standup", "nobody") is False
    assert gateway.is_connected("no-room", "alice") is False
    with pytest.raises(LiveKitNotFound):
        gateway.get_participant("standup", "nobody")


def test_mute_track(gateway, livekit):
    info = livekit.add_participant("standup", "alice", tracks=["microphone"])
    sid = info.tracks[0].sid
    gateway.mute_track("standup", "alice", sid)
    assert livekit.participant("standup", "alice").tracks[0].muted is True
    (call,) = livekit.calls_to("MutePublishedTrack")
    assert call.request.muted is True
    with pytest.raises(LiveKitNotFound):
        gateway.mute_track("standup", "alice", "TR_unknown")


def test_update_participant_changes_only_the_given_fields(gateway, livekit):
    livekit.add_participant("standup", "alice", "Alice", metadata='{"keep": true}')
    gateway.update_participant("standup", "alice", attributes={"handRaisedAt": "now"})
    request = livekit.calls_to("UpdateParticipant")[-1].request
    assert request.metadata == "", "metadata is never sent as the string 'null'"
    assert request.name == ""
    assert not request.HasField("permission")
    participant = livekit.participant("standup", "alice")
    assert participant.metadata == '{"keep": true}'
    assert participant.name == "Alice"
    assert participant.attributes["handRaisedAt"] == "now"


def test_update_participant_with_every_field(gateway, livekit):
    livekit.add_participant("standup", "alice", "Alice")
    permission = api.ParticipantPermission(can_publish=False, can_subscribe=True)
    gateway.update_participant(
        "standup",
        "alice",
        name="Alice B.",
        metadata={"role": "speaker"},
        attributes={"a": "1"},
        permission=permission,
    )
    participant = livekit.participant("standup", "alice")
    assert participant.name == "Alice B."
    assert json.loads(participant.metadata) == {"role": "speaker"}
    assert participant.attributes["a"] == "1"
    assert participant.permission.can_publish is False
    assert participant.permission.can_subscribe is True
    gateway.update_participant("standup", "alice", metadata="raw string")
    assert livekit.participant("standup", "alice").metadata == "raw string"


def test_remove_participant(gateway, livekit):
    livekit.add_participant("standup", "alice")
    gateway.remove_participant("standup", "alice")
    assert livekit.participant("standup", "alice") is None
    with pytest.raises(LiveKitNotFound):
        gateway.remove_participant("standup", "alice")


@pytest.mark.parametrize(
    ("code", "error", "status"),
    [
        ("internal", LiveKitError, 502),
        ("unknown", LiveKitError, 502),
        ("permission_denied", LiveKitError, 502),
        ("invalid_argument", LiveKitError, 502),
        ("unavailable", LiveKitUnavailable, 503),
        ("not_found", LiveKitNotFound, 404),
    ],
)
def test_server_errors_become_domain_errors(gateway, livekit, code, error, status):
    livekit.add_participant("standup", "alice")
    livekit.fail("RemoveParticipant", code)
    with pytest.raises(error) as info:
        gateway.remove_participant("standup", "alice")
    assert type(info.value) is error
    assert info.value.status == status
    assert info.value.message


def test_unreachable_server(livekit):
    gateway = LiveKitGateway(make_config(livekit, url=unused_url()))
    started = time.monotonic()
    with pytest.raises(LiveKitUnavailable) as info:
        gateway.room_exists("standup")
    assert info.value.status == 503
    assert "unreachable" in info.value.message
    assert time.monotonic() - started < 2


def test_stopped_server(gateway, livekit):
    livekit.refuse_connections()
    with pytest.raises(LiveKitUnavailable):
        gateway.get_participant("standup", "alice")


def test_slow_server_times_out(livekit):
    gateway = LiveKitGateway(make_config(livekit, timeout=0.3))
    livekit.add_participant("standup", "alice")
    livekit.delay("GetParticipant", 3.0)
    started = time.monotonic()
    with pytest.raises(LiveKitUnavailable):
        gateway.get_participant("standup", "alice")
    assert time.monotonic() - started < 1.5


def test_a_slow_call_within_the_timeout_succeeds(livekit):
    gateway = LiveKitGateway(make_config(livekit, timeout=2.0))
    livekit.add_participant("standup", "alice")
    livekit.delay("GetParticipant", 0.2, times=1)
    assert gateway.get_participant("standup", "alice").identity == "alice"


def test_calls_work_from_a_thread_running_an_event_loop(gateway, livekit):
    """E.g. under Playwright's sync API, or an async server: asyncio.run cannot nest."""
    livekit.add_room("standup")

    async def inside_a_loop():
        return gateway.room_exists("standup"), gateway.room_exists("other")

    assert asyncio.run(inside_a_loop()) == (True, False)
    livekit.fail("ListRooms", "not_found")

    async def failing():
        gateway.room_exists("standup")

    with pytest.raises(LiveKitNotFound):
        asyncio.run(failing())

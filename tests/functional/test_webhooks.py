"""LiveKit webhooks at POST /api/v1.0/rooms/webhooks-livekit/ (reference §2.6, design:
unknown event types are accepted and ignored)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import time
import uuid

import jwt
import pytest
from livekit import api
from sqlalchemy import select

from meet_web.models import AccessLevel, User
from meet_web.services.webhooks import WebhookHandlerError, WebhookRouter
from tests.conftest import app_service
from tests.servers.livekit_fake import unused_url

URL = "/api/v1.0/rooms/webhooks-livekit/"
OTHER_SECRET = "another-secret-that-is-long-enough-0123456789"
SUCCESS = {"status": "success"}
ERROR = {"status": "error"}


@pytest.fixture
def app_with(testapp_with):
    """Another app on the test's transaction, built with some settings changed."""
    return lambda **overrides: testapp_with(overrides)


def post(client, livekit, event, *, status=200, **kw):
    body, headers = livekit.webhook_request(event, **kw)
    return client.post(URL, body, headers=headers, status=status)


def recorder(client, *kinds) -> list:
    """Events reaching the router of `client`'s app for these kinds."""
    seen: list = []
    router = app_service(client.app, WebhookRouter)
    for kind in kinds:
        router.register(kind, lambda event, _request: seen.append(event))
    return seen


# -- signature ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [
        "room_started",
        "room_finished",
        "participant_joined",
        "participant_left",
        "track_published",
        "track_unpublished",
        "egress_started",
        "egress_updated",
        "egress_ended",
        "ingress_started",
        "ingress_ended",
    ],
)
def test_valid_events_are_accepted(testapp, livekit, kind):
    room = str(uuid.uuid4())
    event = livekit.event(kind, room=room, identity="alice", egress="EG_1")
    res = post(testapp, livekit, event)
    assert res.json == SUCCESS


def test_unknown_event_types_are_accepted_and_ignored(testapp, livekit):
    res = post(testapp, livekit, {"event": "participant_connection_aborted", "room": {"name": "x"}})
    assert res.json == SUCCESS
    res = post(testapp, livekit, {"event": "", "room": {"name": "x"}})
    assert res.json == SUCCESS


def test_unknown_fields_are_ignored(testapp, livekit):
    body = b'{"event": "room_started", "room": {"name": "x"}, "someNewField": 1}'
    headers = {"Authorization": livekit.sign_webhook(body)}
    assert testapp.post(URL, body, headers=headers).json == SUCCESS


def test_missing_authorization(testapp, livekit):
    body, _ = livekit.webhook_request(livekit.event("room_started", room="x"))
    res = testapp.post(URL, body, status=401)
    assert res.json == ERROR
    res = testapp.post(URL, body, headers={"Authorization": ""}, status=401)
    assert res.json == ERROR


def test_bearer_prefix_is_tolerated(testapp, livekit):
    body, headers = livekit.webhook_request(livekit.event("room_started", room="x"))
    headers["Authorization"] = "Bearer " + headers["Authorization"]
    assert testapp.post(URL, body, headers=headers).json == SUCCESS


def test_wrong_secret(testapp, livekit):
    res = post(
        testapp, livekit, livekit.event("room_started", room="x"), secret=OTHER_SECRET, status=400
    )
    assert res.json == ERROR


def test_tampered_body(testapp, livekit):
    res = post(testapp, livekit, livekit.event("room_started", room="x"), tamper=True, status=400)
    assert res.json == ERROR


def test_reserialized_body_is_refused(testapp, livekit):
    """The hash covers the raw bytes: the same JSON spaced differently is refused."""
    body, headers = livekit.webhook_request(livekit.event("room_started", room="x"))
    testapp.post(URL, body + b" ", headers=headers, status=400)


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "Bearer"])
def test_malformed_authorization(testapp, livekit, token):
    body, _ = livekit.webhook_request(livekit.event("room_started", room="x"))
    res = testapp.post(URL, body, headers={"Authorization": token}, status=400)
    assert res.json == ERROR


def test_expired_signature(testapp, livekit):
    body, _ = livekit.webhook_request(livekit.event("room_started", room="x"))
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    token = (
        api.AccessToken(livekit.api_key, livekit.api_secret)
        .with_ttl(datetime.timedelta(seconds=-120))
        .with_sha256(digest)
        .to_jwt()
    )
    testapp.post(URL, body, headers={"Authorization": token}, status=400)


def signed(livekit, body: bytes, **claims) -> str:
    """A webhook signature with some of its claims changed (None: left out)."""
    now = int(time.time())
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    claims = {"iss": livekit.api_key, "nbf": now, "exp": now + 300, "sha256": digest, **claims}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, livekit.api_secret)


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "another-key"},
        {"iss": None},
        {"exp": None},
        {"sha256": None},
        {"sha256": "not base64!"},
        {"sha256": base64.b64encode(hashlib.sha256(b"").digest()).decode()},
    ],
    ids=["another issuer", "no issuer", "no expiry", "no hash", "not base64", "another hash"],
)
def test_a_signature_livekit_api_refuses(testapp, livekit, claims):
    body, _ = livekit.webhook_request(livekit.event("room_started", room="x"))
    res = testapp.post(
        URL, body, headers={"Authorization": signed(livekit, body, **claims)}, status=400
    )
    assert res.json == ERROR


def test_a_signature_within_the_clock_leeway(testapp, livekit):
    body, _ = livekit.webhook_request(livekit.event("room_started", room="x"))
    late = signed(livekit, body, exp=int(time.time()) - 30)
    assert testapp.post(URL, body, headers={"Authorization": late}).json == SUCCESS


def test_a_body_is_parsed_whole_only_for_a_handler(app_with, livekit):
    """Only the fields routing reads are checked when no handler needs the event."""
    client = app_with()  # shared by tests: their handlers stay registered
    seen = recorder(client, "track_published")
    ignored = b'{"event": "no_handler_anywhere", "participant": 5, "room": {"name": "r"}}'
    headers = {"Authorization": livekit.sign_webhook(ignored)}
    assert client.post(URL, ignored, headers=headers).json == SUCCESS
    handled = b'{"event": "track_published", "participant": 5, "room": {"name": "r"}}'
    headers = {"Authorization": livekit.sign_webhook(handled)}
    assert client.post(URL, handled, headers=headers, status=400).json == ERROR
    assert client.post(URL, handled, headers=headers, status=400).json == ERROR, "not claimed"
    assert seen == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"event": 5, "room": {"name": "r"}}',
        b'{"event": "room_started", "room": 5}',
        b'{"event": "room_started", "room": {"name": "\\ud800"}}',
        b"null",
    ],
)
def test_fields_routing_reads_are_checked(testapp, livekit, body):
    headers = {"Authorization": livekit.sign_webhook(body)}
    assert testapp.post(URL, body, headers=headers, status=400).json == ERROR


def test_a_participant_token_cannot_sign(testapp, livekit, cast, app):
    from meet_web.services.livekit import LiveKitGateway

    token = app_service(app, LiveKitGateway).token(
        room=str(cast.room.id),
        identity="x",
        name="x",
        role=None,
        sources=[],
        is_authenticated=False,
    )
    body, _ = livekit.webhook_request(livekit.event("room_finished", room=str(cast.room.id)))
    testapp.post(URL, body, headers={"Authorization": token}, status=400)


@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe", b""])
def test_unparsable_signed_body(testapp, livekit, body):
    res = testapp.post(URL, body, headers={"Authorization": livekit.sign_webhook(body)}, status=400)
    assert res.json == ERROR


def test_only_post(testapp):
    testapp.get(URL, status=405)


def test_a_session_is_not_needed_nor_csrf(testapp, livekit, cast):
    testapp.login_as(cast.owner)  # a signed-in browser without the CSRF header
    body, headers = livekit.webhook_request(livekit.event("room_started", room="x"))
    testapp.post(URL, body, headers={**headers, "X-CSRF-Token": "wrong"})


# -- filtering ------------------------------------------------------------------------


def test_connection_test_rooms_are_ignored(app_with, livekit):
    client = app_with()
    seen = recorder(client, "room_started", "room_finished", "egress_ended")
    post(client, livekit, livekit.event("room_started", room=f"connection-test-{uuid.uuid4()}"))
    post(client, livekit, livekit.event("egress_ended", egress="EG_1", room="connection-test-1"))
    assert seen == []
    post(client, livekit, livekit.event("room_started", room="a-connection-test"))
    assert len(seen) == 1, "only a prefix marks a connection test"


def test_filter_regex(app_with, livekit):
    client = app_with(**{"livekit.webhook_events_filter_regex": "meet-prod"})
    seen = recorder(client, "room_started", "egress_ended")
    assert post(client, livekit, livekit.event("room_started", room="other-app")).json == SUCCESS
    assert seen == []
    post(client, livekit, livekit.event("room_started", room="x-meet-prod-y"))  # search, not match
    post(client, livekit, livekit.event("egress_ended", egress="EG_1", room="meet-prod-1"))
    post(client, livekit, livekit.event("egress_ended", egress="EG_2", room="elsewhere"))
    assert [e.event for e in seen] == ["room_started", "egress_ended"]
    assert seen[1].egress_info.room_name == "meet-prod-1"


def test_filter_regex_reads_egress_rooms_under_either_name(app_with, livekit):
    client = app_with(**{"livekit.webhook_events_filter_regex": "^meet-prod"})
    seen = recorder(client, "egress_ended", "egress_updated")
    for body in (
        b'{"event": "egress_ended", "id": "EV_a", "egress_info": {"room_name": "meet-prod-1"}}',
        b'{"event": "egress_updated", "id": "EV_b", "egressInfo": {"room_name": "meet-prod-2"}}',
        b'{"event": "egress_ended", "id": "EV_c", "egress_info": {"roomName": "elsewhere"}}',
    ):
        client.post(URL, body, headers={"Authorization": livekit.sign_webhook(body)})
    assert [e.egress_info.room_name for e in seen] == ["meet-prod-1", "meet-prod-2"]


def test_filter_regex_for_uuid_rooms(app_with, livekit):
    client = app_with(**{"livekit.webhook_events_filter_regex": "^[0-9a-f]{8}-[0-9a-f]{4}-"})
    seen = recorder(client, "room_finished")
    post(client, livekit, livekit.event("room_finished", room="some-other-room"))
    post(client, livekit, livekit.event("room_finished", room=str(uuid.uuid4())))
    assert len(seen) == 1


def test_an_invalid_filter_regex_disables_filtering(app_with, livekit):
    client = app_with(**{"livekit.webhook_events_filter_regex": "(unclosed"})
    seen = recorder(client, "room_started")
    post(client, livekit, livekit.event("room_started", room="anything"))
    assert len(seen) == 1


def test_events_reach_their_handlers_only(app_with, livekit):
    client = app_with()
    started = recorder(client, "room_started")
    joined = recorder(client, "participant_joined")
    post(client, livekit, livekit.event("participant_joined", room="r", identity="alice"))
    assert started == []
    assert [e.participant.identity for e in joined] == ["alice"]


# -- room_finished and the lobby ------------------------------------------------------


def test_room_finished_clears_the_rooms_lobby(
    testapp, new_testapp, cast, dbsession, livekit, make_room_with_owner
):
    cast.room.access_level = AccessLevel.RESTRICTED
    other = make_room_with_owner
    dbsession.flush()
    rooms = f"/api/v1.0/rooms/{cast.room.id}/"
    waiting, admitted, elsewhere = new_testapp(), new_testapp(), new_testapp()
    waiting.post_json(rooms + "request-entry/", {"username": "W"})
    pid = admitted.post_json(rooms + "request-entry/", {"username": "A"}).json["id"]
    elsewhere.post_json(f"/api/v1.0/rooms/{other.id}/request-entry/", {"username": "E"})
    testapp.login_as(cast.owner)
    testapp.post_json(rooms + "enter/", {"participant_id": pid, "allow_entry": True})

    post(testapp, livekit, livekit.event("room_finished", room=str(cast.room.id)))

    assert testapp.get(rooms + "waiting-participants/").json["participants"] == []
    again = admitted.post_json(rooms + "request-entry/", {"username": "A"}).json
    assert again["status"] == "waiting", "admission ended with the meeting"
    others = testapp.get(f"/api/v1.0/rooms/{other.id}/waiting-participants/").json
    assert [p["username"] for p in others["participants"]] == ["E"]


@pytest.fixture
def make_room_with_owner(cast, dbsession):
    from tests.conftest import make_room

    return make_room(dbsession, "Other Room", cast.owner, access_level=AccessLevel.RESTRICTED)


@pytest.mark.parametrize("room", ["not-a-uuid", str(uuid.uuid4())])
def test_room_finished_for_rooms_we_do_not_know(testapp, livekit, room):
    assert post(testapp, livekit, livekit.event("room_finished", room=room)).json == SUCCESS


# -- handler failures -----------------------------------------------------------------


def test_lobby_store_down_gives_500_so_livekit_retries(app_with, livekit, cast):
    down = unused_url().replace("http://", "redis://")
    client = app_with(
        **{
            "cache.backend": "dogpile.cache.redis",
            "cache.arguments.url": down,
            "cache.arguments.distributed_lock": "true",
            "cache.arguments.thread_local_lock": "false",
        }
    )
    res = post(client, livekit, livekit.event("room_finished", room=str(cast.room.id)), status=500)
    assert res.json == ERROR
    # events without a handler do not need the store
    assert post(client, livekit, livekit.event("room_started", room="x")).json == SUCCESS


def test_a_failing_handler_gives_500(app_with, livekit):
    client = app_with()

    def fail(event, _request):
        raise WebhookHandlerError("egress bookkeeping failed")

    app_service(client.app, WebhookRouter).register("egress_ended", fail)
    res = post(client, livekit, livekit.event("egress_ended", egress="EG_1", room="r"), status=500)
    assert res.json == ERROR
    assert post(client, livekit, livekit.event("egress_started", room="r")).json == SUCCESS


# -- the handlers' transaction ----------------------------------------------------------


def write_user(sub: str):
    def handler(event, request):
        request.dbsession.add(User(sub=sub, email=f"{sub}@example.org"))
        request.dbsession.flush()

    return handler


def test_the_rows_a_handler_writes_are_committed(app_with, livekit, dbsession):
    client = app_with()
    app_service(client.app, WebhookRouter).register("room_started", write_user("from-webhook"))
    assert post(client, livekit, livekit.event("room_started", room="r")).json == SUCCESS
    assert dbsession.scalar(select(User).where(User.sub == "from-webhook")) is not None


def test_one_failing_handler_undoes_the_rows_of_the_others(app_with, livekit, dbsession):
    client = app_with()
    router = app_service(client.app, WebhookRouter)
    router.register("room_started", write_user("half-written"))

    def fail(event, _request):
        raise WebhookHandlerError("the second step failed")

    router.register("room_started", fail)
    res = post(client, livekit, livekit.event("room_started", room="r"), status=500)
    assert res.json == ERROR
    assert dbsession.scalar(select(User).where(User.sub == "half-written")) is None

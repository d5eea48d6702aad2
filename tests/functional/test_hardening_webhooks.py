"""A signed LiveKit webhook counts once: a replay of the same signed body is answered
200 (so LiveKit does not retry it) and has no effect."""

from __future__ import annotations

from meet_web.services.webhooks import WebhookHandlerError, WebhookRouter
from tests.conftest import app_service

URL = "/api/v1.0/rooms/webhooks-livekit/"
SUCCESS = {"status": "success"}


def recorder(client, kind: str) -> list:
    seen: list = []
    app_service(client.app, WebhookRouter).register(
        kind, lambda event, _request: seen.append(event)
    )
    return seen


def waiting(client, room) -> list[str]:
    res = client.get(f"/api/v1.0/rooms/{room.id}/waiting-participants/")
    return [p["username"] for p in res.json["participants"]]


def test_a_replayed_room_finished_does_not_clear_a_new_lobby(
    testapp, new_testapp, cast, restricted, livekit
):
    knock_url = f"/api/v1.0/rooms/{restricted.id}/request-entry/"
    new_testapp().post_json(knock_url, {"username": "Before"})
    body, headers = livekit.webhook_request(livekit.event("room_finished", room=str(restricted.id)))
    assert testapp.post(URL, body, headers=headers).json == SUCCESS
    testapp.login_as(cast.owner)
    assert waiting(testapp, restricted) == [], "the first delivery clears the lobby"

    new_testapp().post_json(knock_url, {"username": "After"})
    replay = testapp.post(URL, body, headers=headers, status=200)
    assert replay.json == SUCCESS
    assert waiting(testapp, restricted) == ["After"], "the replay changed nothing"


def test_a_replay_reaches_no_handler(testapp_with, livekit):
    client = testapp_with({})
    seen = recorder(client, "track_published")
    event = livekit.event("track_published", room="r", identity="alice")
    body, headers = livekit.webhook_request(event)
    for _ in range(3):
        assert client.post(URL, body, headers=headers).json == SUCCESS
    assert len(seen) == 1
    other = livekit.event("track_published", room="r", identity="alice")  # another id
    body, headers = livekit.webhook_request(other)
    client.post(URL, body, headers=headers)
    assert len(seen) == 2


def test_events_without_an_id_are_known_by_their_body(testapp_with, livekit):
    client = testapp_with({})
    seen = recorder(client, "track_unpublished")
    body = b'{"event": "track_unpublished", "room": {"name": "no-id"}}'
    client.post(URL, body, headers={"Authorization": livekit.sign_webhook(body)})
    client.post(URL, body, headers={"Authorization": livekit.sign_webhook(body)})
    assert len(seen) == 1, "a fresh signature on the same body is still a replay"
    other = b'{"event": "track_unpublished", "room": {"name": "no-id-2"}}'
    client.post(URL, other, headers={"Authorization": livekit.sign_webhook(other)})
    assert len(seen) == 2


def test_a_failed_event_may_be_retried(testapp_with, livekit):
    """A 500 asks LiveKit to retry: the retry must run the handlers again."""
    client = testapp_with({})
    calls: list = []

    def flaky(event, _request):
        calls.append(event)
        if len(calls) == 1:
            raise WebhookHandlerError("not now")

    app_service(client.app, WebhookRouter).register("ingress_ended", flaky)
    body, headers = livekit.webhook_request(livekit.event("ingress_ended", room="r"))
    client.post(URL, body, headers=headers, status=500)
    assert client.post(URL, body, headers=headers).json == SUCCESS
    assert len(calls) == 2
    assert client.post(URL, body, headers=headers).json == SUCCESS
    assert len(calls) == 2, "once it succeeded, a replay is ignored"

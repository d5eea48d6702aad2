"""The legacy bucket-notification hook, POST /api/v1.0/recordings/storage-hook/
(reference §5.4): off by default, behind its bearer token; with it on, the bucket's
notification completes a recording and egress_ended does not."""

from __future__ import annotations

import json

import pytest
from livekit import api

from meet_web.models import Recording, RecordingStatus
from tests.api_checks import UUID, assert_error
from tests.conftest import make_recording

HOOK = "/api/v1.0/recordings/storage-hook/"
TOKEN = "storage-event-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def minio_event(key: str, content_type: str = "video/mp4", bucket="meet-media-storage") -> dict:
    return {
        "EventName": "s3:ObjectCreated:Put",
        "Records": [
            {
                "s3": {
                    "bucket": {"name": bucket},
                    "object": {"key": key, "contentType": content_type},
                }
            }
        ],
    }


@pytest.fixture
def hook_app(recording_app):
    return recording_app(
        **{"recording.storage_event_enabled": "true", "recording.storage_event_token": TOKEN}
    )


@pytest.fixture
def active(dbsession, cast):
    return make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="active")


def status_of(dbsession, recording) -> str:
    dbsession.expire_all()
    return str(dbsession.get(Recording, recording.id).status)


def post(client, body, headers=AUTH, status=200):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        HOOK, data, headers={"Content-Type": "application/json", **headers}, status=status
    )


def test_minio_notification_completes_and_mails(hook_app, dbsession, active, smtp):
    res = post(hook_app, minio_event(f"recordings%2F{active.id}.mp4"))
    assert res.json == {"message": "Event processed."}
    assert status_of(dbsession, active) == "notification_succeeded"
    smtp.wait_for(1)
    # again: already saved
    res = post(hook_app, minio_event(f"recordings%2F{active.id}.mp4"), status=403)
    assert "cannot be saved" in assert_error(res, 403)["detail"]


def test_s3_parser(recording_app, dbsession, active, smtp):
    client = recording_app(
        **{
            "recording.storage_event_enabled": "true",
            "recording.storage_event_token": TOKEN,
            "recording.storage_event_parser": "s3",
        }
    )
    event = minio_event(f"archive/recordings/{active.id}.mp4", content_type="")
    post(client, event)
    assert status_of(dbsession, active) == "notification_succeeded"


def test_off_by_default(recording_app, dbsession, active):
    client = recording_app(**{"recording.storage_event_token": TOKEN})
    assert_error(post(client, minio_event(f"recordings%2F{active.id}.mp4"), status=404), 404)
    assert status_of(dbsession, active) == "active"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
def test_token_required(hook_app, dbsession, active, headers):
    res = post(hook_app, minio_event(f"recordings%2F{active.id}.mp4"), headers=headers, status=401)
    assert_error(res, 401)
    assert status_of(dbsession, active) == "active"


def test_token_check_can_be_turned_off(recording_app, dbsession, active):
    client = recording_app(
        **{"recording.storage_event_enabled": "true", "recording.storage_event_auth": "false"}
    )
    post(client, minio_event(f"recordings%2F{active.id}.mp4"), headers={})
    assert status_of(dbsession, active) != "active"


@pytest.mark.parametrize(
    ("body", "status", "answer"),
    [
        (b"", 403, {"detail": "Invalid request data."}),
        (b"{", 403, {"detail": "Invalid request data."}),
        ({"Records": []}, 403, {"detail": "Invalid request data."}),
        (
            {"Records": [{"s3": {"bucket": {"name": 1}, "object": {"key": "x"}}}]},
            403,
            {"detail": "Invalid request data."},
        ),
        (
            minio_event("recordings%2Fx.mp4", bucket="other"),
            403,
            {"detail": "Invalid bucket specified."},
        ),
        (minio_event("recordings%2Fnot-an-id.mp4"), 200, {"message": "Notification ignored."}),
        (
            minio_event(f"recordings%2F{UUID}.mp4", "text/plain"),
            200,
            {"message": "Notification ignored."},
        ),
        (minio_event(f"recordings/{UUID}.mp4"), 200, {"message": "Notification ignored."}),
        (
            minio_event(f"recordings%2F{UUID}.mp4"),
            404,
            {"detail": "No recording found for this event."},
        ),
    ],
)
def test_bad_notifications(hook_app, dbsession, active, body, status, answer):
    assert post(hook_app, body, status=status).json == answer
    assert status_of(dbsession, active) == "active"


def test_egress_ended_leaves_completion_to_the_hook(hook_app, cast, dbsession, livekit, smtp):
    egress = livekit.add_egress(str(cast.room.id), status=api.EGRESS_COMPLETE)
    recording = make_recording(
        dbsession, cast.room, {cast.owner: "owner"}, status="active", worker_id=egress.egress_id
    )
    body, headers = livekit.webhook_request(livekit.event("egress_ended", egress=egress.egress_id))
    hook_app.post("/api/v1.0/rooms/webhooks-livekit/", body, headers=headers, status=200)
    assert status_of(dbsession, recording) == RecordingStatus.ACTIVE
    post(hook_app, minio_event(f"recordings%2F{recording.id}.mp4"))
    assert status_of(dbsession, recording) == "notification_succeeded"

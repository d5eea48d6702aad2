"""The summary service's callback, POST /api/v1.0/recordings/external-process-hook/
(reference §5.5): behind its bearer token, always 200 once authenticated and valid."""

from __future__ import annotations

import pytest

from meet_web.models import Recording
from tests.api_checks import assert_error
from tests.conftest import make_recording

HOOK = "/api/v1.0/recordings/external-process-hook/"
TOKEN = "summary-webhook-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(recording_app):
    return recording_app(**{"summary.webhook_api_token": TOKEN})


@pytest.fixture
def processing(dbsession, cast):
    return make_recording(
        dbsession,
        cast.room,
        {cast.owner: "owner"},
        status="notification_succeeded",
        external_process_id="job-1",
    )


def status_of(dbsession, recording) -> str:
    dbsession.expire_all()
    return str(dbsession.get(Recording, recording.id).status)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("success", "external_process_successful"),
        ("failure", "external_process_failed"),
        ("pending", "notification_succeeded"),
    ],
)
def test_transcript_outcomes(client, dbsession, processing, outcome, expected):
    body = {"job_id": "job-1", "type": "transcript", "status": outcome}
    res = client.post_json(HOOK, body, headers=AUTH, status=200)
    assert res.json == {"message": "Event processed."}
    assert status_of(dbsession, processing) == expected


def test_other_types_and_unknown_jobs_change_nothing(client, dbsession, processing):
    client.post_json(
        HOOK, {"job_id": "job-1", "type": "summary", "status": "success"}, headers=AUTH, status=200
    )
    client.post_json(
        HOOK,
        {"job_id": "job-2", "type": "transcript", "status": "success"},
        headers=AUTH,
        status=200,
    )
    assert status_of(dbsession, processing) == "notification_succeeded"


def test_job_id_required(client, dbsession, processing):
    res = client.post_json(HOOK, {"type": "transcript"}, headers=AUTH, status=400)
    assert assert_error(res, 400, "job_id")["job_id"] == ["This field is required."]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}])
def test_token(client, dbsession, processing, headers):
    body = {"job_id": "job-1", "type": "transcript", "status": "success"}
    assert_error(client.post_json(HOOK, body, headers=headers, status=401), 401)
    assert status_of(dbsession, processing) == "notification_succeeded"


def test_not_configured(recording_app, dbsession, processing):
    body = {"job_id": "job-1", "type": "transcript", "status": "success"}
    res = recording_app().post_json(HOOK, body, headers=AUTH, status=401)
    assert res.json == {"detail": "The summary service webhook is not configured."}

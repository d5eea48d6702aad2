"""The summary-service call (reference §5.3, the v2 payload; issue 10 item 2): a saved
transcript, or a screen recording with `options.transcribe`, is posted to the service
after completion, against a loopback HTTP server the tests start (it records what it
receives, and can refuse, answer nonsense or stall). The owners' mail goes out whatever
the service does; `notification_succeeded` only when both went well."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from livekit import api

from meet_web.models import Recording, RecordingAccess, RecordingStatus
from meet_web.recording import Recordings
from meet_web.recording.lifecycle import egress_times
from meet_web.recording.summary import Times, title_of
from meet_web.scripts.resend_notifications import resend_saved
from meet_web.settings import SettingsError, load_settings
from tests.conftest import RECORDINGS_BUCKET, app_service, make_recording
from tests.servers.smtp import closed_port

WEBHOOK = "/api/v1.0/rooms/webhooks-livekit/"
HOOK = "/api/v1.0/recordings/external-process-hook/"
TOKEN = "summary-api-token-0123456789"
CALLBACK_TOKEN = "summary-webhook-token-0123456789"
# 2026-07-14 21:30 UTC: 23:30 in Paris, 17:30 in New York
STARTED = datetime(2026, 7, 14, 21, 30, tzinfo=UTC)
ENDED = datetime(2026, 7, 14, 22, 15, tzinfo=UTC)


class SummaryServer:
    """A summary service on loopback: records every request; answers as told."""

    def __init__(self):
        self.received: list[dict] = []
        self.answer: tuple[int, bytes] = (200, b"{}")
        self.stall = threading.Event()  # set: requests wait until it is cleared
        self.released = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                server.received.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                )
                if server.stall.is_set():
                    server.released.wait(10)
                status, payload = server.answer
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_port}/api/v2/async-jobs/transcribe"

    def answers(self, status: int, body) -> None:
        self.answer = (status, body if isinstance(body, bytes) else json.dumps(body).encode())

    def reset(self) -> None:
        self.released.set()
        self.received.clear()
        self.stall.clear()
        self.released.clear()
        self.answers(200, {"job_id": f"job-{uuid.uuid4()}"})


@pytest.fixture(scope="module")
def summary_server():
    server = SummaryServer()
    server.thread.start()
    yield server
    server.released.set()
    server.http.shutdown()
    server.http.server_close()


@pytest.fixture
def summary(summary_server):
    summary_server.reset()
    yield summary_server
    summary_server.reset()


def summary_settings(summary: SummaryServer, **extra) -> dict:
    return {
        "summary.enabled": "true",
        "summary.endpoint": summary.url,
        "summary.api_token": TOKEN,
        "summary.timeout": "1",
        "summary.webhook_api_token": CALLBACK_TOKEN,
        **extra,
    }


@pytest.fixture
def client(recording_app, summary):
    return recording_app(**summary_settings(summary))


def saved_egress(livekit, room, recording) -> api.EgressInfo:
    """An egress of `recording` that ended well, with its file's start and end times."""
    egress = livekit.add_egress(str(room.id), status=api.EGRESS_COMPLETE)
    info = api.EgressInfo()
    info.CopyFrom(egress)
    info.room_composite.file_outputs.add(
        filepath=f"recordings/{recording.id}.{recording.extension}"
    )
    info.file_results.add(
        filename=f"recordings/{recording.id}.{recording.extension}",
        started_at=int(STARTED.timestamp() * 1e9),
        ended_at=int(ENDED.timestamp() * 1e9),
    )
    return info


def complete(client, livekit, room, recording, status=200):
    event = livekit.event("egress_ended", egress=saved_egress(livekit, room, recording))
    body, headers = livekit.webhook_request(event)
    return client.post(WEBHOOK, body, headers=headers, status=status)


def reloaded(dbsession, recording) -> Recording:
    dbsession.expire_all()
    return dbsession.get(Recording, recording.id)


def transcript_of(dbsession, cast, **fields) -> Recording:
    fields.setdefault("mode", "transcript")
    return make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="active", **fields)


# -- the call ---------------------------------------------------------------------------------


def test_a_saved_transcript_goes_to_the_service(
    client, cast, dbsession, livekit, smtp, summary, s3
):
    cast.owner.language, cast.owner.timezone = "en-us", "America/New_York"
    dbsession.flush()
    summary.answers(200, {"job_id": "job-42", "status": "pending"})
    recording = transcript_of(dbsession, cast)
    complete(client, livekit, cast.room, recording)

    [call] = summary.received
    assert call["path"] == "/api/v2/async-jobs/transcribe"
    assert call["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert call["headers"]["Content-Type"] == "application/json"
    body = call["json"]
    storage_url = body.pop("cloud_storage_url")
    # as written with a plain space (recent CLDR data put a narrow no-break one before PM)
    title = body["push_to_docs_config"]["title"]
    body["push_to_docs_config"]["title"] = title.replace("\u202f", " ")
    assert body == {
        "user_sub": cast.owner.sub,
        "user_email": cast.owner.email,
        "language": "en",
        "context_language": "en-us",
        "push_to_docs_config": {
            "user_email": cast.owner.email,
            "title": 'Meeting "Team Room" on July 14, 2026 at 5:30 PM',
            "download_link": f"http://localhost/recordings/{recording.id}",
            "form_link": None,
            "auto_create_summary": False,
        },
        "metadata": None,
    }
    # a presigned GET of the object, for a day, that the store honours
    parts = urlsplit(storage_url)
    assert storage_url.startswith(
        f"{s3.endpoint_url}/{RECORDINGS_BUCKET}/recordings/{recording.id}.ogg?"
    )
    assert parse_qs(parts.query)["X-Amz-Expires"] == ["86400"]
    store = s3.client()
    store.put_object(
        Bucket=RECORDINGS_BUCKET, Key=f"recordings/{recording.id}.ogg", Body=b"OggS audio"
    )
    store.close()
    assert requests.get(storage_url, timeout=5).content == b"OggS audio"

    done = reloaded(dbsession, recording)
    assert done.external_process_id == "job-42"
    assert done.status == RecordingStatus.NOTIFICATION_SUCCEEDED
    assert done.notified_at is not None
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == [cast.owner.email]


def test_the_recording_language_and_the_owner_locale(
    client, cast, dbsession, livekit, smtp, summary
):
    cast.owner.language, cast.owner.timezone = "fr-fr", "Europe/Paris"
    dbsession.flush()
    recording = transcript_of(dbsession, cast, options={"language": "de"})
    complete(client, livekit, cast.room, recording)
    [call] = summary.received
    assert call["json"]["language"] == "de"
    assert call["json"]["context_language"] == "fr-fr"
    title = call["json"]["push_to_docs_config"]["title"]
    assert "Team Room" in title and "14 juillet 2026" in title and "23:30" in title


def test_the_first_owner_is_the_one_the_job_is_for(client, cast, dbsession, livekit, smtp, summary):
    recording = make_recording(
        dbsession, cast.room, {cast.member: "administrator"}, status="active", mode="transcript"
    )
    recording.accesses += [
        RecordingAccess(user_id=cast.owner.id, role="owner", created_at=ENDED),
        RecordingAccess(user_id=cast.administrator.id, role="owner", created_at=STARTED),
    ]
    dbsession.flush()
    complete(client, livekit, cast.room, recording)
    [call] = summary.received
    assert call["json"]["user_sub"] == cast.administrator.sub
    assert len(smtp.wait_for(2)) == 2  # both owners are mailed


def test_auto_create_summary_setting(recording_app, cast, dbsession, livekit, smtp, summary):
    client = recording_app(**summary_settings(summary, **{"summary.auto_create_summary": "true"}))
    complete(client, livekit, cast.room, transcript_of(dbsession, cast))
    [call] = summary.received
    assert call["json"]["push_to_docs_config"]["auto_create_summary"] is True


@pytest.mark.parametrize(
    ("options", "sent"),
    [({"transcribe": True}, True), ({"transcribe": False}, False), ({}, False)],
)
def test_screen_recordings_go_only_when_transcribed(
    client, cast, dbsession, livekit, smtp, summary, options, sent
):
    recording = transcript_of(dbsession, cast, mode="screen_recording", options=options)
    complete(client, livekit, cast.room, recording)
    assert len(summary.received) == int(sent)
    if sent:
        assert ".mp4?" in summary.received[0]["json"]["cloud_storage_url"]
    assert reloaded(dbsession, recording).status == RecordingStatus.NOTIFICATION_SUCCEEDED
    smtp.wait_for(1)


def test_off_by_default(recording_app, cast, dbsession, livekit, smtp, summary):
    recording = transcript_of(dbsession, cast)
    complete(recording_app(), livekit, cast.room, recording)
    assert summary.received == []
    done = reloaded(dbsession, recording)
    assert done.status == RecordingStatus.NOTIFICATION_SUCCEEDED
    assert done.external_process_id is None
    smtp.wait_for(1)


def test_the_callback_then_moves_it_on(client, cast, dbsession, livekit, smtp, summary):
    summary.answers(200, {"job_id": "job-7"})
    recording = transcript_of(dbsession, cast)
    complete(client, livekit, cast.room, recording)
    client.post_json(
        HOOK,
        {"job_id": "job-7", "type": "transcript", "status": "success"},
        headers={"Authorization": f"Bearer {CALLBACK_TOKEN}"},
        status=200,
    )
    assert reloaded(dbsession, recording).status == RecordingStatus.EXTERNAL_PROCESS_SUCCESSFUL


# -- failures: saved, and the mail goes out all the same ---------------------------------------


def assert_saved_and_mailed(dbsession, recording, smtp, connection, client):
    done = reloaded(dbsession, recording)
    assert done.status == RecordingStatus.SAVED
    assert done.external_process_id is None
    assert done.notified_at is not None
    [mail] = smtp.wait_for(1)
    assert f"http://localhost/recordings/{recording.id}" in mail.text
    # the owners were told: the resend command has nothing to mail
    from sqlalchemy.orm import Session

    def sessions():
        return Session(bind=connection, join_transaction_mode="create_savepoint")

    recordings = app_service(client.app, Recordings)
    assert resend_saved(sessions, recordings, "http://localhost/recordings") == (0, 0)
    assert len(smtp.messages()) == 1


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"detail": "boom"}),
        (401, {"detail": "Invalid token."}),
        (200, {"status": "pending"}),  # no job id
        (200, {"job_id": 12}),
        (200, {"job_id": ""}),
        (200, b"<html>not json</html>"),
        (200, [1, 2]),
    ],
)
def test_a_refusal_or_nonsense_leaves_it_saved(
    client, cast, dbsession, connection, livekit, smtp, summary, caplog, status, body
):
    summary.answers(status, body)
    recording = transcript_of(dbsession, cast)
    complete(client, livekit, cast.room, recording)
    assert len(summary.received) == 1
    assert "not sent to the summary service" in caplog.text
    assert_saved_and_mailed(dbsession, recording, smtp, connection, client)


def test_a_stalled_service_times_out(
    recording_app, cast, dbsession, connection, livekit, smtp, summary, caplog
):
    client = recording_app(**summary_settings(summary, **{"summary.timeout": "0.5"}))
    summary.stall.set()
    recording = transcript_of(dbsession, cast)
    began = time.monotonic()
    complete(client, livekit, cast.room, recording)
    assert time.monotonic() - began < 5
    assert "did not answer in 0.5 s" in caplog.text
    assert_saved_and_mailed(dbsession, recording, smtp, connection, client)


def test_an_unreachable_service(
    recording_app, cast, dbsession, connection, livekit, smtp, summary, caplog
):
    endpoint = f"http://127.0.0.1:{closed_port()}/jobs"
    client = recording_app(**summary_settings(summary, **{"summary.endpoint": endpoint}))
    recording = transcript_of(dbsession, cast)
    complete(client, livekit, cast.room, recording)
    assert "cannot be reached" in caplog.text
    assert_saved_and_mailed(dbsession, recording, smtp, connection, client)


def test_a_job_id_another_recording_holds(
    client, cast, dbsession, connection, livekit, smtp, summary, caplog
):
    make_recording(
        dbsession,
        cast.room,
        {cast.owner: "owner"},
        status="external_process_successful",
        external_process_id="job-dup",
        notified_at=STARTED,
    )
    summary.answers(200, {"job_id": "job-dup"})
    recording = transcript_of(dbsession, cast)
    complete(client, livekit, cast.room, recording)
    assert "which another recording holds" in caplog.text
    assert_saved_and_mailed(dbsession, recording, smtp, connection, client)


def test_smtp_down_and_the_service_up(
    recording_app, cast, dbsession, connection, livekit, smtp, summary
):
    """The job is handed over; the mail is owed still, and the resend command sends it
    (once), the status staying where the summary service's callback put it."""
    from sqlalchemy.orm import Session

    down = recording_app(**summary_settings(summary, **{"mail.port": str(closed_port())}))
    summary.answers(200, {"job_id": "job-9"})
    recording = transcript_of(dbsession, cast)
    complete(down, livekit, cast.room, recording)
    done = reloaded(dbsession, recording)
    assert (done.status, done.external_process_id, done.notified_at) == ("saved", "job-9", None)
    down.post_json(
        HOOK,
        {"job_id": "job-9", "type": "transcript", "status": "success"},
        headers={"Authorization": f"Bearer {CALLBACK_TOKEN}"},
        status=200,
    )

    def sessions():
        return Session(bind=connection, join_transaction_mode="create_savepoint")

    up = app_service(recording_app(**summary_settings(summary)).app, Recordings)
    assert resend_saved(sessions, up, "http://localhost/recordings") == (1, 0)
    smtp.wait_for(1)
    done = reloaded(dbsession, recording)
    assert done.status == RecordingStatus.EXTERNAL_PROCESS_SUCCESSFUL
    assert done.notified_at is not None
    assert resend_saved(sessions, up, "http://localhost/recordings") == (0, 0)
    assert len(smtp.messages()) == 1
    assert len(summary.received) == 1  # the service is not called again


def test_a_recording_without_owner_is_not_sent(client, cast, dbsession, livekit, smtp, summary):
    recording = make_recording(
        dbsession, cast.room, {cast.member: "member"}, status="active", mode="transcript"
    )
    complete(client, livekit, cast.room, recording)
    assert summary.received == []
    assert reloaded(dbsession, recording).status == RecordingStatus.SAVED


# -- pieces ----------------------------------------------------------------------------------


def test_times_from_the_egress():
    info = api.EgressInfo(started_at=1_000_000_000, ended_at=2_000_000_000)
    assert egress_times(info) == Times(
        datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC),
        datetime(1970, 1, 1, 0, 0, 2, tzinfo=UTC),
        duration_seconds=1,
    )
    info.file_results.add(started_at=5_000_000_000, ended_at=0)
    assert egress_times(info).started_at == datetime(1970, 1, 1, 0, 0, 5, tzinfo=UTC)
    assert egress_times(info).ended_at == datetime(1970, 1, 1, 0, 0, 2, tzinfo=UTC)
    assert egress_times(info).duration_seconds is None  # ends before it starts
    info.file_results[0].duration = 61_400_000_000
    assert egress_times(info).duration_seconds == 61
    assert egress_times(api.EgressInfo()) == Times()
    assert egress_times(None) == Times()


def test_a_title_without_times(cast):
    assert title_of("Team Room", cast.owner, None) == "Transcription"


@pytest.mark.parametrize(
    ("ini", "problem"),
    [
        (
            {"summary.enabled": "true"},
            "summary.endpoint and summary.api_token are required with summary.enabled",
        ),
        (
            {"summary.enabled": "true", "summary.endpoint": "http://x"},
            "summary.endpoint and summary.api_token are required with summary.enabled",
        ),
        ({"summary.timeout": "0"}, "summary.timeout must be more than 0 seconds"),
    ],
)
def test_settings_checked_at_start_up(settings, ini, problem):
    with pytest.raises(SettingsError) as exc:
        load_settings({**settings, **ini}, {})
    assert exc.value.problems == [problem]

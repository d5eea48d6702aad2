"""Recordings when the parts around them fail (issue 10, "Faults"): LiveKit slow or down
at start, stop and while its webhooks arrive; the S3 store down while a recording is
played, shared or deleted; the SMTP relay refusing or stalling when a recording
completes. Each answer says what happened (a JSON error or a page, with a status that
tells the truth), every row keeps a true status and its owner, and no mail is lost: the
resend command delivers it once the relay is back.

Faults come from the real parts: the LiveKit fake's `fail` and `delay`, ports nobody
listens on, a relay that refuses (aiosmtpd) and a socket that never answers.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
from livekit import api
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meet_web.db import utcnow
from meet_web.models import Recording, RecordingAccess, RecordingShareLink, RecordingStatus
from meet_web.recording import RecordingConfig, Recordings, RecordingStorage
from meet_web.recording.maintenance import RecordingMaintenance
from meet_web.scripts.resend_notifications import resend_saved
from tests.conftest import app_service, make_recording, put_object, stored_keys
from tests.functional.test_recordings import (
    deliver,
    eventually,
    recordings_of,
    room_metadata,
    start_url,
    stop_url,
)
from tests.functional.test_recordings_maintenance import LATER
from tests.servers.livekit_fake import unused_url
from tests.servers.smtp import closed_port

FAILED_TO_START = {"error": "Recording failed to start for room team-room"}
FAILED_TO_STOP = {"error": "Recording failed to stop for room team-room"}
STORE_DOWN = "The recording store cannot be reached; try again in a few seconds."
LINKS = "http://localhost/recordings"


MEDIA = b"\x00\x00\x00\x18ftypmp42 media"


def owner_accesses(dbsession, recording_ids) -> int:
    return dbsession.scalar(
        select(func.count())
        .select_from(RecordingAccess)
        .where(RecordingAccess.recording_id.in_(recording_ids), RecordingAccess.role == "owner")
    )


def reread(dbsession, recording: Recording | uuid.UUID) -> Recording | None:
    """The recording as the database now has it (None once deleted)."""
    recording_id = recording if isinstance(recording, uuid.UUID) else recording.id
    dbsession.expire_all()
    return dbsession.get(Recording, recording_id)


def sessions_on(connection):
    return lambda: Session(bind=connection, join_transaction_mode="create_savepoint")


def resend(connection, recording_app, app=None) -> tuple[int, int]:
    """What the resend command does (sent, still owed) with `app`'s relay, by default
    the working SMTP server."""
    recordings = app_service((app or recording_app()).app, Recordings)
    return resend_saved(sessions_on(connection), recordings, LINKS)


@pytest.fixture
def slow_livekit(recording_app, cast, livekit):
    """The owner, signed in on an app that gives LiveKit 0.3 s per call; the room live."""
    livekit.add_room(str(cast.room.id))
    client = recording_app(**{"livekit.timeout": "0.3"})
    client.login_as(cast.owner)
    return client


@pytest.fixture
def completing(recording_app, cast, dbsession, livekit):
    """`completing(client)`: an active recording of the cast's room, owned by the owner
    and by the administrator, whose egress has just completed; delivers its
    `egress_ended` to `client` and returns (recording, the event)."""

    def deliver_ended(client, status: int = 200):
        egress = livekit.add_egress(str(cast.room.id), status=api.EGRESS_COMPLETE)
        recording = make_recording(
            dbsession,
            cast.room,
            {cast.owner: "owner", cast.administrator: "owner"},
            status="active",
            worker_id=egress.egress_id,
        )
        event = livekit.event("egress_ended", egress=egress.egress_id)
        deliver(client, livekit, event, status=status)
        return recording, event

    return deliver_ended


@pytest.fixture
def silent_relay() -> Iterator[int]:
    """The port of an SMTP relay that takes the connection and never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # the kernel completes handshakes; nothing ever answers
        yield sock.getsockname()[1]


# -- LiveKit slow or down ------------------------------------------------------------------------


def test_livekit_slow_at_start(slow_livekit, cast, dbsession, livekit, s3, smtp):
    """The start gives up after `livekit.timeout` with a 502, the row says it failed and
    the room is free; the egress LiveKit starts later is stopped, its end saves nothing
    and mails nobody, and deleting the failed recording removes what it wrote."""
    livekit.delay("StartRoomCompositeEgress", 2.0, times=1)
    began = time.monotonic()
    res = slow_livekit.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=502)
    assert time.monotonic() - began < 1.5  # it did not wait for LiveKit
    assert res.content_type == "application/json"
    assert res.json == FAILED_TO_START
    [failed] = recordings_of(dbsession, cast.room)
    assert (failed.status, failed.worker_id) == (RecordingStatus.FAILED_TO_START, None)
    assert owner_accesses(dbsession, [failed.id]) == 1
    assert "recording_status" not in room_metadata(livekit, cast.room)

    # the room is free at once, while LiveKit is still busy with the first start
    slow_livekit.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)
    failed, started = recordings_of(dbsession, cast.room)
    assert started.status == RecordingStatus.ACTIVE

    # LiveKit started the first one after all: stopped at its first news, then it ends
    def late_egresses():
        egresses = livekit.egresses(str(cast.room.id))
        return [egress for egress in egresses if egress.egress_id != started.worker_id]

    [late] = eventually(late_egresses)
    assert late.room_composite.file_outputs[0].filepath == f"recordings/{failed.id}.mp4"
    livekit.set_egress_status(late.egress_id, api.EGRESS_ACTIVE)
    deliver(slow_livekit, livekit, livekit.event("egress_updated", egress=late.egress_id))
    assert livekit.egress(late.egress_id).status == api.EGRESS_ENDING
    put_object(s3, f"recordings/{failed.id}.mp4", MEDIA)  # what it wrote before it stopped
    livekit.set_egress_status(late.egress_id, api.EGRESS_COMPLETE)
    deliver(slow_livekit, livekit, livekit.event("egress_ended", egress=late.egress_id))
    assert reread(dbsession, failed).status == RecordingStatus.FAILED_TO_START
    assert reread(dbsession, started).status == RecordingStatus.ACTIVE
    assert smtp.messages() == []
    # the room still shows the recording under way, the second one
    assert room_metadata(livekit, cast.room)["recording_status"] == "starting"

    # a failed recording is final: its owner deletes it, and its object goes too
    slow_livekit.delete(f"/api/v1.0/recordings/{failed.id}/", status=204)
    assert set(stored_keys(s3)) == set()


def test_livekit_slow_at_stop_then_the_egress_completes(
    slow_livekit, cast, dbsession, livekit, smtp
):
    """A stop that times out answers 500 and says failed_to_stop; LiveKit stopped the
    egress anyway, and its completion saves the recording and mails the owner."""
    slow_livekit.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)
    [recording] = recordings_of(dbsession, cast.room)
    livekit.delay("StopEgress", 1.0, times=1)
    res = slow_livekit.post_json(stop_url(cast.room), {}, status=500)
    assert res.content_type == "application/json"
    assert res.json == FAILED_TO_STOP
    assert reread(dbsession, recording).status == RecordingStatus.FAILED_TO_STOP
    assert eventually(lambda: livekit.egress(recording.worker_id).status == api.EGRESS_ENDING)

    livekit.set_egress_status(recording.worker_id, api.EGRESS_COMPLETE)
    deliver(slow_livekit, livekit, livekit.event("egress_ended", egress=recording.worker_id))
    done = reread(dbsession, recording)
    assert done.status == RecordingStatus.NOTIFICATION_SUCCEEDED
    assert done.notified_at is not None
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == [cast.owner.email]


def test_the_late_news_of_a_recording_that_failed_to_stop(
    slow_livekit, cast, dbsession, livekit, smtp
):
    """Its stop timed out, and the room was recorded again meanwhile: the first
    egress's news saves the first recording and leaves the room's state to the second."""
    slow_livekit.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)
    [first] = recordings_of(dbsession, cast.room)
    livekit.delay("StopEgress", 1.0, times=1)
    slow_livekit.post_json(stop_url(cast.room), {}, status=500)
    slow_livekit.post_json(start_url(cast.room), {"mode": "transcript"}, status=201)
    first, second = recordings_of(dbsession, cast.room)
    assert (first.status, second.status) == ("failed_to_stop", "active")
    livekit.set_egress_status(second.worker_id, api.EGRESS_ACTIVE)
    deliver(slow_livekit, livekit, livekit.event("egress_updated", egress=second.worker_id))
    shown = {"recording_mode": "transcript", "recording_status": "started"}
    assert room_metadata(livekit, cast.room) == shown

    assert eventually(lambda: livekit.egress(first.worker_id).status == api.EGRESS_ENDING)
    deliver(slow_livekit, livekit, livekit.event("egress_updated", egress=first.worker_id))
    assert room_metadata(livekit, cast.room) == shown
    livekit.set_egress_status(first.worker_id, api.EGRESS_COMPLETE)
    deliver(slow_livekit, livekit, livekit.event("egress_ended", egress=first.worker_id))
    assert room_metadata(livekit, cast.room) == shown
    assert reread(dbsession, first).status == RecordingStatus.NOTIFICATION_SUCCEEDED
    assert reread(dbsession, second).status == RecordingStatus.ACTIVE
    smtp.wait_for(1)

    # the second one's own end clears it
    livekit.set_egress_status(second.worker_id, api.EGRESS_COMPLETE)
    deliver(slow_livekit, livekit, livekit.event("egress_ended", egress=second.worker_id))
    assert "recording_status" not in room_metadata(livekit, cast.room)


def test_livekit_slow_to_take_the_room_metadata_at_start(slow_livekit, cast, dbsession, livekit):
    """The metadata is written after the commit: LiveKit slow to take it delays the
    answer by `livekit.timeout` at most, and the recording is under way."""
    livekit.delay("UpdateRoomMetadata", 2.0, times=1)
    began = time.monotonic()
    slow_livekit.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)
    assert time.monotonic() - began < 1.5
    [recording] = recordings_of(dbsession, cast.room)
    assert recording.status == RecordingStatus.ACTIVE
    assert recording.worker_id == livekit.egresses(str(cast.room.id))[0].egress_id


def test_livekit_down_while_its_webhooks_arrive(recording_app, cast, dbsession, livekit, smtp):
    """Webhooks are checked with the shared secret, not by asking LiveKit: with LiveKit
    unreachable the updates are answered and the completion saves and mails."""
    down = recording_app(**{"livekit.url": unused_url()})
    egress = livekit.add_egress(str(cast.room.id), status=api.EGRESS_ACTIVE)
    recording = make_recording(
        dbsession, cast.room, {cast.owner: "owner"}, status="active", worker_id=egress.egress_id
    )
    deliver(down, livekit, livekit.event("egress_updated", egress=egress.egress_id))
    assert reread(dbsession, recording).status == RecordingStatus.ACTIVE
    livekit.set_egress_status(egress.egress_id, api.EGRESS_COMPLETE)
    deliver(down, livekit, livekit.event("egress_ended", egress=egress.egress_id))
    assert reread(dbsession, recording).status == RecordingStatus.NOTIFICATION_SUCCEEDED
    [mail] = smtp.wait_for(1)
    assert f"{LINKS}/{recording.id}" in mail.text


def test_livekit_down_at_a_limit_keeps_the_recording_for_the_retry(
    recording_app, cast, dbsession, livekit, smtp
):
    """The limit notice cannot reach the room: 500, so that LiveKit delivers the event
    again; nothing was written meanwhile, and the retry completes it."""
    down = recording_app(**{"livekit.url": unused_url()})
    egress = livekit.add_egress(str(cast.room.id), status=api.EGRESS_LIMIT_REACHED)
    recording = make_recording(
        dbsession, cast.room, {cast.owner: "owner"}, status="active", worker_id=egress.egress_id
    )
    event = livekit.event("egress_ended", egress=egress.egress_id)
    deliver(down, livekit, event, status=500)
    assert reread(dbsession, recording).status == RecordingStatus.ACTIVE
    assert smtp.messages() == []
    deliver(recording_app(), livekit, event)  # LiveKit is back, and retries
    assert reread(dbsession, recording).status == RecordingStatus.NOTIFICATION_SUCCEEDED
    assert [m.rcpt_tos for m in smtp.wait_for(1)] == [[cast.owner.email]]
    [notice] = livekit.data_messages(str(cast.room.id))
    assert json.loads(notice.data) == {"type": "screenRecordingLimitReached"}


# -- S3 down ---------------------------------------------------------------------------------------


@pytest.fixture
def down_store_app(recording_app):
    """`down_store_app()`: a client of an app whose store is a port nobody listens on."""
    endpoint = unused_url()
    return lambda: recording_app(**{"s3.endpoint_url": endpoint})


@pytest.fixture
def store_down(down_store_app, cast):
    """The owner, signed in on that app."""
    client = down_store_app()
    client.login_as(cast.owner)
    return client


@pytest.fixture
def saved(dbsession, cast, s3):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    put_object(s3, f"recordings/{recording.id}.mp4", MEDIA)
    return recording


def test_store_down_the_page_shows_and_its_media_is_a_503_page(store_down, saved, dbsession):
    page = store_down.get(f"/recordings/{saved.id}", status=200)  # the page needs no store
    assert page.html.select_one("video#recording-player") is not None
    for query in ("", "?download=1"):
        res = store_down.get(f"/recordings/{saved.id}/media{query}", status=503)
        assert res.content_type == "text/html"
        assert res.headers["Retry-After"] == "5"
        assert STORE_DOWN in res.text
    assert reread(dbsession, saved).status == RecordingStatus.SAVED


def test_store_down_for_a_share_link_holder(down_store_app, store_down, saved, dbsession):
    made = store_down.post_json(f"/api/v1.0/recordings/{saved.id}/share-links/", {}, status=201)
    shared = made.json["url"].removeprefix("http://localhost")
    holder = down_store_app()  # signed in as nobody: it has only the link
    holder.get(shared, status=200)
    res = holder.get(f"{shared}/media", status=503)
    assert res.content_type == "text/html"
    assert res.headers["Retry-After"] == "5"
    assert res.headers["Referrer-Policy"] == "no-referrer"  # the token is in the address
    assert STORE_DOWN in res.text
    dbsession.expire_all()
    [link] = dbsession.scalars(select(RecordingShareLink)).all()
    assert link.is_usable


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_store_down_on_delete_from_the_pages(
    recording_app, store_down, saved, dbsession, connection, s3, htmx
):
    """The row goes, the page says so; the object stays for the maintenance's next
    run (`meet-web-clean-recordings`), which removes it."""
    recording_id, key = saved.id, f"recordings/{saved.id}.mp4"
    store_down.get("/recordings/")
    headers = {"HX-Request": "true"} if htmx else {}
    res = store_down.post(
        f"/recordings/{saved.id}/delete",
        {"page": "1"},
        headers=headers,
        status=200 if htmx else 303,
    )
    listing = res if htmx else res.follow()
    assert "The recording has been deleted." in listing.text
    assert reread(dbsession, recording_id) is None
    assert set(stored_keys(s3)) == {key}

    app = recording_app().app
    maintenance = RecordingMaintenance(
        app_service(app, RecordingConfig),
        app_service(app, RecordingStorage),
        sessions_on(connection),
    )
    assert maintenance.clean_strays(now=utcnow() + LATER).done == [key]
    assert set(stored_keys(s3)) == set()


# -- SMTP refusing or stalled --------------------------------------------------------------------


def test_smtp_refusing_at_completion(
    recording_app, cast, dbsession, connection, livekit, smtp, completing
):
    """Saved, not notified, and the webhook answered (LiveKit need not retry); the
    resend command mails every owner once the relay takes mail again."""
    with smtp.refusing("451 4.3.0 Try again later"):
        recording, event = completing(recording_app())
        done = reread(dbsession, recording)
        assert (done.status, done.notified_at) == (RecordingStatus.SAVED, None)
        assert smtp.messages() == []
        # LiveKit's redelivery does not save it again (nor mail twice later)
        deliver(recording_app(), livekit, event)
    assert resend(connection, recording_app) == (1, 0)
    mails = smtp.wait_for(2)
    assert sorted(m.rcpt_tos[0] for m in mails) == sorted(
        [cast.owner.email, cast.administrator.email]
    )
    done = reread(dbsession, recording)
    assert done.status == RecordingStatus.NOTIFICATION_SUCCEEDED
    assert done.notified_at is not None
    assert resend(connection, recording_app) == (0, 0)  # told once


def test_smtp_stalled_at_completion(
    recording_app, dbsession, connection, smtp, completing, silent_relay
):
    """A relay that never answers holds the webhook for `mail.timeout`, no longer; the
    recording is saved, and mailed once a relay works."""
    stalled = recording_app(**{"mail.port": str(silent_relay), "mail.timeout": "0.5"})
    began = time.monotonic()
    recording, _event = completing(stalled)
    assert time.monotonic() - began < 3  # two owners, one timeout each
    done = reread(dbsession, recording)
    assert (done.status, done.notified_at) == (RecordingStatus.SAVED, None)

    # the command, still pointed at the silent relay, leaves it owed
    assert resend(connection, recording_app, stalled) == (0, 1)
    assert resend(connection, recording_app) == (1, 0)
    assert len(smtp.wait_for(2)) == 2
    assert reread(dbsession, recording).status == RecordingStatus.NOTIFICATION_SUCCEEDED


def test_smtp_down_loses_no_recording_and_no_mail(
    recording_app, cast, dbsession, connection, smtp, completing
):
    """Saved with both its owners while the relay is down, playable at once; both
    owners are mailed once it is back."""
    down = recording_app(**{"mail.port": str(closed_port())})
    recording, _event = completing(down)
    done = reread(dbsession, recording)
    assert (done.status, done.notified_at) == (RecordingStatus.SAVED, None)
    assert owner_accesses(dbsession, [recording.id]) == 2
    # the owner sees it ready meanwhile
    down.login_as(cast.owner)
    page = down.get(f"/recordings/{recording.id}", status=200)
    assert page.html.select_one("video#recording-player") is not None
    assert resend(connection, recording_app) == (1, 0)
    assert len(smtp.wait_for(2)) == 2

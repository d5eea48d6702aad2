"""Recording start and stop, the egress webhooks and the completion mail (reference
§5.1 to 5.3; issue 10 items 1 to 3), through the LiveKit fake, moto's S3 and aiosmtpd."""

from __future__ import annotations

import json
import logging
import time

import pytest
from livekit import api
from sqlalchemy import func, select

from meet_web.models import Recording, RecordingAccess, RecordingStatus
from meet_web.recording import Recordings
from meet_web.scripts.resend_notifications import resend_saved
from tests.api_checks import BAD_BODIES, UUID, assert_bad_body, assert_error
from tests.conftest import app_service, make_recording
from tests.servers.livekit_fake import unused_url
from tests.servers.smtp import closed_port

WEBHOOK = "/api/v1.0/rooms/webhooks-livekit/"


def start_url(room) -> str:
    return f"/api/v1.0/rooms/{room.id}/start-recording/"


def stop_url(room) -> str:
    return f"/api/v1.0/rooms/{room.id}/stop-recording/"


def recordings_of(dbsession, room) -> list[Recording]:
    dbsession.expire_all()
    return dbsession.scalars(
        select(Recording).where(Recording.room_id == room.id).order_by(Recording.created_at)
    ).all()


def room_metadata(livekit, room) -> dict:
    return json.loads(livekit.room(str(room.id)).metadata or "{}")


def eventually(read, timeout: float = 10.0):
    """`read()` once it is truthy (the fake answers a delayed call on its own thread)."""
    deadline = time.monotonic() + timeout
    while not (value := read()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def deliver(client, livekit, event, status=200):
    body, headers = livekit.webhook_request(event)
    return client.post(WEBHOOK, body, headers=headers, status=status)


def completed_egress_of(dbsession, cast, livekit, accesses=None, **fields):
    """(egress, recording): a completed egress of the cast's room and its recording
    (`accesses` {user: role}, the owner's by default)."""
    egress = livekit.add_egress(str(cast.room.id), status=api.EGRESS_COMPLETE)
    accesses = accesses or {cast.owner: "owner"}
    recording = make_recording(dbsession, cast.room, accesses, worker_id=egress.egress_id, **fields)
    return egress, recording


@pytest.fixture
def recorder(recording_app, cast, livekit):
    """The owner, signed in on an app that records, their room live in LiveKit."""
    livekit.add_room(str(cast.room.id))
    client = recording_app()
    client.login_as(cast.owner)
    return client


# -- start ---------------------------------------------------------------------------------


def test_start_records_the_room_into_the_bucket(recorder, cast, dbsession, livekit, s3):
    res = recorder.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)
    assert res.json == {"message": "Recording successfully started for room team-room"}
    [recording] = recordings_of(dbsession, cast.room)
    assert recording.status == RecordingStatus.ACTIVE
    assert recording.options == {}
    [(user_id, role)] = [(a.user_id, a.role) for a in recording.accesses]
    assert (user_id, role) == (cast.owner.id, "owner")
    [egress] = livekit.egresses(str(cast.room.id))
    assert recording.worker_id == egress.egress_id
    request = egress.room_composite
    assert request.room_name == str(cast.room.id)
    assert request.layout == "speaker-light"
    assert not request.audio_only
    assert request.preset == api.EncodingOptionsPreset.H264_720P_30
    [output] = request.file_outputs
    assert output.file_type == api.EncodedFileType.MP4
    assert output.filepath == f"recordings/{recording.id}.mp4"
    assert output.s3.bucket == "meet-media-storage"
    assert output.s3.endpoint == s3.endpoint_url
    assert output.s3.force_path_style
    assert room_metadata(livekit, cast.room) == {
        "recording_mode": "screen_recording",
        "recording_status": "starting",
    }


def test_transcript_is_audio_only_ogg(recorder, cast, dbsession, livekit):
    options = {"language": "fr", "transcribe": None, "original_mode": "screen_recording"}
    recorder.post_json(start_url(cast.room), {"mode": "transcript", "options": options}, status=201)
    [recording] = recordings_of(dbsession, cast.room)
    assert recording.options == {"language": "fr", "original_mode": "screen_recording"}
    [egress] = livekit.egresses(str(cast.room.id))
    assert egress.room_composite.audio_only
    [output] = egress.room_composite.file_outputs
    assert output.file_type == api.EncodedFileType.OGG
    assert output.filepath == f"recordings/{recording.id}.ogg"
    # the room shows the mode the user chose (options.original_mode)
    assert room_metadata(livekit, cast.room)["recording_mode"] == "screen_recording"


def test_encoding_options_from_settings(recording_app, cast, livekit):
    livekit.add_room(str(cast.room.id))
    client = recording_app(
        **{"recording.encoding_enabled": "true", "recording.encoding_width": "1920"}
    )
    client.login_as(cast.administrator)
    client.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)
    [egress] = livekit.egresses(str(cast.room.id))
    advanced = egress.room_composite.advanced
    assert (advanced.width, advanced.height, advanced.framerate) == (1920, 720, 30)
    assert advanced.video_codec == api.VideoCodec.H264_MAIN
    assert advanced.audio_codec == api.AudioCodec.AAC
    assert advanced.audio_frequency == 48000
    assert (advanced.video_bitrate, advanced.audio_bitrate) == (3000, 128)


def test_start_by_slug(recorder, cast, dbsession):
    recorder.post_json(
        "/api/v1.0/rooms/team-room/start-recording/", {"mode": "transcript"}, status=201
    )
    assert len(recordings_of(dbsession, cast.room)) == 1


def test_off_by_default(testapp, cast, dbsession):
    testapp.login_as(cast.owner)
    res = testapp.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=404)
    assert_error(res, 404)
    testapp.post_json(stop_url(cast.room), {}, status=404)
    assert recordings_of(dbsession, cast.room) == []


def test_one_recording_at_a_time(recorder, cast, dbsession, livekit):
    recorder.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)
    res = recorder.post_json(start_url(cast.room), {"mode": "transcript"}, status=409)
    assert assert_error(res, 409, key="error") == {
        "error": "A recording is already in progress for room team-room"
    }
    assert len(recordings_of(dbsession, cast.room)) == 1
    assert len(livekit.egresses()) == 1


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "mode", "This field is required."),
        ({"mode": "podcast"}, "mode", '"podcast" is not a valid choice.'),
        ({"mode": None}, "mode", "is not a valid choice"),
        ({"mode": "transcript", "options": []}, "options", "Must be an object."),
        (
            {"mode": "transcript", "options": {"speed": 2, "colour": "red"}},
            "options",
            "Unknown option keys: colour, speed.",
        ),
        ({"mode": "transcript", "options": {"transcribe": "yes"}}, "options", "transcribe"),
        ({"mode": "transcript", "options": {"collect_metadata": 1}}, "options", "collect_meta"),
        ({"mode": "transcript", "options": {"language": 12}}, "options", "language"),
        ({"mode": "transcript", "options": {"original_mode": "x"}}, "options", "original_mode"),
    ],
)
def test_bad_start_bodies(recorder, cast, dbsession, livekit, body, field, message):
    res = recorder.post_json(start_url(cast.room), body, status=400)
    assert message in " ".join(assert_error(res, 400, field)[field])
    assert recordings_of(dbsession, cast.room) == []
    assert livekit.egresses() == []


@pytest.mark.parametrize(("body", "content_type", "message"), BAD_BODIES)
def test_unusable_start_bodies(recorder, cast, dbsession, body, content_type, message):
    res = recorder.post(
        start_url(cast.room), body, headers={"Content-Type": content_type}, expect_errors=True
    )
    assert_bad_body(res, message)
    assert recordings_of(dbsession, cast.room) == []


def test_a_mode_without_a_worker_is_refused(recording_app, cast, dbsession, livekit):
    livekit.add_room(str(cast.room.id))
    workers = '{"transcript": "meet_web.recording.workers.AudioCompositeEgress"}'
    client = recording_app(**{"recording.worker_classes": workers})
    client.login_as(cast.owner)
    res = client.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=400)
    assert assert_error(res, 400, "mode")
    assert recordings_of(dbsession, cast.room) == []
    assert client.get("/api/v1.0/config/").json["recording"]["available_modes"] == ["transcript"]
    client.post_json(start_url(cast.room), {"mode": "transcript"}, status=201)


def test_unknown_room(recorder):
    res = recorder.post_json(
        f"/api/v1.0/rooms/{UUID}/start-recording/", {"mode": "transcript"}, status=404
    )
    assert_error(res, 404)


# -- start faults ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["internal", "unavailable", "resource_exhausted"])
def test_egress_refused_fails_to_start_and_frees_the_room(recorder, cast, dbsession, livekit, code):
    livekit.fail("StartRoomCompositeEgress", code)
    res = recorder.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=502)
    assert res.json == {"error": "Recording failed to start for room team-room"}
    [failed] = recordings_of(dbsession, cast.room)
    assert failed.status == RecordingStatus.FAILED_TO_START
    assert failed.worker_id is None
    assert "recording_status" not in room_metadata(livekit, cast.room)
    # the room is free again
    recorder.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)
    statuses = [r.status for r in recordings_of(dbsession, cast.room)]
    assert statuses == [RecordingStatus.FAILED_TO_START, RecordingStatus.ACTIVE]


def test_livekit_down_at_start(recording_app, cast, dbsession):
    client = recording_app(**{"livekit.url": unused_url()})
    client.login_as(cast.owner)
    res = client.post_json(start_url(cast.room), {"mode": "transcript"}, status=502)
    assert res.json == {"error": "Recording failed to start for room team-room"}
    assert [r.status for r in recordings_of(dbsession, cast.room)] == ["failed_to_start"]


def test_livekit_slow_at_start_then_the_late_egress_is_stopped(
    recording_app, cast, dbsession, livekit
):
    livekit.add_room(str(cast.room.id))
    client = recording_app(**{"livekit.timeout": "0.3"})
    client.login_as(cast.owner)
    livekit.delay("StartRoomCompositeEgress", 1.0, times=1)
    client.post_json(start_url(cast.room), {"mode": "transcript"}, status=502)
    [recording] = recordings_of(dbsession, cast.room)
    assert recording.status == RecordingStatus.FAILED_TO_START
    # LiveKit started it after all: its first update stops it; the row stays failed
    [egress] = eventually(lambda: livekit.egresses(str(cast.room.id)))
    livekit.set_egress_status(egress.egress_id, api.EGRESS_ACTIVE)
    deliver(client, livekit, livekit.event("egress_updated", egress=egress.egress_id))
    assert livekit.egress(egress.egress_id).status == api.EGRESS_ENDING
    assert recordings_of(dbsession, cast.room)[0].status == RecordingStatus.FAILED_TO_START


# -- stop ------------------------------------------------------------------------------------


def test_stop(recorder, cast, dbsession, livekit):
    recorder.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)
    res = recorder.post_json(stop_url(cast.room), {}, status=200)
    assert res.json == {"message": "Recording stopped for room team-room."}
    [recording] = recordings_of(dbsession, cast.room)
    assert recording.status == RecordingStatus.STOPPED
    assert livekit.egress(recording.worker_id).status == api.EGRESS_ENDING
    # nothing active any more
    res = recorder.post_json(stop_url(cast.room), {}, status=404)
    assert res.json == {"detail": "No active recording found for this room."}


def test_stop_without_recording(recorder, cast):
    res = recorder.post_json(stop_url(cast.room), {}, status=404)
    assert res.json == {"detail": "No active recording found for this room."}


def test_stop_fails_when_livekit_refuses(recorder, cast, dbsession, livekit):
    recorder.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)
    livekit.fail("StopEgress", "internal")
    res = recorder.post_json(stop_url(cast.room), {}, status=500)
    assert res.json == {"error": "Recording failed to stop for room team-room"}
    assert [r.status for r in recordings_of(dbsession, cast.room)] == ["failed_to_stop"]
    # the room is free for a new recording
    recorder.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)


def test_stop_when_livekit_is_slow(recording_app, cast, dbsession, livekit):
    livekit.add_room(str(cast.room.id))
    client = recording_app(**{"livekit.timeout": "0.3"})
    client.login_as(cast.owner)
    client.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)
    livekit.delay("StopEgress", 1.0, times=1)
    res = client.post_json(stop_url(cast.room), {}, status=500)
    assert res.json == {"error": "Recording failed to stop for room team-room"}
    assert [r.status for r in recordings_of(dbsession, cast.room)] == ["failed_to_stop"]


# -- webhooks --------------------------------------------------------------------------------


@pytest.fixture
def started(recorder, cast, dbsession, livekit):
    """A screen recording under way: (recording, egress id)."""
    recorder.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)
    [recording] = recordings_of(dbsession, cast.room)
    return recording, recording.worker_id


@pytest.mark.parametrize(
    ("egress_status", "shown"),
    [
        (api.EGRESS_ACTIVE, "started"),
        (api.EGRESS_ENDING, "saving"),
        (api.EGRESS_ABORTED, "aborted"),
    ],
)
def test_updates_show_in_the_room_metadata(recorder, cast, livekit, started, egress_status, shown):
    _recording, egress_id = started
    livekit.set_egress_status(egress_id, egress_status)
    deliver(recorder, livekit, livekit.event("egress_updated", egress=egress_id))
    assert room_metadata(livekit, cast.room) == {
        "recording_mode": "screen_recording",
        "recording_status": shown,
    }


def test_other_updates_change_nothing(recorder, cast, livekit, started):
    _recording, egress_id = started
    livekit.set_egress_status(egress_id, api.EGRESS_ACTIVE)
    deliver(recorder, livekit, livekit.event("egress_updated", egress=egress_id))
    livekit.set_egress_status(egress_id, api.EGRESS_STARTING)
    deliver(recorder, livekit, livekit.event("egress_updated", egress=egress_id))
    assert room_metadata(livekit, cast.room)["recording_status"] == "started"


def test_ended_completes_and_mails_the_owner(recorder, cast, dbsession, livekit, smtp, started):
    recording, egress_id = started
    livekit.add_room(
        str(cast.room.id),
        metadata=json.dumps(
            {
                "access_level": "public",
                "recording_mode": "screen_recording",
                "recording_status": "saving",
            }
        ),
    )
    livekit.set_egress_status(egress_id, api.EGRESS_COMPLETE)
    deliver(recorder, livekit, livekit.event("egress_ended", egress=egress_id))
    [done] = recordings_of(dbsession, cast.room)
    assert done.status == RecordingStatus.NOTIFICATION_SUCCEEDED
    assert done.notified_at is not None
    assert room_metadata(livekit, cast.room) == {"access_level": "public"}
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == [cast.owner.email]
    assert mail.subject == "Your recording is ready"
    assert f"http://localhost/recordings/{recording.id}" in mail.text
    assert "Team Room" in mail.text
    assert "expire" not in mail.text
    assert f"http://localhost/recordings/{recording.id}" in mail.html


def test_limit_reached_stops_warns_and_completes(recorder, cast, dbsession, livekit, smtp, started):
    _recording, egress_id = started
    livekit.set_egress_status(egress_id, api.EGRESS_LIMIT_REACHED)
    deliver(recorder, livekit, livekit.event("egress_ended", egress=egress_id))
    [message] = livekit.data_messages(str(cast.room.id))
    assert json.loads(message.data) == {"type": "screenRecordingLimitReached"}
    assert message.kind == api.DataPacket.Kind.RELIABLE
    assert recordings_of(dbsession, cast.room)[0].status == "notification_succeeded"
    smtp.wait_for(1)


def test_transcript_limit_message(recorder, cast, dbsession, livekit, smtp):
    recorder.post_json(start_url(cast.room), {"mode": "transcript"}, status=201)
    [recording] = recordings_of(dbsession, cast.room)
    livekit.set_egress_status(recording.worker_id, api.EGRESS_LIMIT_REACHED)
    deliver(recorder, livekit, livekit.event("egress_ended", egress=recording.worker_id))
    [message] = livekit.data_messages(str(cast.room.id))
    assert json.loads(message.data) == {"type": "transcriptionLimitReached"}


def test_limit_notice_failure_makes_livekit_retry(recorder, cast, dbsession, livekit, started):
    _recording, egress_id = started
    livekit.set_egress_status(egress_id, api.EGRESS_LIMIT_REACHED)
    livekit.fail("SendData", "unavailable")
    event = livekit.event("egress_ended", egress=egress_id)
    deliver(recorder, livekit, event, status=500)
    assert recordings_of(dbsession, cast.room)[0].status == RecordingStatus.ACTIVE
    deliver(recorder, livekit, event)  # LiveKit's retry
    assert recordings_of(dbsession, cast.room)[0].status == "notification_succeeded"


def test_redelivery_is_harmless(recorder, cast, dbsession, livekit, smtp, started):
    _recording, egress_id = started
    livekit.set_egress_status(egress_id, api.EGRESS_COMPLETE)
    deliver(recorder, livekit, livekit.event("egress_ended", egress=egress_id))
    smtp.wait_for(1)
    # the same news again, under another event id (the ledger knows the first one)
    deliver(recorder, livekit, livekit.event("egress_ended", egress=egress_id))
    assert recordings_of(dbsession, cast.room)[0].status == "notification_succeeded"
    assert len(smtp.messages()) == 1


@pytest.mark.parametrize("egress_status", [api.EGRESS_FAILED, api.EGRESS_ABORTED])
def test_failed_egress_aborts_and_frees_the_room(
    recorder, cast, dbsession, livekit, smtp, started, egress_status
):
    _recording, egress_id = started
    livekit.set_egress_status(egress_id, egress_status, error="out of disk")
    deliver(recorder, livekit, livekit.event("egress_ended", egress=egress_id))
    assert recordings_of(dbsession, cast.room)[0].status == RecordingStatus.ABORTED
    assert smtp.messages() == []
    recorder.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)


def test_ended_before_the_egress_id_is_stored(recording_app, cast, dbsession, livekit, smtp):
    """The egress carries the recording id: its end is matched even when start has not
    yet written the worker's answer."""
    livekit.add_room(str(cast.room.id))
    client = recording_app()
    recording = make_recording(
        dbsession, cast.room, {cast.owner: "owner"}, status=RecordingStatus.INITIATED
    )
    egress = livekit.add_egress(str(cast.room.id), status=api.EGRESS_COMPLETE)
    info = api.EgressInfo()
    info.CopyFrom(egress)
    info.room_composite.file_outputs.add(filepath=f"recordings/{recording.id}.mp4")
    deliver(client, livekit, livekit.event("egress_ended", egress=info))
    dbsession.expire_all()
    done = dbsession.get(Recording, recording.id)
    assert done.status == RecordingStatus.NOTIFICATION_SUCCEEDED
    assert done.worker_id == egress.egress_id
    smtp.wait_for(1)


def test_matched_by_egress_id_without_a_path(recording_app, cast, dbsession, livekit, smtp):
    livekit.add_room(str(cast.room.id))
    client = recording_app()
    egress, recording = completed_egress_of(dbsession, cast, livekit, status="stopped")
    deliver(client, livekit, livekit.event("egress_ended", egress=egress.egress_id))
    dbsession.expire_all()
    assert dbsession.get(Recording, recording.id).status == "notification_succeeded"


def test_unknown_egress_is_ignored(recorder, livekit, caplog):
    egress = livekit.add_egress("someone-elses-room", status=api.EGRESS_COMPLETE)
    with caplog.at_level(logging.WARNING):
        deliver(recorder, livekit, livekit.event("egress_ended", egress=egress.egress_id))
        deliver(recorder, livekit, livekit.event("egress_updated", egress=egress.egress_id))
    assert "matches no recording" in caplog.text


def test_metadata_failure_does_not_lose_the_recording(
    recorder, cast, dbsession, livekit, smtp, started
):
    _recording, egress_id = started
    livekit.set_egress_status(egress_id, api.EGRESS_COMPLETE)
    livekit.remove_room(str(cast.room.id))  # the meeting is over: no metadata to clear
    deliver(recorder, livekit, livekit.event("egress_ended", egress=egress_id))
    assert recordings_of(dbsession, cast.room)[0].status == "notification_succeeded"


# -- the completion mail -----------------------------------------------------------------------


def test_every_owner_in_their_language_and_time_zone(recording_app, cast, dbsession, livekit, smtp):
    from datetime import UTC, datetime

    cast.owner.language, cast.owner.timezone = "fr-fr", "Europe/Paris"
    cast.administrator.timezone = "America/New_York"
    dbsession.flush()
    client = recording_app(**{"recording.expiration_days": "7"})
    egress, recording = completed_egress_of(
        dbsession,
        cast,
        livekit,
        {cast.owner: "owner", cast.administrator: "owner", cast.member: "administrator"},
        status="active",
        created_at=datetime(2026, 7, 14, 21, 30, tzinfo=UTC),
    )
    deliver(client, livekit, livekit.event("egress_ended", egress=egress.egress_id))
    mails = {mail.rcpt_tos[0]: mail for mail in smtp.wait_for(2)}
    assert set(mails) == {cast.owner.email, cast.administrator.email}  # owners only
    french = mails[cast.owner.email]
    assert french["Content-Language"].lower().startswith("fr")
    assert "2026-07-14" in french.text and "23:30" in french.text
    english = mails[cast.administrator.email]
    assert "2026-07-14" in english.text and "17:30" in english.text
    assert "It will expire in 7 days." in english.text
    assert english.html is not None and "It will expire in 7 days." in english.html
    dbsession.expire_all()
    assert dbsession.get(Recording, recording.id).status == "notification_succeeded"


def test_download_base_url_makes_the_link(recording_app, cast, dbsession, livekit, smtp):
    client = recording_app(**{"recording.download_base_url": "https://meet.example.org/r/"})
    egress, recording = completed_egress_of(dbsession, cast, livekit, status="active")
    deliver(client, livekit, livekit.event("egress_ended", egress=egress.egress_id))
    [mail] = smtp.wait_for(1)
    assert f"https://meet.example.org/r/{recording.id}" in mail.text


def test_smtp_down_leaves_it_saved_until_resent(
    recording_app, testapp_with, cast, dbsession, connection, livekit, smtp, s3
):
    from sqlalchemy.orm import Session

    from tests.conftest import recording_settings

    down = recording_app(**{"mail.port": str(closed_port())})
    egress, recording = completed_egress_of(dbsession, cast, livekit, status="active")
    deliver(down, livekit, livekit.event("egress_ended", egress=egress.egress_id))
    dbsession.expire_all()
    assert dbsession.get(Recording, recording.id).status == RecordingStatus.SAVED
    assert dbsession.get(Recording, recording.id).notified_at is None
    assert smtp.messages() == []

    def sessions():
        return Session(bind=connection, join_transaction_mode="create_savepoint")

    # still down: nothing changes
    still_down = app_service(down.app, Recordings)
    assert resend_saved(sessions, still_down, "http://localhost/recordings") == (0, 1)
    # the relay is back
    up = app_service(testapp_with(recording_settings(s3, smtp)).app, Recordings)
    assert resend_saved(sessions, up, "http://localhost/recordings") == (1, 0)
    [mail] = smtp.wait_for(1)
    assert f"http://localhost/recordings/{recording.id}" in mail.text
    dbsession.expire_all()
    assert dbsession.get(Recording, recording.id).status == "notification_succeeded"
    assert dbsession.get(Recording, recording.id).notified_at is not None
    assert resend_saved(sessions, up, "http://localhost/recordings") == (0, 0)


def test_a_recording_without_owner_stays_saved(recording_app, cast, dbsession, livekit, smtp):
    client = recording_app()
    egress, recording = completed_egress_of(
        dbsession, cast, livekit, {cast.member: "member"}, status="active"
    )
    deliver(client, livekit, livekit.event("egress_ended", egress=egress.egress_id))
    dbsession.expire_all()
    assert dbsession.get(Recording, recording.id).status == RecordingStatus.SAVED
    assert smtp.messages() == []


def test_no_half_written_rows(recorder, cast, dbsession, livekit):
    """Whatever failed, each recording row has its owner access and a true status."""
    livekit.fail("StartRoomCompositeEgress", "internal")
    recorder.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=502)
    recorder.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)
    livekit.fail("StopEgress", "unavailable")
    recorder.post_json(stop_url(cast.room), {}, status=500)
    dbsession.expire_all()
    rows = recordings_of(dbsession, cast.room)
    assert [r.status for r in rows] == ["failed_to_start", "failed_to_stop"]
    accesses = dbsession.scalar(
        select(func.count())
        .select_from(RecordingAccess)
        .where(RecordingAccess.recording_id.in_([r.id for r in rows]))
    )
    assert accesses == 2


def test_livekit_down_at_stop(recording_app, cast, dbsession):
    recording = make_recording(
        dbsession, cast.room, {cast.owner: "owner"}, status="active", worker_id="EG_gone"
    )
    client = recording_app(**{"livekit.url": unused_url()})
    client.login_as(cast.owner)
    res = client.post_json(stop_url(cast.room), {}, status=500)
    assert res.json == {"error": "Recording failed to stop for room team-room"}
    dbsession.expire_all()
    assert dbsession.get(Recording, recording.id).status == RecordingStatus.FAILED_TO_STOP


def test_metadata_failure_at_start_is_only_logged(recorder, cast, dbsession, livekit, caplog):
    livekit.fail("UpdateRoomMetadata", "internal")
    with caplog.at_level(logging.INFO):
        recorder.post_json(start_url(cast.room), {"mode": "screen_recording"}, status=201)
    assert "recording metadata not updated" in caplog.text
    assert [r.status for r in recordings_of(dbsession, cast.room)] == ["active"]


def test_a_failed_to_stop_recording_is_still_saved_when_its_egress_completes(
    recorder, cast, dbsession, livekit, smtp, started
):
    _recording, egress_id = started
    livekit.fail("StopEgress", "deadline_exceeded")
    recorder.post_json(stop_url(cast.room), {}, status=500)
    livekit.set_egress_status(egress_id, api.EGRESS_COMPLETE)
    deliver(recorder, livekit, livekit.event("egress_ended", egress=egress_id))
    assert recordings_of(dbsession, cast.room)[0].status == "notification_succeeded"
    smtp.wait_for(1)


# -- the meeting page's recording controls ------------------------------------------------------

RECORDING_CONTROLS = {
    "anonymous": False,
    "stranger": False,
    "member": False,
    "administrator": True,
    "owner": True,
    "operator": False,
}


@pytest.mark.parametrize("actor", RECORDING_CONTROLS)
def test_the_meeting_page_offers_recording_to_administrators(recording_app, cast, actor):
    client = recording_app()
    client.login_as(cast[actor])
    page = client.get("/team-room/meeting", params={"username": "Guest"}, status=200)
    assert page.html.select_one("#recording-badge[hidden]") is not None  # for everyone
    controls = page.html.select("[data-recording-controls] [data-action]")
    actions = [c["data-action"] for c in controls]
    assert actions == (["start-recording", "stop-recording"] if RECORDING_CONTROLS[actor] else [])


def test_no_recording_controls_when_recording_is_off(testapp, cast):
    testapp.login_as(cast.owner)
    page = testapp.get("/team-room/meeting", status=200)
    assert page.html.select("[data-recording-controls]") == []
    assert page.html.select_one("#recording-badge") is not None


def test_the_egress_file_result_gives_the_duration(recording_app, cast, dbsession, livekit, smtp):
    livekit.add_room(str(cast.room.id))
    client = recording_app()
    egress, recording = completed_egress_of(dbsession, cast, livekit, status="stopped")
    info = api.EgressInfo()
    info.CopyFrom(egress)
    info.file_results.add(filename=f"recordings/{recording.id}.mp4", duration=754 * 10**9)
    deliver(client, livekit, livekit.event("egress_ended", egress=info))
    dbsession.expire_all()
    assert dbsession.get(Recording, recording.id).duration_seconds == 754
    smtp.wait_for(1)
    client.login_as(cast.owner)
    assert "12:34" in client.get(f"/recordings/{recording.id}").text
    assert "12:34" in client.get("/recordings/").text

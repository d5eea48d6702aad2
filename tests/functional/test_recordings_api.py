"""The recordings API (reference §2.4, §5.6; issue 10 item 4): the caller's list,
retrieve, delete with its S3 object, media-auth for an nginx front, and /config/."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import requests

from meet_web.models import Recording, RecordingStatus
from tests.api_checks import UUID, assert_error
from tests.conftest import RECORDINGS_BUCKET, make_recording, make_room, put_object, stored_keys
from tests.servers.livekit_fake import unused_url

RECORDINGS = "/api/v1.0/recordings/"
MEDIA_AUTH = "/api/v1.0/recordings/media-auth/"


@pytest.fixture
def api(recording_app):
    return recording_app()


# -- list ------------------------------------------------------------------------------------


def test_list_is_the_callers_newest_first(api, cast, dbsession):
    now = datetime.now(UTC)
    other_room = make_room(dbsession, "Other Room", cast.stranger)
    older = make_recording(
        dbsession, cast.room, {cast.owner: "owner"}, created_at=now - timedelta(days=2)
    )
    newer = make_recording(
        dbsession,
        cast.room,
        {cast.owner: "member"},
        mode="transcript",
        created_at=now - timedelta(days=1),
    )
    make_recording(dbsession, other_room, {cast.stranger: "owner"})
    api.login_as(cast.owner)
    res = api.get(RECORDINGS, status=200)
    assert res.json["count"] == 2
    assert [item["id"] for item in res.json["results"]] == [str(newer.id), str(older.id)]
    item = res.json["results"][1]
    assert item["room"] == {
        "id": str(cast.room.id),
        "name": "Team Room",
        "slug": "team-room",
        "access_level": "public",
    }
    assert item["key"] == f"recordings/{older.id}.mp4"
    assert res.json["results"][0]["key"] == f"recordings/{newer.id}.ogg"
    assert item["status"] == "saved" and item["mode"] == "screen_recording"
    assert item["options"] == {}
    assert item["is_expired"] is False and item["expired_at"] is None
    assert item["created_at"].endswith("Z")


def test_list_pages(api, cast, dbsession):
    now = datetime.now(UTC)
    made = [
        make_recording(
            dbsession, cast.room, {cast.owner: "owner"}, created_at=now - timedelta(minutes=i)
        )
        for i in range(3)
    ]
    api.login_as(cast.owner)
    first = api.get(RECORDINGS, {"page_size": 2}, status=200).json
    assert first["count"] == 3 and first["previous"] is None
    assert [r["id"] for r in first["results"]] == [str(made[0].id), str(made[1].id)]
    assert first["next"].endswith("/api/v1.0/recordings/?page=2&page_size=2")
    second = api.get(RECORDINGS, {"page_size": 2, "page": 2}, status=200).json
    assert [r["id"] for r in second["results"]] == [str(made[2].id)]
    assert_error(api.get(RECORDINGS, {"page": 3, "page_size": 2}, status=404), 404)
    assert_error(api.get(RECORDINGS, {"page_size": 101}, status=400), 400, "page_size")
    assert_error(api.get(RECORDINGS, {"page": "x"}, status=400), 400, "page")


def test_expiry_is_shown(recording_app, cast, dbsession):
    client = recording_app(**{"recording.expiration_days": "3"})
    old = make_recording(
        dbsession,
        cast.room,
        {cast.owner: "owner"},
        created_at=datetime(2020, 1, 1, 12, 0, tzinfo=UTC),
    )
    client.login_as(cast.owner)
    item = client.get(f"{RECORDINGS}{old.id}/", status=200).json
    assert item["is_expired"] is True
    assert item["expired_at"] == "2020-01-04T12:00:00Z"


# -- retrieve and delete ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["not-a-uuid", UUID, "123e4567e89b12d3a456426614174000x"])
def test_unknown_or_malformed_ids(api, cast, key):
    api.login_as(cast.owner)
    res = api.get(f"{RECORDINGS}{key}/", status=404)
    assert res.json == {"detail": "No Recording matches the given query."}
    api.delete(f"{RECORDINGS}{key}/", status=404)


def test_delete_removes_the_row_then_the_object(api, cast, dbsession, s3):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    recording_id = recording.id
    key = f"recordings/{recording_id}.mp4"
    put_object(s3, key)
    api.login_as(cast.owner)
    api.delete(f"{RECORDINGS}{recording_id}/", status=204)
    dbsession.expire_all()
    assert dbsession.get(Recording, recording_id) is None
    assert not stored_keys(s3, key)


@pytest.mark.parametrize("status", ["initiated", "active"])
def test_only_final_statuses_are_deleted(api, cast, dbsession, s3, status):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status=status)
    put_object(s3, f"recordings/{recording.id}.mp4")
    api.login_as(cast.owner)
    assert_error(api.delete(f"{RECORDINGS}{recording.id}/", status=403), 403)
    dbsession.expire_all()
    assert dbsession.get(Recording, recording.id) is not None
    assert stored_keys(s3, f"recordings/{recording.id}.mp4")


def test_delete_with_s3_down_is_logged_and_the_row_gone(recording_app, cast, dbsession, caplog):
    client = recording_app(**{"s3.endpoint_url": unused_url()})
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="aborted")
    recording_id = recording.id
    client.login_as(cast.owner)
    with caplog.at_level(logging.ERROR):
        client.delete(f"{RECORDINGS}{recording_id}/", status=204)
    assert f"recordings/{recording_id}.mp4" in caplog.text
    dbsession.expire_all()
    assert dbsession.get(Recording, recording_id) is None


# -- media-auth ------------------------------------------------------------------------------


def media_url(recording, extension: str | None = None) -> str:
    return f"http://localhost/media/recordings/{recording.id}.{extension or recording.extension}"


@pytest.fixture
def saved(dbsession, cast, s3):
    recording = make_recording(
        dbsession,
        cast.room,
        {cast.owner: "owner", cast.administrator: "administrator", cast.member: "member"},
    )
    put_object(s3, f"recordings/{recording.id}.mp4", b"the recording's bytes")
    return recording


def test_media_auth_signs_a_get_the_store_accepts(api, cast, saved, s3):
    api.login_as(cast.owner)
    res = api.get(MEDIA_AUTH, headers={"X-Original-URL": media_url(saved)}, status=200)
    assert res.json == "authorized"
    headers = {
        name: res.headers[name] for name in ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256")
    }
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    # what nginx does with them: the same GET, to the store
    stored = requests.get(
        f"{s3.endpoint_url}/{RECORDINGS_BUCKET}/recordings/{saved.id}.mp4",
        headers=headers,
        timeout=10,
    )
    assert stored.status_code == 200
    assert stored.content == b"the recording's bytes"


@pytest.mark.parametrize(
    ("header", "status", "message"),
    [
        (None, 403, "Missing X-Original-URL header."),
        ("http://localhost/elsewhere/x.mp4", 403, "Unexpected media path."),
        ("http://localhost/media/recordings/not-a-uuid.mp4", 403, "Unexpected media path."),
        (f"http://localhost/media/recordings/{UUID}.webm", 400, "Unsupported extension."),
        (f"http://localhost/media/recordings/{UUID}.mp4", 404, "No recording found"),
    ],
)
def test_media_auth_refuses_bad_paths(api, cast, saved, header, status, message):
    api.login_as(cast.owner)
    headers = {"X-Original-URL": header} if header else {}
    res = api.get(MEDIA_AUTH, headers=headers, status=status)
    assert message in assert_error(res, status)["detail"]
    assert "Authorization" not in res.headers


def test_media_auth_extension_must_match_the_mode(api, cast, saved):
    api.login_as(cast.owner)
    res = api.get(MEDIA_AUTH, headers={"X-Original-URL": media_url(saved, "ogg")}, status=404)
    assert res.json == {"detail": "No recording found with this extension."}


@pytest.mark.parametrize("status", ["active", "stopped", "aborted", "failed_to_stop"])
def test_media_auth_needs_a_saved_recording(api, cast, saved, dbsession, status):
    saved.status = RecordingStatus(status)
    dbsession.flush()
    api.login_as(cast.owner)
    assert_error(api.get(MEDIA_AUTH, headers={"X-Original-URL": media_url(saved)}, status=403), 403)


def test_media_auth_refuses_expired_recordings(recording_app, cast, saved, dbsession):
    client = recording_app(**{"recording.expiration_days": "1"})
    saved.created_at = datetime.now(UTC) - timedelta(days=2)
    dbsession.flush()
    client.login_as(cast.owner)
    res = client.get(MEDIA_AUTH, headers={"X-Original-URL": media_url(saved)}, status=410)
    assert res.json == {"detail": "The recording has expired."}


def test_media_auth_with_a_custom_media_url(recording_app, cast, saved):
    client = recording_app(**{"recording.media_url": "/files"})
    client.login_as(cast.owner)
    url = f"https://meet.example.org/files/recordings/{saved.id}.mp4?x=1"
    client.get(MEDIA_AUTH, headers={"X-Original-URL": url}, status=200)
    client.get(MEDIA_AUTH, headers={"X-Original-URL": media_url(saved)}, status=403)


# -- /config/ ---------------------------------------------------------------------------------


def test_config_recording_block(recording_app, testapp):
    assert testapp.get("/api/v1.0/config/").json["recording"] == {
        "is_enabled": False,
        "available_modes": ["screen_recording", "transcript"],
        "expiration_days": None,
        "max_duration": None,
    }
    client = recording_app(
        **{"recording.expiration_days": "30", "recording.max_duration": "3600000"}
    )
    assert client.get("/api/v1.0/config/").json["recording"] == {
        "is_enabled": True,
        "available_modes": ["screen_recording", "transcript"],
        "expiration_days": 30,
        "max_duration": 3600000,
    }

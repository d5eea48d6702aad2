"""My recordings and a recording's page: the list (newest first, in the viewer's time
zone, paginated), the page with its player or the reason there is none, the media
front, the mail's link, and deleting with and without htmx (the row now, the object
after commit; nothing written when refused)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from meet_web.models import Recording
from meet_web.recording import RecordingConfig
from tests.conftest import (
    app_service,
    make_recording,
    make_room,
    put_object,
    stored_keys,
)

HX = {"HX-Request": "true"}
MOMENT = datetime(2026, 1, 2, 12, 30, tzinfo=UTC)


def text(res) -> str:
    """The page's words, without tags or entities."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", res.text)))


def rows(res) -> list:
    return res.html.select("table.recording-table tbody tr")


def ids(res) -> list[str]:
    return [row["id"].removeprefix("recording-") for row in rows(res)]


@pytest.fixture
def client(recording_app, cast):
    app = recording_app()
    app.login_as(cast.owner)
    return app


def recordings_of(dbsession, cast) -> list[Recording]:
    dbsession.expire_all()
    return dbsession.scalars(select(Recording).where(Recording.room_id == cast.room.id)).all()


# -- the list ----------------------------------------------------------------------------------


def test_the_list_is_mine_newest_first_with_its_facts(client, cast, dbsession):
    cast.owner.timezone = "Europe/Paris"
    other = make_room(dbsession, "Board Room", cast.stranger)
    older = make_recording(
        dbsession, cast.room, {cast.owner: "owner"}, created_at=MOMENT - timedelta(days=1)
    )
    newer = make_recording(
        dbsession, cast.room, {cast.owner: "owner"}, created_at=MOMENT, status="active"
    )
    seen = make_recording(
        dbsession,
        other,
        {cast.owner: "member", cast.stranger: "owner"},
        created_at=MOMENT - timedelta(days=2),
        status="aborted",
    )
    make_recording(dbsession, other, {cast.stranger: "owner"})  # not mine
    dbsession.flush()
    res = client.get("/recordings/", status=200)
    assert ids(res) == [str(newer.id), str(older.id), str(seen.id)]
    first, second, third = (
        [cell.get_text(" ", strip=True) for cell in row.select("th, td")] for row in rows(res)
    )
    # room, date (Paris: 13:30), duration (not known), status, expiry (none set)
    assert first[0] == "Team Room"
    assert "Jan 2, 2026" in first[1] and "1:30:00" in first[1] and "(Europe/Paris)" in first[1]
    assert first[2] == ""
    assert (first[3], second[3], third[3]) == ("Recording", "Ready", "Aborted")
    assert first[4] == "Never"
    # owners open theirs and delete the ended ones; a member sees the row only
    assert rows(res)[0].select_one(f'a[href="/recordings/{newer.id}"]') is not None
    assert rows(res)[0].select_one("form") is None  # still recording
    assert rows(res)[1].select_one(f'form[action="/recordings/{older.id}/delete"]') is not None
    assert rows(res)[2].select_one("a") is None and rows(res)[2].select_one("form") is None
    assert "Its owners and administrators can open it." in third[5]
    assert res.headers["Vary"].startswith("HX-Request")


def test_expiry_is_shown(recording_app, cast, dbsession):
    client = recording_app(**{"recording.expiration_days": "3"})
    client.login_as(cast.owner)
    fresh = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    old = make_recording(
        dbsession, cast.room, {cast.owner: "owner"}, created_at=MOMENT - timedelta(days=400)
    )
    res = client.get("/recordings/", status=200)
    cells = {
        row["id"].removeprefix("recording-"): row.select("td")[3].get_text(strip=True)
        for row in rows(res)
    }
    assert cells[str(old.id)] == "Expired"
    expected = (fresh.created_at + timedelta(days=3)).strftime("%b %-d, %Y")
    assert cells[str(fresh.id)].startswith(expected)


def test_an_empty_list(client):
    res = client.get("/recordings/", status=200)
    assert rows(res) == []
    assert "You have no recordings yet." in text(res)


def test_the_list_is_paginated(recording_app, cast, dbsession):
    client = recording_app(**{"recording.page_size": "2"})
    client.login_as(cast.owner)
    made = [
        make_recording(
            dbsession, cast.room, {cast.owner: "owner"}, created_at=MOMENT - timedelta(hours=i)
        )
        for i in range(3)
    ]
    first = client.get("/recordings/", status=200)
    assert ids(first) == [str(made[0].id), str(made[1].id)]
    assert "Page 1 of 2" in text(first)
    assert first.html.select_one('a[rel="next"]')["href"] == "/recordings/?page=2"
    second = client.get("/recordings/", {"page": "2"}, status=200)
    assert ids(second) == [str(made[2].id)]
    assert second.html.select_one('a[rel="prev"]')["href"] == "/recordings/"
    assert second.html.select_one('a[rel="next"]') is None


@pytest.mark.parametrize(("page", "status"), [("3", 404), ("0", 400), ("x", 400), ("-1", 400)])
def test_a_bad_page_number(recording_app, cast, dbsession, page, status):
    client = recording_app(**{"recording.page_size": "2"})
    client.login_as(cast.owner)
    for i in range(3):
        make_recording(
            dbsession, cast.room, {cast.owner: "owner"}, created_at=MOMENT - timedelta(i)
        )
    res = client.get("/recordings/", {"page": page}, status=status)
    assert res.content_type == "text/html"
    assert ("Invalid page." if status == 404 else "Must be a positive integer.") in text(res)


def test_recording_off(testapp, cast, dbsession):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    testapp.login_as(cast.owner)
    res = testapp.get("/recordings/", status=200)
    assert "Recording is turned off on this site" in text(res)
    assert rows(res) == []
    assert res.html.select_one('header a[href="http://localhost/recordings/"]') is None
    for path in ("", "/media"):
        testapp.get(f"/recordings/{recording.id}{path}", status=404)
    testapp.post(f"/recordings/{recording.id}/delete", status=404)
    assert recordings_of(dbsession, cast) != []


def test_the_menu_and_the_account_page_link_to_the_list(client):
    home = client.get("/", status=200)
    assert home.html.select_one('header a[href="http://localhost/recordings/"]').get_text(
        strip=True
    ) == ("My recordings")
    account = client.get("/account", status=200)
    assert account.html.select_one('main a[href="http://localhost/recordings/"]') is not None
    listing = client.get("/recordings/", status=200)
    link = listing.html.select_one('header a[href="http://localhost/recordings/"]')
    assert link["aria-current"] == "page"


# -- a recording's page -----------------------------------------------------------------------


def test_a_saved_recording_plays_in_the_page(client, cast, dbsession):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    res = client.get(f"/recordings/{recording.id}", status=200)
    source = res.html.select_one("video#recording-player source")
    assert source["src"] == f"http://localhost/recordings/{recording.id}/media"
    assert source["type"] == "video/mp4"
    download = res.html.select_one("a#recording-download")
    assert download["href"] == f"http://localhost/recordings/{recording.id}/media?download=1"
    assert download["download"].endswith(".mp4")
    words = text(res)
    assert "Recording of Team Room" in words and "Ready" in words
    assert res.html.select_one('a[href="http://localhost/team-room"]') is not None
    assert res.html.select_one("audio") is None
    # saved, but not deletable (the reference's final statuses)
    assert res.html.select_one(f'form[action="/recordings/{recording.id}/delete"]')


def test_a_transcript_plays_in_an_audio_element(client, cast, dbsession):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, mode="transcript")
    res = client.get(f"/recordings/{recording.id}", status=200)
    source = res.html.select_one("audio#recording-player source")
    assert source["type"] == "audio/ogg"
    assert res.html.select_one("video") is None


@pytest.mark.parametrize(
    ("status", "message", "deletable"),
    [
        ("active", "This recording is still in progress.", False),
        ("stopped", "This recording is still in progress.", True),
        ("failed_to_start", "This recording failed: there is nothing to play or download.", True),
        ("aborted", "This recording failed: there is nothing to play or download.", True),
    ],
)
def test_no_player_until_it_is_saved(client, cast, dbsession, status, message, deletable):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status=status)
    res = client.get(f"/recordings/{recording.id}", status=200)
    assert message in text(res)
    assert res.html.select_one("video, audio, a#recording-download") is None
    assert (res.html.select_one("form[action$='/delete']") is not None) == deletable


def test_an_expired_recording_says_so(recording_app, cast, dbsession):
    client = recording_app(**{"recording.expiration_days": "1"})
    client.login_as(cast.owner)
    recording = make_recording(
        dbsession, cast.room, {cast.owner: "owner"}, created_at=MOMENT - timedelta(days=30)
    )
    res = client.get(f"/recordings/{recording.id}", status=200)
    assert "This recording has expired: it can no longer be played or downloaded." in text(res)
    assert res.html.select_one("video") is None
    res = client.get(f"/recordings/{recording.id}/media", status=410)
    assert "The recording has expired." in text(res)


def test_with_a_media_front_the_page_points_at_it(recording_app, cast, dbsession):
    client = recording_app(**{"recording.media_front": "true"})
    client.login_as(cast.owner)
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    res = client.get(f"/recordings/{recording.id}", status=200)
    front = f"http://localhost/media/recordings/{recording.id}.mp4"
    assert res.html.select_one("video source")["src"] == front
    assert res.html.select_one("a#recording-download")["href"] == front
    absolute = recording_app(
        **{"recording.media_front": "true", "recording.media_url": "https://media.example.org/m"}
    )
    absolute.login_as(cast.owner)
    res = absolute.get(f"/recordings/{recording.id}", status=200)
    expected = f"https://media.example.org/m/recordings/{recording.id}.mp4"
    assert res.html.select_one("video source")["src"] == expected


def test_the_mails_link_lands_on_the_page(client, cast, dbsession):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    base = app_service(client.app, RecordingConfig).link_base("http://localhost")
    link = f"{base}/{recording.id}"
    res = client.get(urlsplit(link).path, status=200)
    assert res.html.select_one("video#recording-player") is not None


@pytest.mark.parametrize("key", ["not-a-uuid", "123e4567-e89b-12d3-a456-426614174000"])
def test_unknown_recordings_are_404_pages(client, key):
    for path in ("", "/media"):
        res = client.get(f"/recordings/{key}{path}", status=404)
        assert res.content_type == "text/html"
        assert "There is nothing at this address." in text(res)
    client.post(f"/recordings/{key}/delete", status=404)


def test_media_of_a_recording_not_saved_is_refused(client, cast, dbsession, s3):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="stopped")
    put_object(s3, f"recordings/{recording.id}.mp4")
    res = client.get(f"/recordings/{recording.id}/media", status=403)
    assert "The recording is not ready." in text(res)


# -- deleting ------------------------------------------------------------------------------------


def test_delete_without_javascript(client, cast, dbsession, s3):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="saved")
    key = f"recordings/{recording.id}.mp4"
    put_object(s3, key)
    res = client.post(f"/recordings/{recording.id}/delete", {"page": "1"}, status=303)
    assert res.location == "http://localhost/recordings/"
    assert recordings_of(dbsession, cast) == []
    assert not stored_keys(s3, key)
    listing = res.follow(status=200)
    assert "The recording has been deleted." in text(listing)


def test_delete_with_htmx_swaps_the_list(client, cast, dbsession, s3):
    kept = make_recording(dbsession, cast.room, {cast.owner: "owner"}, created_at=MOMENT)
    gone = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="aborted")
    key = f"recordings/{gone.id}.mp4"
    put_object(s3, key)
    res = client.post(f"/recordings/{gone.id}/delete", {"page": "1"}, headers=HX, status=200)
    assert res.text.lstrip().startswith('<section id="recordings"')
    assert "<html" not in res.text
    assert ids(res) == [str(kept.id)]
    assert "The recording has been deleted." in text(res)
    assert res.headers["Vary"].startswith("HX-Request")
    assert [r.id for r in recordings_of(dbsession, cast)] == [kept.id]
    assert not stored_keys(s3, key)


def test_delete_the_last_row_of_a_page_shows_the_page_before(recording_app, cast, dbsession):
    client = recording_app(**{"recording.page_size": "1"})
    client.login_as(cast.owner)
    newer = make_recording(dbsession, cast.room, {cast.owner: "owner"}, created_at=MOMENT)
    older = make_recording(
        dbsession, cast.room, {cast.owner: "owner"}, created_at=MOMENT - timedelta(days=1)
    )
    res = client.post(f"/recordings/{older.id}/delete", {"page": "2"}, headers=HX, status=200)
    assert ids(res) == [str(newer.id)]
    plain = make_recording(
        dbsession, cast.room, {cast.owner: "owner"}, created_at=MOMENT - timedelta(days=2)
    )
    res = client.post(f"/recordings/{plain.id}/delete", {"page": "2"}, status=303)
    assert res.location == "http://localhost/recordings/"


def test_delete_from_the_recordings_page(client, cast, dbsession):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="saved")
    res = client.post(f"/recordings/{recording.id}/delete", headers=HX, status=200)
    assert res.headers["HX-Redirect"] == "http://localhost/recordings/"
    assert "The recording has been deleted." in text(client.get("/recordings/"))
    other = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="saved")
    res = client.post(f"/recordings/{other.id}/delete", status=303)
    assert res.location == "http://localhost/recordings/"
    assert recordings_of(dbsession, cast) == []


@pytest.mark.parametrize("status", ["initiated", "active"])
def test_a_recording_that_has_not_ended_is_not_deleted(client, cast, dbsession, s3, status):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status=status)
    key = f"recordings/{recording.id}.mp4"
    put_object(s3, key)
    plain = client.post(f"/recordings/{recording.id}/delete", {"page": "1"}, status=403)
    assert "Only a recording that has ended can be deleted." in text(plain)
    fragment = client.post(
        f"/recordings/{recording.id}/delete", {"page": "1"}, headers=HX, status=403
    )
    assert fragment.text.lstrip().startswith('<section id="recordings"')
    assert "Only a recording that has ended can be deleted." in text(fragment)
    assert ids(fragment) == [str(recording.id)]
    assert [r.id for r in recordings_of(dbsession, cast)] == [recording.id]
    assert stored_keys(s3, key)


def test_delete_needs_the_csrf_token(client, cast, dbsession, s3):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="saved")
    key = f"recordings/{recording.id}.mp4"
    put_object(s3, key)
    res = client.post(
        f"/recordings/{recording.id}/delete", headers={"X-CSRF-Token": "forged"}, status=403
    )
    assert res.content_type == "text/html"
    assert len(recordings_of(dbsession, cast)) == 1
    assert stored_keys(s3, key)


def test_a_bad_page_hint_on_delete_returns_to_the_first_page(client, cast, dbsession):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="saved")
    res = client.post(f"/recordings/{recording.id}/delete", {"page": "x"}, status=303)
    assert res.location == "http://localhost/recordings/"

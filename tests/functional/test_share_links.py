"""Recording share links (issue 10 item 6): owners and administrators make, list and
revoke them; whoever holds one plays and downloads that one recording, without signing
in, until it expires or is revoked. Only the token's digest is stored."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from meet_web.models import RecordingShareLink
from tests.api_checks import BAD_BODIES, UUID, assert_bad_body, assert_error
from tests.conftest import make_recording, make_room, put_object

DATA = bytes(range(256)) * 64  # 16,384 bytes, each offset recognisable
TOKEN_IN_URL = re.compile(r"^http://localhost/recordings/shared/([A-Za-z0-9_-]{43})$")


def links_url(recording) -> str:
    return f"/api/v1.0/recordings/{recording.id}/share-links/"


def link_count(dbsession) -> int:
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(RecordingShareLink))


@pytest.fixture
def api(recording_app, cast):
    client = recording_app()
    client.login_as(cast.owner)
    return client


@pytest.fixture
def holder(recording_app):
    """Another browser, signed in as nobody: it has only the link."""
    return recording_app()


@pytest.fixture
def saved(dbsession, cast, s3):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    put_object(s3, f"recordings/{recording.id}.mp4", DATA)
    return recording


def share(api, recording, **body) -> tuple[dict, str]:
    """A new link to `recording` (through the API), and its token."""
    res = api.post_json(links_url(recording), body, status=201)
    match = TOKEN_IN_URL.match(res.json["url"])
    assert match, res.json["url"]
    return res.json, match.group(1)


def shared_path(token: str) -> str:
    return f"/recordings/shared/{token}"


def owned_recording_made_days_ago(dbsession, cast, days: int):
    """A recording of the cast's room, the owner's, made `days` days ago."""
    created_at = datetime.now(UTC) - timedelta(days=days)
    return make_recording(dbsession, cast.room, {cast.owner: "owner"}, created_at=created_at)


def expire(dbsession, link_id: str) -> None:
    dbsession.execute(
        update(RecordingShareLink)
        .where(RecordingShareLink.id == uuid.UUID(link_id))
        .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    )
    dbsession.flush()


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- create -----------------------------------------------------------------------------------


def test_create_answers_the_url_once_and_stores_only_a_digest(api, cast, saved, dbsession):
    before = datetime.now(UTC)
    body, token = share(api, saved)
    assert set(body) == {"id", "url", "created_at", "expires_at", "revoked_at", "status"}
    assert body["status"] == "active" and body["revoked_at"] is None
    expires = parse_time(body["expires_at"])
    assert before + timedelta(days=7) <= expires <= datetime.now(UTC) + timedelta(days=7)

    dbsession.expire_all()
    link = dbsession.get(RecordingShareLink, uuid.UUID(body["id"]))
    assert link.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert link.recording_id == saved.id and link.created_by_id == cast.owner.id
    # No column of the table holds the token, whatever its name.
    rows = dbsession.execute(text("SELECT * FROM recording_share_links")).all()
    assert rows and not any(token in str(value) for row in rows for value in row)


def test_create_for_a_number_of_days(api, saved):
    before = datetime.now(UTC)
    body, _ = share(api, saved, expires_in_days=30)
    expires = parse_time(body["expires_at"])
    assert before + timedelta(days=30) <= expires <= datetime.now(UTC) + timedelta(days=30)
    body, _ = share(api, saved, expires_in_days=365)
    assert parse_time(body["expires_at"]) > before + timedelta(days=364)
    body, _ = share(api, saved, expires_in_days=None)  # the default
    assert parse_time(body["expires_at"]) < before + timedelta(days=8)


def test_tokens_differ(api, saved):
    tokens = {share(api, saved)[1] for _ in range(3)}
    assert len(tokens) == 3


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "Ensure this value is greater than or equal to 1."),
        (-3, "Ensure this value is greater than or equal to 1."),
        (366, "Ensure this value is less than or equal to 365."),
        (10**9, "Ensure this value is less than or equal to 365."),
        (1.5, "A valid integer is required."),
        (7.0, "A valid integer is required."),
        (True, "A valid integer is required."),
        ("seven", "A valid integer is required."),
        ("7", "A valid integer is required."),  # JSON says numbers as numbers
        ("", "A valid integer is required."),
        ([7], "A valid integer is required."),
        ({"days": 7}, "A valid integer is required."),
    ],
)
def test_bad_expiry_is_refused_and_nothing_written(api, saved, dbsession, value, message):
    res = api.post_json(links_url(saved), {"expires_in_days": value}, status=400)
    assert assert_error(res, 400, "expires_in_days") == {"expires_in_days": [message]}
    assert link_count(dbsession) == 0


@pytest.mark.parametrize(("body", "content_type", "message"), BAD_BODIES)
def test_unusable_bodies(api, saved, dbsession, body, content_type, message):
    res = api.post(links_url(saved), body, content_type=content_type, status=400)
    assert_bad_body(res, message)
    assert link_count(dbsession) == 0


def test_expiry_bounded_by_the_recordings_expiration(recording_app, cast, dbsession, s3):
    client = recording_app(**{"recording.expiration_days": "10"})
    client.login_as(cast.owner)
    recent = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    res = client.post_json(links_url(recent), {"expires_in_days": 11}, status=400)
    assert res.json == {"expires_in_days": ["Ensure this value is less than or equal to 10."]}
    assert link_count(dbsession) == 0
    # Made 8 days ago, the recording expires in 2: so does a link asked for 7.
    older = owned_recording_made_days_ago(dbsession, cast, 8)
    body = client.post_json(links_url(older), {"expires_in_days": 7}, status=201).json
    assert parse_time(body["expires_at"]) == older.created_at + timedelta(days=10)


def test_default_expiry_within_a_short_expiration(recording_app, cast, dbsession):
    client = recording_app(**{"recording.expiration_days": "3"})
    client.login_as(cast.owner)
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    before = datetime.now(UTC)
    body = client.post_json(links_url(recording), {}, status=201).json
    expires = parse_time(body["expires_at"])
    assert expires == recording.created_at + timedelta(days=3)
    assert expires < before + timedelta(days=3, minutes=1)


@pytest.mark.parametrize("status", ["initiated", "active", "stopped", "aborted", "failed_to_start"])
def test_only_a_saved_recording_is_shared(api, cast, dbsession, status):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status=status)
    res = api.post_json(links_url(recording), {"expires_in_days": 3}, status=409)
    assert res.json == {"detail": "Only a saved recording can be shared."}
    assert link_count(dbsession) == 0


@pytest.mark.parametrize("status", ["notification_succeeded", "external_process_successful"])
def test_other_saved_statuses_are_shared(api, cast, dbsession, status):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status=status)
    share(api, recording)


def test_an_expired_recording_is_not_shared(recording_app, cast, dbsession):
    client = recording_app(**{"recording.expiration_days": "3"})
    client.login_as(cast.owner)
    old = make_recording(
        dbsession, cast.room, {cast.owner: "owner"}, created_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    res = client.post_json(links_url(old), {}, status=410)
    assert res.json == {"detail": "The recording has expired."}
    assert link_count(dbsession) == 0


# -- list and revoke --------------------------------------------------------------------------


def test_list_newest_first_with_status_and_no_secret(api, saved, dbsession):
    first, _ = share(api, saved)
    second, _ = share(api, saved, expires_in_days=2)
    third, _ = share(api, saved)
    api.delete(f"{links_url(saved)}{second['id']}/", status=204)
    expire(dbsession, first["id"])
    res = api.get(links_url(saved), status=200).json
    assert res["count"] == 3 and res["next"] is None and res["previous"] is None
    assert [item["id"] for item in res["results"]] == [third["id"], second["id"], first["id"]]
    assert [item["status"] for item in res["results"]] == ["active", "revoked", "expired"]
    for item in res["results"]:
        assert set(item) == {"id", "created_at", "expires_at", "revoked_at", "status"}
    assert res["results"][1]["revoked_at"] is not None


def test_list_pages(api, saved):
    made = [share(api, saved)[0]["id"] for _ in range(3)]
    page = api.get(links_url(saved), {"page_size": 2, "page": 2}, status=200).json
    assert page["count"] == 3 and [item["id"] for item in page["results"]] == [made[0]]
    assert_error(api.get(links_url(saved), {"page": 3, "page_size": 2}, status=404), 404)
    assert_error(api.get(links_url(saved), {"page_size": 0}, status=400), 400, "page_size")


def test_list_is_the_recordings_own(api, cast, saved, dbsession):
    other = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    share(api, other)
    assert api.get(links_url(saved), status=200).json["count"] == 0


def test_revoke_twice_is_harmless(api, saved, dbsession):
    body, _ = share(api, saved)
    url = f"{links_url(saved)}{body['id']}/"
    api.delete(url, status=204)
    dbsession.expire_all()
    revoked_at = dbsession.get(RecordingShareLink, uuid.UUID(body["id"])).revoked_at
    assert revoked_at is not None
    api.delete(url, status=204)
    dbsession.expire_all()
    assert dbsession.get(RecordingShareLink, uuid.UUID(body["id"])).revoked_at == revoked_at


@pytest.mark.parametrize("key", ["not-a-uuid", UUID])
def test_revoke_unknown_link(api, saved, key):
    res = api.delete(f"{links_url(saved)}{key}/", status=404)
    assert res.json == {"detail": "No RecordingShareLink matches the given query."}


def test_revoke_through_another_recording_is_not_found(api, cast, saved, dbsession):
    body, _ = share(api, saved)
    other = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    api.delete(f"{links_url(other)}{body['id']}/", status=404)
    dbsession.expire_all()
    assert dbsession.get(RecordingShareLink, uuid.UUID(body["id"])).revoked_at is None


def test_deleting_the_recording_deletes_its_links(api, holder, saved, dbsession):
    _, token = share(api, saved)
    api.delete(f"/api/v1.0/recordings/{saved.id}/", status=204)
    assert link_count(dbsession) == 0
    holder.get(shared_path(token), status=404)


# -- the holder's page and media ----------------------------------------------------------------


def test_holder_page_plays_and_downloads(api, holder, saved):
    _, token = share(api, saved)
    res = holder.get(shared_path(token), status=200)
    assert res.headers["Referrer-Policy"] == "no-referrer"
    assert res.headers["Cache-Control"] == "no-store"
    page = res.html
    assert page.find("h1").get_text(strip=True) == "Team Room"
    source = page.select_one("video#shared-player source")
    assert source["src"] == f"http://localhost{shared_path(token)}/media"
    assert source["type"] == "video/mp4"
    download = page.select_one("a#shared-download")
    assert download["href"] == f"http://localhost{shared_path(token)}/media?download=1"
    assert page.select_one("audio") is None
    assert "Sign out" not in res.text and "Delete" not in res.text


def test_holder_page_of_a_transcript_has_an_audio_player(api, holder, cast, dbsession, s3):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, mode="transcript")
    put_object(s3, f"recordings/{recording.id}.ogg", b"OggS" + DATA)
    _, token = share(api, recording)
    page = holder.get(shared_path(token), status=200).html
    source = page.select_one("audio#shared-player source")
    assert source["type"] == "audio/ogg" and page.select_one("video") is None
    res = holder.get(f"{shared_path(token)}/media", status=200)
    assert res.headers["Content-Type"] == "audio/ogg" and res.body.startswith(b"OggS")


def test_holder_media_with_ranges(api, holder, saved):
    _, token = share(api, saved)
    media = f"{shared_path(token)}/media"
    whole = holder.get(media, status=200)
    assert whole.body == DATA and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Referrer-Policy"] == "no-referrer"
    assert whole.headers["Content-Disposition"].startswith("inline;")
    assert whole.headers["Cache-Control"] == "private"  # the page, which holds the token: no-store
    part = holder.get(media, headers={"Range": "bytes=100-199"}, status=206)
    assert part.body == DATA[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(DATA)}"
    tail = holder.get(media, headers={"Range": "bytes=-10"}, status=206)
    assert tail.body == DATA[-10:]
    past = holder.get(media, headers={"Range": f"bytes={len(DATA)}-"}, status=416)
    assert past.headers["Content-Range"] == f"bytes */{len(DATA)}"
    head = holder.head(media, status=200)
    assert head.headers["Content-Length"] == str(len(DATA)) and head.body == b""
    download = holder.get(media, {"download": "1"}, status=200)
    assert download.headers["Content-Disposition"].startswith('attachment; filename="Team Room')


def test_a_revoked_link_stops_working_at_once(api, holder, saved):
    body, token = share(api, saved)
    holder.get(shared_path(token), status=200)
    api.delete(f"{links_url(saved)}{body['id']}/", status=204)
    res = holder.get(shared_path(token), status=410)
    assert res.headers["Referrer-Policy"] == "no-referrer"
    assert "This link was revoked" in res.text
    assert DATA[:16] not in holder.get(f"{shared_path(token)}/media", status=410).body


def test_an_expired_link(api, holder, saved, dbsession):
    body, token = share(api, saved)
    expire(dbsession, body["id"])
    res = holder.get(shared_path(token), status=410)
    assert "This link has expired" in res.text and "It worked until" in res.text
    holder.get(f"{shared_path(token)}/media", status=410)


def test_a_link_to_a_recording_that_expired(recording_app, holder, cast, dbsession, s3):
    owner = recording_app(**{"recording.expiration_days": "10"})
    owner.login_as(cast.owner)
    recording = owned_recording_made_days_ago(dbsession, cast, 9)
    _, token = share(owner, recording)
    sharer = recording_app(**{"recording.expiration_days": "10"})
    sharer.get(shared_path(token), status=200)
    # The operator shortens the expiration: the recording has now expired.
    later = recording_app(**{"recording.expiration_days": "5"})
    res = later.get(shared_path(token), status=410)
    assert "This recording is no longer available" in res.text
    later.get(f"{shared_path(token)}/media", status=410)


@pytest.mark.parametrize(
    "token",
    [
        "A" * 43,  # well-formed, names no link
        "short",
        "x" * 500,
        "%00" * 40,
        "not a token at all",
    ],
)
def test_unknown_tokens(holder, api, saved, token):
    share(api, saved)
    res = holder.get(shared_path(token), status=404)
    assert res.headers["Referrer-Policy"] == "no-referrer"
    assert "This link does not work" in res.text
    holder.get(f"{shared_path(token)}/media", status=404)


def test_a_token_opens_only_its_recording(api, holder, cast, saved, dbsession):
    """The holder reaches the shared page and its media, and nothing else through it."""
    _, token = share(api, saved)
    holder.get(f"/recordings/{saved.id}", status=303)  # the recording's own page: sign in
    holder.get(f"/recordings/{saved.id}/media", status=303)
    holder.get(f"{shared_path(token)}/share-links", status=404)
    holder.get(f"{shared_path(token)}/delete", status=404)
    holder.get("/recordings/shared/", status=404)
    holder.get(links_url(saved), status=401)
    holder.get(links_url(saved), {"share": token}, status=401)


# -- a media front (nginx + media-auth) ----------------------------------------------------------


@pytest.fixture
def fronted(recording_app):
    return lambda: recording_app(**{"recording.media_front": "true"})


def media_auth(client, recording, token: str | None, extension: str = "mp4", **kw):
    url = f"http://localhost/media/recordings/{recording.id}.{extension}"
    if token is not None:
        url += f"?share={token}"
    return client.get("/api/v1.0/recordings/media-auth/", headers={"X-Original-URL": url}, **kw)


def test_holder_page_points_at_the_front(fronted, cast, saved):
    owner = fronted()
    owner.login_as(cast.owner)
    _, token = share(owner, saved)
    page = fronted().get(shared_path(token), status=200).html
    src = page.select_one("video#shared-player source")["src"]
    assert src == f"http://localhost/media/recordings/{saved.id}.mp4?share={token}"
    download = page.select_one("a#shared-download")["href"]
    assert download == f"{src}&download=1"


def test_media_auth_accepts_a_live_token(fronted, cast, saved, dbsession):
    owner = fronted()
    owner.login_as(cast.owner)
    body, token = share(owner, saved)
    anonymous = fronted()
    res = media_auth(anonymous, saved, token, status=200)
    assert res.json == "authorized" and res.headers["Authorization"].startswith("AWS4-HMAC")
    media_auth(anonymous, saved, None, status=401)
    media_auth(anonymous, saved, "A" * 43, status=403)
    media_auth(anonymous, saved, token, extension="ogg", status=404)
    # a stranger holding the link is let in by it, as anyone would be
    stranger = fronted()
    stranger.login_as(cast.stranger)
    media_auth(stranger, saved, None, status=403)
    media_auth(stranger, saved, token, status=200)
    owner.delete(f"{links_url(saved)}{body['id']}/", status=204)
    res = media_auth(anonymous, saved, token, status=403)
    assert "Authorization" not in res.headers


def test_media_auth_refuses_a_token_for_another_recording(fronted, cast, saved, dbsession):
    owner = fronted()
    owner.login_as(cast.owner)
    other = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    _, token = share(owner, other)
    media_auth(fronted(), saved, token, status=403)


def test_media_auth_with_an_expired_link_or_recording(recording_app, cast, dbsession):
    def app(days: str):
        return recording_app(**{"recording.media_front": "true", "recording.expiration_days": days})

    owner = app("10")
    owner.login_as(cast.owner)
    recording = owned_recording_made_days_ago(dbsession, cast, 9)
    body, token = share(owner, recording)
    media_auth(app("10"), recording, token, status=200)
    media_auth(app("5"), recording, token, status=410)  # the recording expired
    expire(dbsession, body["id"])
    media_auth(app("10"), recording, token, status=403)  # the link expired


# -- the recording page's section ---------------------------------------------------------------


def recording_page(recording) -> str:
    return f"/recordings/{recording.id}"


def section_path(recording) -> str:
    return f"/recordings/{recording.id}/share-links"


def htmx(client) -> dict:
    return {"HX-Request": "true", "HX-Current-URL": "http://localhost/"}


def test_section_on_the_recording_page(api, saved):
    share(api, saved)
    page = api.get(recording_page(saved), status=200).html
    section = page.select_one("section#share-links")
    assert section is not None
    assert len(section.select("tbody tr")) == 1
    assert section.select_one("tbody tr")["data-status"] == "active"
    assert section.select_one("form.share-link-create input[name=expires_in_days]")["value"] == "7"
    assert section.select_one("#share-link-url") is None  # no token: it was shown once


def test_section_shown_to_administrators(recording_app, cast, dbsession):
    recording = make_recording(
        dbsession, cast.room, {cast.owner: "owner", cast.administrator: "administrator"}
    )
    admin = recording_app()
    admin.login_as(cast.administrator)
    assert admin.get(recording_page(recording), status=200).html.select_one("#share-links")


def test_section_for_an_unshareable_recording(api, cast, dbsession):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="stopped")
    section = api.get(recording_page(recording), status=200).html.select_one("#share-links")
    assert section.select_one("form.share-link-create") is None
    assert "Only a saved recording can be shared." in section.get_text()


def test_create_without_javascript(api, saved, dbsession):
    page = api.get(recording_page(saved), status=200)
    form = next(f for f in page.forms.values() if f.action.endswith("/share-links"))
    form["expires_in_days"] = "3"
    res = form.submit(status=303)
    assert res.location == f"http://localhost{recording_page(saved)}#share-links"
    assert link_count(dbsession) == 1
    page = res.follow(status=200)
    url = page.html.select_one("#share-link-url")["value"]
    match = TOKEN_IN_URL.match(url)
    assert match
    link = dbsession.scalars(select(RecordingShareLink)).one()
    assert link.token_digest == hashlib.sha256(match.group(1).encode()).hexdigest()
    assert "The share link was created." in page.text
    again = api.get(recording_page(saved), status=200)
    assert again.html.select_one("#share-link-url") is None  # shown once


def test_create_with_htmx(api, saved, dbsession):
    res = api.post(section_path(saved), {"expires_in_days": "2"}, headers=htmx(api), status=200)
    assert res.headers["Vary"].startswith("HX-Request")
    section = res.html.select_one("section#share-links")
    url = section.select_one("#share-link-url")["value"]
    assert TOKEN_IN_URL.match(url)
    assert section.select_one("button[data-copy-from=share-link-url]") is not None
    assert len(section.select("tbody tr")) == 1
    assert "<html" not in res.text
    assert link_count(dbsession) == 1


@pytest.mark.parametrize("value", ["0", "366", "abc", "1.5", "-1", "9" * 5000, "\u0661\u0662"])
def test_create_form_bad_days(api, saved, dbsession, value):
    res = api.post(section_path(saved), {"expires_in_days": value}, status=400)
    error = res.html.select_one("#share-link-days-error").get_text(strip=True)
    assert error.startswith(("Ensure this value", "A valid integer"))
    assert res.html.select_one("#share-link-days")["value"] == value
    assert "<html" in res.text  # a page of its own, with the section
    partial = api.post(
        section_path(saved), {"expires_in_days": value}, headers=htmx(api), status=400
    )
    assert partial.html.select_one("#share-link-days-error") is not None
    assert link_count(dbsession) == 0


def test_create_form_without_a_value_uses_the_default(api, saved, dbsession):
    api.post(section_path(saved), {"expires_in_days": ""}, status=303)
    dbsession.expire_all()
    link = dbsession.scalars(select(RecordingShareLink)).one()
    assert link.expires_at - link.created_at == timedelta(days=7)


def test_create_form_for_an_unsaved_recording(api, cast, dbsession):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="active")
    res = api.post(section_path(recording), {"expires_in_days": "3"}, status=409)
    assert "Only a saved recording can be shared." in res.text
    partial = api.post(
        section_path(recording), {"expires_in_days": "3"}, headers=htmx(api), status=409
    )
    assert "Only a saved recording can be shared." in partial.text
    assert link_count(dbsession) == 0


def test_revoke_from_the_page(api, holder, saved, dbsession):
    body, token = share(api, saved)
    page = api.get(recording_page(saved), status=200)
    form = next(f for f in page.forms.values() if f.action.endswith(f"{body['id']}/revoke"))
    res = form.submit(status=303)
    assert res.location.endswith("#share-links")
    holder.get(shared_path(token), status=410)
    follow = res.follow(status=200)
    assert "The share link was revoked" in follow.text
    row = follow.html.select_one(f"#share-link-{body['id']}")
    assert row["data-status"] == "revoked" and row.select_one("form") is None


def test_revoke_with_htmx(api, holder, saved):
    body, token = share(api, saved)
    res = api.post(f"{section_path(saved)}/{body['id']}/revoke", {}, headers=htmx(api), status=200)
    assert res.html.select_one(f"#share-link-{body['id']}")["data-status"] == "revoked"
    holder.get(shared_path(token), status=410)


def test_section_fragment_and_its_page(api, saved):
    share(api, saved)
    fragment = api.get(section_path(saved), headers=htmx(api), status=200)
    assert fragment.html.select_one("section#share-links") and "<html" not in fragment.text
    res = api.get(section_path(saved), status=303)
    assert res.location == f"http://localhost{recording_page(saved)}#share-links"


def test_revoke_an_unknown_link_from_the_page(api, saved, dbsession):
    api.post(f"{section_path(saved)}/{UUID}/revoke", {}, status=404)
    api.post(f"{section_path(saved)}/not-a-uuid/revoke", {}, status=404)


def test_the_holder_of_a_link_to_another_room(api, holder, cast, dbsession, s3):
    other_room = make_room(dbsession, "Other Room", cast.owner)
    recording = make_recording(dbsession, other_room, {cast.owner: "owner"})
    put_object(s3, f"recordings/{recording.id}.mp4", DATA)
    _, token = share(api, recording)
    page = holder.get(shared_path(token), status=200).html
    assert page.find("h1").get_text(strip=True) == "Other Room"


def test_pages_answer_404_while_recording_is_off(api, testapp, cast, saved):
    """The site's recording pages are off with recording; the API's links stay."""
    body, token = share(api, saved)
    testapp.get(shared_path(token), status=404)
    testapp.get(f"{shared_path(token)}/media", status=404)
    testapp.login_as(cast.owner)
    testapp.post(section_path(saved), {"expires_in_days": "3"}, status=404)
    testapp.post(f"{section_path(saved)}/{body['id']}/revoke", {}, status=404)
    assert testapp.get(links_url(saved), status=200).json["count"] == 1

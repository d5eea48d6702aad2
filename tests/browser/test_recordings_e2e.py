"""A recording from start to deletion, through real parts only: the owner (French,
Europe/Paris) starts it through the API of the served app, the LiveKit fake answers the
egress and its signed webhooks say it is active, then complete; the MP4 lands in the S3
server (moto) as the egress would write it; the completion mail reaches the SMTP server
(aiosmtpd) in French with the Paris time; its link opens the recording page, whose
player plays; a share link plays in a browser signed in as nobody until the owner
revokes it; deleting it from the list removes the object from the store.

`MEET_TEST_SCREENSHOTS=/tmp` keeps screenshots of the pages (recordings-e2e-*.png).
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from livekit import api
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from meet_web.models import (
    AccessLevel,
    Recording,
    RecordingStatus,
    ResourceAccess,
    Role,
    Room,
    User,
)
from meet_web.models.share_link import RecordingShareLink
from tests.browser.conftest import page_opener, serve_app
from tests.browser.test_accessibility import sign_in_as
from tests.browser.test_share_link_browser import make_mp4
from tests.conftest import RECORDINGS_BUCKET, recording_settings, stored_keys

SCREENSHOTS = os.environ.get("MEET_TEST_SCREENSHOTS")
WEBHOOK = "/api/v1.0/rooms/webhooks-livekit/"
PARIS = ZoneInfo("Europe/Paris")
EXPIRATION_DAYS = 7
READY = "(selector) => document.querySelector(selector)?.readyState >= 2"
PLAYED = "(selector) => document.querySelector(selector).currentTime > 0.3"
START_RECORDING = """async (url) => {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": token},
    body: JSON.stringify({mode: "screen_recording"}),
  });
  return {status: response.status, body: await response.json()};
}"""


@pytest.fixture(scope="module")
def server(settings, s3_server, smtp_server, tmp_path_factory):
    """The app recording to the S3 server and mailing through the SMTP server."""
    folder = tmp_path_factory.mktemp("recordings-e2e")
    overrides = recording_settings(
        s3_server, smtp_server, **{"recording.expiration_days": str(EXPIRATION_DAYS)}
    )
    with serve_app(settings, folder, **overrides) as live:
        yield live


@pytest.fixture
def video(s3, tmp_path) -> bytes:
    s3.create_bucket(RECORDINGS_BUCKET)
    return make_mp4(tmp_path / "recorded.mp4")


@pytest.fixture
def new_page(browser, server):
    with page_opener(browser, server.url, {"width": 1200, "height": 900}) as make:
        yield make


def a_french_owner_and_their_room(server) -> tuple[str, uuid.UUID]:
    """(login, room id) of an owner whose account is in French, in Paris."""
    number = uuid.uuid4().hex[:8]
    login = f"odile{number}"
    with server.dbsession() as db:
        owner = User(
            sub=login,
            email=f"{login}@example.org",
            full_name=f"Odile {number}",
            language="fr-fr",
            timezone="Europe/Paris",
        )
        room = Room(name="Weekly Review", slug=f"weekly-{number}", access_level=AccessLevel.PUBLIC)
        room.accesses.append(ResourceAccess(user=owner, role=Role.OWNER))
        db.add_all([owner, room])
        db.commit()
        return login, room.id


def recording_of(server, room_id) -> Recording | None:
    with server.dbsession() as db:
        return db.scalars(select(Recording).where(Recording.room_id == room_id)).one_or_none()


def eventually(read, timeout: float = 5.0):
    """`read()` once it is truthy; its last value otherwise."""
    deadline = time.monotonic() + timeout
    while not (value := read()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def notified(recording: Recording) -> Recording | None:
    """The recording once its owners were mailed."""
    return recording if recording.notified_at is not None else None


def metadata_of(livekit, room_id) -> dict:
    return json.loads(livekit.room(str(room_id)).metadata or "{}")


def screenshot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"recordings-e2e-{name}.png"), full_page=True)


def test_a_recording_from_start_to_deletion(new_page, server, livekit, s3, smtp, video):
    login, room_id = a_french_owner_and_their_room(server)
    livekit.add_room(str(room_id))  # the meeting is live
    owner = new_page()
    sign_in_as(owner, login)

    # Start, through the API as the meeting page calls it (session and CSRF header).
    answer = owner.evaluate(START_RECORDING, f"/api/v1.0/rooms/{room_id}/start-recording/")
    assert answer["status"] == 201, answer
    recording = recording_of(server, room_id)
    assert recording.status == RecordingStatus.ACTIVE
    [egress] = livekit.egresses(str(room_id))
    assert recording.worker_id == egress.egress_id
    [output] = egress.room_composite.file_outputs
    assert output.filepath == f"recordings/{recording.id}.mp4"
    assert eventually(lambda: metadata_of(livekit, room_id).get("recording_status")) == "starting"

    # LiveKit's signed webhooks: the egress is active...
    livekit.set_egress_status(egress.egress_id, api.EGRESS_ACTIVE)
    delivered = livekit.send_webhook(
        server.url + WEBHOOK, livekit.event("egress_updated", egress=egress.egress_id)
    )
    assert delivered.status_code == 200
    assert metadata_of(livekit, room_id)["recording_status"] == "started"

    # ...it wrote its file where it was told to, then it is complete.
    client = s3.client()
    try:
        client.put_object(
            Bucket=output.s3.bucket, Key=output.filepath, Body=video, ContentType="video/mp4"
        )
    finally:
        client.close()
    ended = livekit.set_egress_status(
        egress.egress_id,
        api.EGRESS_COMPLETE,
        filename=output.filepath,
        location=f"{output.s3.endpoint}/{output.s3.bucket}/{output.filepath}",
    )
    ended.file_results[0].duration = 2 * 10**9  # nanoseconds, as LiveKit reports it
    ended.file_results[0].size = len(video)
    delivered = livekit.send_webhook(
        server.url + WEBHOOK, livekit.event("egress_ended", egress=ended)
    )
    assert delivered.status_code == 200
    assert "recording_status" not in metadata_of(livekit, room_id)
    done = eventually(lambda: notified(recording_of(server, room_id)))
    assert done.status == RecordingStatus.NOTIFICATION_SUCCEEDED

    # The mail, in French, with the time in Paris.
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == [f"{login}@example.org"]
    assert mail["Content-Language"].lower().startswith("fr")
    assert mail.subject == "Votre enregistrement est prêt"
    paris = done.created_at.astimezone(PARIS)
    assert (
        f"L\u2019enregistrement de «\u00a0Weekly Review\u00a0» réalisé le {paris:%Y-%m-%d}"
        f" à {paris:%H:%M} est prêt." in mail.text
    )
    assert f"{done.created_at:%H:%M}" not in mail.text  # not the UTC time
    assert f"Il expirera dans {EXPIRATION_DAYS} jours." in mail.text
    link = f"{server.url}/recordings/{recording.id}"
    [found] = re.findall(rf"{re.escape(server.url)}/recordings/\S+", mail.text)
    assert found == link
    assert f'href="{link}"' in mail.html
    assert f"{paris:%H:%M}" in mail.html

    # Its link opens the recording page, whose player plays the MP4.
    owner.goto(found)
    expect(owner.locator("html")).to_have_attribute("lang", "fr")
    owner.wait_for_function(READY, arg="#recording-player")
    assert owner.evaluate("document.querySelector('#recording-player').videoWidth") == 160
    expect(owner.locator(".facts")).to_contain_text("0:02")  # the egress's duration
    screenshot(owner, "recording-page")

    # The owner makes a share link on the page.
    section = owner.locator("#share-links")
    section.locator("#share-link-days").fill("3")
    section.locator(".share-link-create button[type=submit]").click()
    address = section.locator("#share-link-url")
    expect(address).to_have_value(re.compile(rf"^{re.escape(server.url)}/recordings/shared/"))
    shared_url = address.input_value()
    expect(section.locator("tbody tr")).to_have_attribute("data-status", "active")
    screenshot(owner, "share-link-made")

    # A browser signed in as nobody plays it.
    holder = new_page()
    holder.goto(shared_url)
    expect(holder.get_by_role("heading", level=1)).to_have_text("Weekly Review")
    holder.wait_for_function(READY, arg="#shared-player")
    holder.evaluate(
        "() => { const v = document.querySelector('#shared-player');"
        " v.muted = true; return v.play(); }"
    )
    holder.wait_for_function(PLAYED, arg="#shared-player")
    screenshot(holder, "shared-playing")

    # The owner revokes it: the holder's next load is the revoked page, and no bytes.
    owner.once("dialog", lambda dialog: dialog.accept())
    section.locator("tbody tr form button[type=submit]").click()
    expect(section.locator("tbody tr")).to_have_attribute("data-status", "revoked")
    revoked = holder.reload()
    assert revoked.status == 410
    expect(holder.get_by_role("heading", level=1)).to_have_text("This link was revoked")
    expect(holder.locator("video")).to_have_count(0)
    assert holder.request.get(f"{shared_url}/media").status == 410
    screenshot(holder, "shared-revoked")

    # The owner deletes it from the list; its object leaves the store after the commit.
    owner.goto("/recordings/")
    row = owner.locator(f"#recording-{recording.id}")
    expect(row).to_be_visible()
    owner.once("dialog", lambda dialog: dialog.accept())
    row.locator("button.button-danger").click()
    expect(row).to_have_count(0)
    expect(owner.locator("#recordings .notice-success")).to_be_visible()
    screenshot(owner, "list-after-delete")
    assert recording_of(server, room_id) is None
    with server.dbsession() as db:
        links = select(func.count()).select_from(RecordingShareLink)
        assert db.scalar(links.where(RecordingShareLink.recording_id == recording.id)) == 0
    assert eventually(lambda: not stored_keys(s3, output.filepath)), "the object is still there"

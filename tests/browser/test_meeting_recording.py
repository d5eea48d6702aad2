"""The meeting page's recording state, through the loopback SFU (tests/servers/sfu) and
the real livekit-client: the owner starts a recording from the page (the real app asks
the LiveKit fake for an egress), the room metadata the app then writes reaches every
browser, LiveKit's egress webhooks move it on, the owner stops it. A guest sees the
badge and hears it announced, and gets no controls. Refusals and LiveKit's limit
notice are told in the page.

The app is served here with recording on (its objects on moto's S3 server, its mail to
the loopback SMTP server), on a database of its own. `MEET_TEST_SCREENSHOTS=/tmp` keeps
screenshots (recording-<language>-<who>.png).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from livekit import api
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from meet_web.models import AccessLevel, Recording, ResourceAccess, Role, Room, User
from tests.browser.conftest import serve_app
from tests.browser.media_fixtures import CAPTURE_ROOMS
from tests.browser.test_accessibility import check, sign_in_as
from tests.browser.test_media import SLOW
from tests.conftest import RECORDINGS_BUCKET, recording_settings

SCREENSHOTS = os.environ.get("MEET_TEST_SCREENSHOTS")
WEBHOOK = "/api/v1.0/rooms/webhooks-livekit/"
LANGUAGES = {
    "en": {"locale": "en-US"},
    "fr": {"locale": "fr-FR", "extra_http_headers": {"Accept-Language": "fr-FR"}},
}
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def recording_server(settings, s3_server, smtp_server, tmp_path_factory):
    s3_server.create_bucket(RECORDINGS_BUCKET)
    folder = tmp_path_factory.mktemp("recording-db")
    with serve_app(settings, folder, **recording_settings(s3_server, smtp_server)) as server:
        yield server


@pytest.fixture
def new_page(media_browser, recording_server, media_livekit, smtp) -> Iterator[Callable]:
    """Pages on the recording app, each in its own browser context."""
    contexts: list[BrowserContext] = []

    def make(language: str = "en") -> Page:
        context = media_browser.new_context(
            base_url=recording_server.url,
            viewport={"width": 1280, "height": 900},
            **LANGUAGES[language],
        )
        context.set_default_timeout(SLOW)
        context.add_init_script(CAPTURE_ROOMS)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()


class RecordedRoom:
    """A public room and its owner, on the recording app."""

    def __init__(self, server, language: str):
        number = next(_numbers)
        self.server = server
        self.slug, self.login = f"recorded-{number}", f"rita{number}"
        with server.dbsession() as db:
            owner = User(
                sub=self.login,
                email=f"{self.login}@example.org",
                full_name="Rita Owner",
                language={"en": "en-us", "fr": "fr-fr"}[language],
                is_active=True,
            )
            room = Room(
                name="Review", slug=self.slug, access_level=AccessLevel.PUBLIC, configuration={}
            )
            room.accesses.append(ResourceAccess(user=owner, role=Role.OWNER))
            db.add(room)
            db.commit()
            self.room_uuid = room.id
            self.room_id = str(room.id)

    def join_as_owner(self, page: Page) -> None:
        sign_in_as(page, self.login)
        page.goto(f"/{self.slug}/meeting")
        connected(page)

    def join_as_guest(self, page: Page, name: str) -> None:
        page.goto(f"/{self.slug}/meeting?username={name}")
        connected(page)

    def webhook(self, livekit, kind: str, egress_id: str) -> None:
        response = livekit.send_webhook(
            self.server.url + WEBHOOK, livekit.event(kind, egress=egress_id)
        )
        assert response.status_code == 200, response.text

    def recordings(self) -> list[Recording]:
        with self.server.dbsession() as db:
            return db.scalars(select(Recording).where(Recording.room_id == self.room_uuid)).all()


def connected(page: Page) -> None:
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "connected")


def control(page: Page, action: str):
    return page.locator(f'.meeting-controls [data-action="{action}"]')


def badge(page: Page):
    return page.locator("#recording-badge")


def announced(page: Page):
    return page.locator("#announcer")


def start_recording(page: Page, mode: str) -> None:
    control(page, "start-recording").click()
    page.locator(f'[data-recording-mode="{mode}"]').click()
    expect(control(page, "stop-recording")).to_be_visible()


def screenshot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"recording-{name}.png"), full_page=True)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_owner_records_and_everyone_sees_it(
    new_page, recording_server, media_livekit, language, capsys
):
    livekit = media_livekit
    room = RecordedRoom(recording_server, language)
    owner, guest = new_page(language), new_page(language)
    room.join_as_owner(owner)
    room.join_as_guest(guest, "Gus")
    expect(badge(owner)).to_be_hidden()
    expect(badge(guest)).to_be_hidden()
    expect(control(guest, "start-recording")).to_have_count(0)

    # both modes have a worker: the owner chooses one
    start = control(owner, "start-recording")
    expect(start).to_be_enabled()
    expect(start).to_have_attribute("aria-expanded", "false")
    start.click()
    expect(start).to_have_attribute("aria-expanded", "true")
    modes = owner.locator("#recording-modes [data-recording-mode]")
    expect(modes).to_have_count(2)
    expect(modes.first).to_be_focused()
    screenshot(owner, f"{language}-modes")
    owner.locator('[data-recording-mode="screen_recording"]').click()

    # the app started an egress and wrote `starting` into the room metadata
    stop = control(owner, "stop-recording")
    expect(stop).to_be_visible()
    expect(stop).to_be_focused()
    expect(start).to_be_hidden()
    for page in (owner, guest):
        expect(badge(page)).to_have_attribute("data-phase", "starting")
    [egress] = livekit.egresses(room.room_id)
    [recording] = room.recordings()
    assert recording.status == "active" and recording.worker_id == egress.egress_id

    # LiveKit says the egress is active
    livekit.set_egress_status(egress.egress_id, api.EGRESS_ACTIVE)
    room.webhook(livekit, "egress_updated", egress.egress_id)
    for page in (owner, guest):
        expect(badge(page)).to_be_visible()
        expect(badge(page)).to_have_attribute("data-phase", "on")
    if language == "en":
        expect(badge(guest)).to_have_text("Recording")
        expect(announced(guest)).to_contain_text("This meeting is being recorded.")
        expect(stop).to_have_text("Stop recording")
    screenshot(owner, f"{language}-owner")
    screenshot(guest, f"{language}-guest")
    check(owner, "meeting, recording", language, capsys)

    # the owner stops it; LiveKit ends the egress
    with owner.expect_response("**/stop-recording/") as stopped:
        stop.click()
    assert stopped.value.status == 200
    expect(stop).to_be_disabled()
    assert livekit.egress(egress.egress_id).status == api.EGRESS_ENDING
    room.webhook(livekit, "egress_updated", egress.egress_id)
    for page in (owner, guest):
        expect(badge(page)).to_have_attribute("data-phase", "stopping")
    if language == "en":
        expect(badge(guest)).to_have_text("Recording stopping…")
        expect(stop).to_have_text("Stopping…")
    livekit.set_egress_status(egress.egress_id, api.EGRESS_COMPLETE)
    room.webhook(livekit, "egress_ended", egress.egress_id)
    for page in (owner, guest):
        expect(badge(page)).to_be_hidden()
    expect(start).to_be_visible()
    expect(start).to_be_enabled()
    expect(stop).to_be_hidden()
    if language == "en":
        expect(announced(guest)).to_contain_text("The recording has stopped.")
    assert [r.status for r in room.recordings()] == ["notification_succeeded"]
    assert owner.errors == [] and guest.errors == []


def test_a_guest_joining_later_sees_the_recording_at_once(
    new_page, recording_server, media_livekit
):
    livekit = media_livekit
    room = RecordedRoom(recording_server, "en")
    owner = new_page()
    room.join_as_owner(owner)
    start_recording(owner, "transcript")
    [egress] = livekit.egresses(room.room_id)
    livekit.set_egress_status(egress.egress_id, api.EGRESS_ACTIVE)
    room.webhook(livekit, "egress_updated", egress.egress_id)
    expect(badge(owner)).to_have_text("Transcribing")
    expect(control(owner, "stop-recording")).to_have_text("Stop transcription")

    guest = new_page()
    room.join_as_guest(guest, "Late")
    expect(badge(guest)).to_have_text("Transcribing")
    expect(announced(guest)).to_contain_text("This meeting is being transcribed.")
    assert guest.errors == []


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        ("busy", "A recording is already in progress in this room."),
        ("egress", "The recording could not be started. Try again in a moment."),
    ],
)
def test_a_refused_start_says_why(new_page, recording_server, media_livekit, failure, message):
    livekit = media_livekit
    room = RecordedRoom(recording_server, "en")
    owner = new_page()
    room.join_as_owner(owner)
    if failure == "busy":  # another administrator's recording, not yet in the metadata
        with recording_server.dbsession() as db:
            db.add(Recording(room_id=room.room_uuid, status="active", worker_id="EG_other"))
            db.commit()
    else:
        livekit.fail("StartRoomCompositeEgress", "internal")
    control(owner, "start-recording").click()
    owner.locator('[data-recording-mode="screen_recording"]').click()
    expect(owner.locator("#meeting-notice [data-notice-text]")).to_have_text(message)
    expect(control(owner, "start-recording")).to_be_visible()
    expect(control(owner, "start-recording")).to_be_enabled()
    expect(control(owner, "stop-recording")).to_be_hidden()
    expect(badge(owner)).to_be_hidden()
    assert owner.errors == []


def test_the_limit_notice_reaches_everyone(new_page, recording_server, media_livekit):
    livekit = media_livekit
    room = RecordedRoom(recording_server, "en")
    owner, guest = new_page(), new_page()
    room.join_as_owner(owner)
    room.join_as_guest(guest, "Gus")
    start_recording(owner, "screen_recording")
    [egress] = livekit.egresses(room.room_id)
    livekit.set_egress_status(egress.egress_id, api.EGRESS_ACTIVE)
    room.webhook(livekit, "egress_updated", egress.egress_id)
    expect(badge(guest)).to_have_attribute("data-phase", "on")

    livekit.set_egress_status(egress.egress_id, api.EGRESS_LIMIT_REACHED)
    room.webhook(livekit, "egress_ended", egress.egress_id)
    for page in (owner, guest):
        expect(page.locator("#meeting-notice [data-notice-text]")).to_have_text(
            "The recording reached its maximum length and was stopped."
        )
        expect(badge(page)).to_be_hidden()
    expect(control(owner, "start-recording")).to_be_visible()
    assert owner.errors == [] and guest.errors == []

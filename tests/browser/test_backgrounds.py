"""Camera backgrounds in the browser: the account page uploads an image the way the API
asks (create, a PUT straight to moto's S3 server with the presigned URL, upload-ended),
shows it as a thumbnail, refuses what it must with a clear message and deletes; the
pre-join page then offers it beside none and blur (guests get none and blur only), its
preview shows the effect (the real processor and model, on Chromium's software WebGL),
and the meeting puts the choice on the published camera and changes it from the Devices
dialog. A camera whose effect cannot start (no model), or a browser without the means,
is told so and keeps showing.

The app is served here with files on, on a database of its own; nothing the pages do
may break the Content-Security-Policy. `MEET_TEST_SCREENSHOTS=/tmp` keeps screenshots.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from meet_web.models import AccessLevel, File, Room, User
from tests.browser.conftest import serve_app, sign_in
from tests.browser.media_fixtures import CAPTURE_ROOMS
from tests.browser.test_content_security_policy import RECORD_VIOLATIONS, violations
from tests.browser.test_media import ROOM, SLOW, expect_playing
from tests.conftest import RECORDINGS_BUCKET, files_settings, make_png, put_object

SCREENSHOTS = os.environ.get("MEET_TEST_SCREENSHOTS")
MODEL = Path(__file__).resolve().parents[2] / "static/vendor/mediapipe/selfie_segmenter.tflite"
TYPE_REFUSED = "This file is not an image of a type you can use (PNG, JPG, JPEG, WEBP)."


@pytest.fixture(scope="module")
def files_server(settings, s3_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("files-db")
    with serve_app(settings, folder, **files_settings(s3_server)) as server:
        yield server


@pytest.fixture
def bucket(s3):
    s3.create_bucket(RECORDINGS_BUCKET)
    return s3


def new_page(browser, server, **options):
    context = browser.new_context(
        base_url=server.url, viewport={"width": 1280, "height": 900}, **options
    )
    context.set_default_timeout(15_000)
    context.add_init_script(RECORD_VIOLATIONS)
    return context, context.new_page()


def screenshot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"backgrounds-{name}.png"), full_page=True)


def choose_file(page, path: Path) -> None:
    page.get_by_label("Add an image").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()


def test_account_page_uploads_and_deletes(browser, files_server, bucket, tmp_path):
    sunset = tmp_path / "sunset.png"
    sunset.write_bytes(make_png(64, 36, (230, 120, 40)))
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list")
    fake = tmp_path / "fake.png"
    fake.write_text("words, not pixels")
    huge = tmp_path / "huge.png"
    huge.write_bytes(make_png() + b"\x00" * (5 * 1024 * 1024))

    context, page = new_page(browser, files_server)
    try:
        sign_in(page, "bea")
        page.goto("/account")
        section = page.get_by_role("region", name="Camera backgrounds")
        expect(section).to_contain_text("You have no background images yet.")
        error = section.get_by_role("alert")

        choose_file(page, sunset)
        expect(section.get_by_role("status").first).to_have_text("Image added.")
        thumbnail = section.locator(".background-item img")
        expect(thumbnail).to_have_count(1)
        expect(section.locator(".background-item")).to_contain_text("sunset")
        page.wait_for_function(
            "() => document.querySelector('.background-item img').naturalWidth === 64"
        )
        screenshot(page, "account")

        choose_file(page, notes)  # refused before anything is sent
        expect(error).to_have_text(TYPE_REFUSED)
        choose_file(page, fake)  # sent, then refused by upload-ended
        expect(error).to_have_text(TYPE_REFUSED)
        choose_file(page, huge)
        expect(error).to_have_text("This image is too large: at most 5 MB.")
        screenshot(page, "account-refused")
        expect(thumbnail).to_have_count(1)

        section.get_by_role("button", name="Delete sunset").click()
        expect(section).to_contain_text("Background image deleted.")
        expect(section).to_contain_text("You have no background images yet.")
        assert violations(page) == []
    finally:
        context.close()

    with files_server.dbsession() as db:
        files = db.scalars(select(File).order_by(File.created_at)).all()
        kept = [(f.filename, str(f.upload_state), f.deleted_at is not None) for f in files]
    # the text renamed .png was hard-deleted by upload-ended; the image, softly, by its owner
    assert kept == [("sunset.png", "ready", True), ("fake.png", "analyzing", True)]


def test_uploads_go_to_the_stores_public_name(browser, settings, s3_server, bucket, tmp_path):
    """With `s3.public_endpoint_url` the browser PUTs there (the store as localhost; the
    app's own calls go to 127.0.0.1), and the page's policy lets it."""
    public = f"http://localhost:{urlsplit(s3_server.endpoint_url).port}"
    sent = []
    with serve_app(
        settings,
        tmp_path,
        **files_settings(s3_server, {"s3.public_endpoint_url": public}),
    ) as server:
        context, page = new_page(browser, server)
        try:
            page.on("request", lambda r: r.method == "PUT" and sent.append(r.url))
            sign_in(page, "bea")
            page.goto("/account")
            section = page.get_by_role("region", name="Camera backgrounds")
            sunset = tmp_path / "sunset.png"
            sunset.write_bytes(make_png(64, 36, (230, 120, 40)))
            choose_file(page, sunset)
            expect(section.get_by_role("status").first).to_have_text("Image added.")
            expect(section.locator(".background-item img")).to_have_count(1)
            assert violations(page) == []
        finally:
            context.close()
    assert [urlsplit(url).netloc for url in sent] == [urlsplit(public).netloc]


def seed_room(server) -> None:
    with server.dbsession() as db:
        if db.scalars(select(Room).where(Room.slug == "garden")).first() is None:
            db.add(Room(name="Garden", slug="garden", access_level=AccessLevel.PUBLIC))
            db.commit()


def seed_background(server, s3, login: str, title: str) -> None:
    png = make_png(32, 18, (20, 160, 90))
    with server.dbsession() as db:
        user = db.scalars(select(User).where(User.sub == login)).one()
        file = File(
            creator_id=user.id,
            filename=f"{title}.png",
            title=title,
            upload_state="ready",
            mimetype="image/png",
            size=len(png),
        )
        db.add(file)
        db.commit()
        key = file.key
    seed_room(server)
    put_object(s3, key, png)


PREVIEW_TRACK = "() => document.getElementById('preview-video').srcObject.getVideoTracks()[0].id"
FAILED = "The background effect could not start: your camera is shown as it is."
UNSUPPORTED = "Background effects are not available in this browser: your camera is shown as it is."


def status_of(page):
    return page.locator("[data-background-choice] [data-background-status]")


def expect_preview_playing(page) -> None:
    page.evaluate("() => { document.getElementById('preview-video').__seen = 0; }")
    expect_playing(page, "#preview-video")


def test_prejoin_offers_the_persons_images(media_browser, files_server, bucket):
    context, page = new_page(media_browser, files_server)
    guest_context, guest = new_page(media_browser, files_server)
    try:
        sign_in(page, "cleo")
        seed_background(files_server, bucket, "cleo", "forest")
        page.goto("/garden")
        choice = page.get_by_label("Background")
        expect(choice).to_be_visible()
        expect(choice.locator("option")).to_have_text(["None", "Blur", "forest"])
        expect(choice.locator("optgroup")).to_have_attribute("label", "Your images")
        expect_playing(page, "#preview-video")
        assert violations(page) == []

        guest.goto("/garden")
        guest_choice = guest.get_by_label("Background")
        expect(guest_choice).to_be_visible()
        expect(guest_choice.locator("option")).to_have_text(["None", "Blur"])
        assert violations(guest) == []
    finally:
        context.close()
        guest_context.close()


@pytest.mark.skipif(not MODEL.exists(), reason="make install writes the segmentation model")
@pytest.mark.parametrize("background", ["Blur", "forest"])
def test_prejoin_preview_shows_the_effect(media_browser, files_server, bucket, background):
    context, page = new_page(media_browser, files_server)
    try:
        sign_in(page, "dina")
        seed_background(files_server, bucket, "dina", "forest")
        page.goto("/garden")
        expect_playing(page, "#preview-video")
        camera = page.evaluate(PREVIEW_TRACK)
        choice = page.get_by_label("Background")
        choice.select_option(label=background)
        # the preview now shows the processor's track, and it plays
        page.wait_for_function(f"() => ({PREVIEW_TRACK})() !== {camera!r}", timeout=30_000)
        expect_preview_playing(page)
        expect(status_of(page)).to_have_text("")
        screenshot(page, f"prejoin-{background.lower()}")
        assert violations(page) == []
        # kept for the meeting page, and taken off again
        assert page.evaluate("() => sessionStorage.getItem('meet-background')") != "none"
        choice.select_option(label="None")
        page.wait_for_function(f"() => ({PREVIEW_TRACK})() === {camera!r}")
        expect_preview_playing(page)
    finally:
        context.close()


def test_an_effect_that_cannot_start(media_browser, files_server, bucket, monkeypatch):
    settings = files_server.app.registry.settings
    monkeypatch.setitem(settings, "backgrounds.model_url", "/static/vendor/no-such-model.tflite")
    context, page = new_page(media_browser, files_server)
    try:
        seed_room(files_server)
        page.goto("/garden")
        expect_playing(page, "#preview-video")
        choice = page.get_by_label("Background")
        choice.select_option(label="Blur")
        expect(status_of(page)).to_have_text(FAILED, timeout=30_000)
        expect(choice).to_have_value("none")
        expect_preview_playing(page)  # the camera goes on
        screenshot(page, "prejoin-failed")
    finally:
        context.close()


def test_a_browser_without_the_means(media_browser, files_server, bucket):
    seed_room(files_server)
    context, page = new_page(media_browser, files_server)
    page.context.add_init_script("delete window.OffscreenCanvas;")
    try:
        page.goto("/garden")
        choice = page.get_by_label("Background")
        expect(status_of(page)).to_have_text(UNSUPPORTED)
        expect(choice).to_be_disabled()
        expect(choice).to_have_value("none")
        expect_playing(page, "#preview-video")
    finally:
        context.close()


CAMERA = f"{ROOM}.localParticipant.getTrackPublication('camera')"


def processor_of(page) -> str | None:
    return page.evaluate(f"() => {CAMERA}?.track?.getProcessor()?.name ?? null")


@pytest.mark.skipif(not MODEL.exists(), reason="make install writes the segmentation model")
def test_the_meeting_keeps_and_changes_the_background(
    media_browser, files_server, bucket, media_livekit
):
    def meeting_page():
        context, page = new_page(media_browser, files_server)
        page.context.set_default_timeout(SLOW)
        page.context.add_init_script(CAPTURE_ROOMS)
        return context, page

    (ada_context, ada), (bob_context, bob) = meeting_page(), meeting_page()
    try:
        sign_in(ada, "eli")
        seed_background(files_server, bucket, "eli", "forest")
        ada.goto("/garden")
        expect_playing(ada, "#preview-video")
        ada.get_by_label("Background").select_option(label="Blur")
        ada.get_by_role("button", name="Join the meeting").click()
        ada.wait_for_url("**/garden/meeting**")
        expect(ada.locator("#connection-status")).to_have_attribute("data-state", "connected")
        # the camera starts as previewed, through the effect chosen before joining
        ada.wait_for_function(f"() => {CAMERA}?.track?.getProcessor()?.name")
        identity = ada.evaluate(f"{ROOM}.localParticipant.identity")

        bob.goto("/garden/meeting?username=Bob")
        expect(bob.locator("#connection-status")).to_have_attribute("data-state", "connected")
        expect_playing(bob, f'figure.tile[data-identity="{identity}"][data-source="camera"] video')

        ada.locator('.meeting-controls [data-action="settings"]').click()
        dialog = ada.get_by_role("dialog", name="Devices")
        choice = dialog.get_by_label("Background")
        expect(choice).to_have_value("blur")
        expect(choice.locator("option")).to_have_text(["None", "Blur", "forest"])
        screenshot(ada, "meeting-dialog")
        choice.select_option(label="forest")
        ada.wait_for_timeout(1_000)
        expect(dialog.locator("[data-background-status]")).to_have_text("")
        assert processor_of(ada) == "background-processor"
        choice.select_option(label="None")
        ada.wait_for_function(f"() => !{CAMERA}.track.getProcessor()")
        expect_playing(bob, f'figure.tile[data-identity="{identity}"][data-source="camera"] video')
        assert violations(ada) == [] and violations(bob) == []
    finally:
        ada_context.close()
        bob_context.close()

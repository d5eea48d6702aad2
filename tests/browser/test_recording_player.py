"""A recording's page in a real browser: its `<video>` plays a small real MP4 (H.264,
made here with PyAV) that the app streams from the S3 server (moto) with HTTP ranges,
and seeks in it; the list deletes a recording once the person confirms. In English and
in French.

`MEET_TEST_SCREENSHOTS=/tmp` keeps screenshots of the pages (recording-*.png).
"""

from __future__ import annotations

import io
import os
import random
import uuid
from pathlib import Path

import av
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from meet_web.models import (
    AccessLevel,
    Recording,
    RecordingAccess,
    RecordingStatus,
    Role,
    Room,
    User,
)
from tests.browser.conftest import page_opener, serve_app
from tests.browser.test_accessibility import check, sign_in_as
from tests.conftest import RECORDINGS_BUCKET, put_object, recording_settings

# A folder to keep screenshots of the pages in, for looking at them; none: not taken.
SCREENSHOTS = os.environ.get("MEET_TEST_SCREENSHOTS")
FRENCH = {"locale": "fr-FR", "extra_http_headers": {"Accept-Language": "fr-FR"}}
SECONDS, FPS, WIDTH, HEIGHT = 6, 15, 320, 240
PLAYER = "#recording-player"
# The player has the frame at its current position (HAVE_CURRENT_DATA or more).
PLAYER_READY = "(selector) => document.querySelector(selector).readyState >= 2"


def make_mp4() -> bytes:
    """A few seconds of H.264 in MP4, noisy enough to weigh a few megabytes, with its
    index (moov) after the frames, as a recorder writes it: a player must ask for the
    end of the file, and for the middle when it seeks, with ranges."""
    buffer = io.BytesIO()
    noise = random.Random(10)
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "20", "g": str(FPS)}
        for index in range(SECONDS * FPS):
            frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            frame.planes[0].update(noise.randbytes(WIDTH * HEIGHT))
            frame.planes[1].update(bytes([index * 7 % 256]) * (WIDTH * HEIGHT // 4))
            frame.planes[2].update(bytes([128]) * (WIDTH * HEIGHT // 4))
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def mp4() -> bytes:
    return make_mp4()


@pytest.fixture(scope="module")
def recording_server(settings, s3_server, smtp_server, tmp_path_factory):
    """The app recording to the S3 server, on a database of its own."""
    folder = tmp_path_factory.mktemp("recording-player-db")
    with serve_app(settings, folder, **recording_settings(s3_server, smtp_server)) as server:
        yield server


@pytest.fixture
def store(s3):
    s3.create_bucket(RECORDINGS_BUCKET)
    return s3


@pytest.fixture
def open_page(browser, recording_server):
    with page_opener(browser, recording_server.url, {"width": 1280, "height": 900}) as make:
        yield make


def saved_recording(server, store, body: bytes, *, language: str = "en-us") -> tuple[str, str]:
    """`(owner's login, recording id)` of a saved recording whose object is `body`."""
    number = uuid.uuid4().hex[:8]
    login = f"rita{number}"
    with server.dbsession() as db:
        owner = User(
            sub=login,
            email=f"{login}@example.org",
            full_name=f"Rita {number}",
            language=language,
            timezone="Europe/Paris",
        )
        room = Room(name="Weekly Review", slug=f"review-{number}", access_level=AccessLevel.PUBLIC)
        recording = Recording(room=room, status=RecordingStatus.SAVED)
        recording.accesses.append(RecordingAccess(user=owner, role=Role.OWNER))
        db.add_all([owner, room, recording])
        db.commit()
        recording_id = str(recording.id)
    put_object(store, f"recordings/{recording_id}.mp4", body, ContentType="video/mp4")
    return login, recording_id


def record_media_answers(page: Page, recording_id: str) -> list[tuple[int, str | None]]:
    """(status, Range asked) of every answer of the recording's media, as they arrive."""
    answers: list[tuple[int, str | None]] = []

    def seen(response):
        if f"/recordings/{recording_id}/media" in response.url:
            answers.append((response.status, response.request.headers.get("range")))

    page.on("response", seen)
    return answers


def screenshot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"recording-{name}.png"), full_page=True)


def range_start(header: str | None) -> int | None:
    if not header or not header.startswith("bytes="):
        return None
    first = header.removeprefix("bytes=").split("-", 1)[0]
    return int(first) if first else None


def test_the_player_plays_and_seeks_with_ranges(open_page, recording_server, store, mp4, capsys):
    login, recording_id = saved_recording(recording_server, store, mp4)
    page = open_page()
    answers = record_media_answers(page, recording_id)
    sign_in_as(page, login)
    page.goto(f"/recordings/{recording_id}")
    expect(page.get_by_role("heading", name="Recording of Weekly Review")).to_be_visible()
    page.wait_for_function(PLAYER_READY, arg=PLAYER)
    assert page.evaluate(f"document.querySelector('{PLAYER}').videoWidth") == WIDTH
    check(page, "recording page", "en", capsys)
    screenshot(page, "page-en")

    # plays: frames are decoded and time advances
    page.evaluate(
        f"() => {{ const v = document.querySelector('{PLAYER}'); v.muted = true; v.play(); }}"
    )
    page.wait_for_function(
        "(selector) => document.querySelector(selector).currentTime > 0.5", arg=PLAYER
    )
    page.evaluate(f"document.querySelector('{PLAYER}').pause()")

    # seeks near the end, where nothing was buffered
    seeked = page.evaluate(
        f"""() => new Promise((done) => {{
          const video = document.querySelector('{PLAYER}');
          video.addEventListener('seeked', () => done(video.currentTime), {{once: true}});
          video.currentTime = {SECONDS - 1.5};
        }})"""
    )
    assert seeked == pytest.approx(SECONDS - 1.5, abs=0.2)
    page.wait_for_function(PLAYER_READY, arg=PLAYER)

    assert answers, "the player fetched nothing"
    assert all(status == 206 for status, _range in answers), answers
    starts = [range_start(asked) for _status, asked in answers]
    assert None not in starts, answers
    assert any(start > 0 for start in starts), answers  # a range that skips the beginning

    # the download button gets the whole file, as an attachment
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    saved = download.value
    assert saved.suggested_filename.startswith("Weekly Review ")
    assert saved.suggested_filename.endswith(".mp4")
    assert Path(saved.path()).read_bytes() == mp4


def test_the_pages_in_french(open_page, recording_server, store, mp4, capsys):
    login, recording_id = saved_recording(recording_server, store, mp4, language="fr-fr")
    page = open_page(**FRENCH)
    sign_in_as(page, login)
    page.goto("/recordings/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator(f"#recording-{recording_id}")).to_be_visible()
    check(page, "my recordings", "fr", capsys)
    screenshot(page, "list-fr")
    page.locator(f"#recording-{recording_id} a").first.click()
    page.wait_for_url(f"**/recordings/{recording_id}")
    page.wait_for_function(PLAYER_READY, arg=PLAYER)
    check(page, "recording page", "fr", capsys)
    screenshot(page, "page-fr")


def test_delete_from_the_list_asks_first(open_page, recording_server, store, capsys):
    login, recording_id = saved_recording(recording_server, store, b"\x00\x00\x00\x18ftypmp42")
    page = open_page()
    sign_in_as(page, login)
    page.goto("/recordings/")
    row = page.locator(f"#recording-{recording_id}")
    expect(row).to_be_visible()
    check(page, "my recordings", "en", capsys)
    screenshot(page, "list-en")

    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Delete").click()
    page.wait_for_timeout(300)
    expect(row).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(page.locator("#recordings .notice-success")).to_have_text(
        "The recording has been deleted."
    )
    expect(row).to_have_count(0)
    expect(page.get_by_text("You have no recordings yet.")).to_be_visible()
    screenshot(page, "list-deleted-en")
    with recording_server.dbsession() as db:
        assert (
            db.scalars(select(Recording).where(Recording.id == uuid.UUID(recording_id))).all() == []
        )
    client = store.client()
    try:
        listed = client.list_objects_v2(
            Bucket=RECORDINGS_BUCKET, Prefix=f"recordings/{recording_id}"
        )
    finally:
        client.close()
    assert listed.get("KeyCount", 0) == 0

"""A share link in real browsers: the owner makes one on the recording page and copies
it, a browser signed in as nobody opens it and the player loads a real MP4 from the
S3 server through the app; once the owner revokes it, the same address shows the
revoked page."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from meet_web.models import AccessLevel, Recording, RecordingAccess, Role, Room, User
from tests.browser.conftest import page_opener, serve_app, sign_in
from tests.conftest import RECORDINGS_BUCKET, put_object, recording_settings

SCREENSHOTS = Path("/tmp")  # noqa: S108  (a fixed place to look at them)
PLAYING = "(video) => video.readyState >= 2"


def make_mp4(path: Path, frames: int = 48) -> bytes:
    """A two-second 160x120 VP9 video in an MP4 (Chromium plays VP9 without the
    proprietary codecs), its index first so a player starts before the end."""
    import av

    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libvpx-vp9", rate=24)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for index in range(frames):
            frame = av.VideoFrame(160, 120, "yuv420p")
            for plane, value in zip(frame.planes, (60 + index * 3, 90, 200 - index), strict=True):
                plane.update(bytes([value]) * plane.buffer_size)
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes()


@pytest.fixture(scope="module")
def server(settings, s3_server, smtp_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("share-link-browser")
    with serve_app(settings, folder, **recording_settings(s3_server, smtp_server)) as live:
        yield live


@pytest.fixture
def video(s3, tmp_path) -> bytes:
    s3.create_bucket(RECORDINGS_BUCKET)
    return make_mp4(tmp_path / "shared.mp4")


def saved_recording_of(server, s3, login: str, data: bytes) -> uuid.UUID:
    """A saved recording of a new room, owned by the signed-in `login`, its object stored."""
    with server.dbsession() as db:
        owner = db.scalars(select(User).where(User.sub == login)).one()
        room = Room(
            name="Quarterly Review",
            slug=f"quarterly-review-{uuid.uuid4().hex[:6]}",
            access_level=AccessLevel.RESTRICTED,
        )
        db.add(room)
        db.flush()
        recording = Recording(room_id=room.id, status="saved")
        recording.accesses.append(RecordingAccess(user_id=owner.id, role=Role.OWNER))
        db.add(recording)
        db.commit()
        recording_id = recording.id
    put_object(s3, f"recordings/{recording_id}.mp4", data, ContentType="video/mp4")
    return recording_id


def test_an_anonymous_browser_plays_a_shared_recording_until_it_is_revoked(
    browser, server, s3, video
):
    with page_opener(browser, server.url, {"width": 1100, "height": 860}) as new_page:
        owner = new_page(permissions=["clipboard-read", "clipboard-write"])
        holder = new_page()
        sign_in(owner, "dana")
        recording_id = saved_recording_of(server, s3, "dana", video)

        # The owner makes a link on the recording page (htmx) and copies it.
        owner.goto(f"/recordings/{recording_id}")
        section = owner.locator("#share-links")
        expect(section.get_by_role("heading", name="Share links")).to_be_visible()
        section.get_by_label("Works for (days)").fill("3")
        section.get_by_role("button", name="Create a share link").click()
        address = section.get_by_label("The new share link")
        expect(address).to_have_value(re.compile(rf"^{server.url}/recordings/shared/[\w-]{{43}}$"))
        url = address.input_value()
        section.get_by_role("button", name="Copy").click()
        expect(section.get_by_role("button", name="Copied")).to_be_visible()
        assert owner.evaluate("navigator.clipboard.readText()") == url
        expect(section.locator("tbody tr")).to_have_count(1)
        expect(section.locator("tbody tr")).to_contain_text("Active")
        owner.screenshot(path=str(SCREENSHOTS / "meet-share-link-owner.png"), full_page=True)

        # A browser signed in as nobody opens it: the player loads the video.
        holder.goto(url)
        expect(holder.get_by_role("heading", level=1)).to_have_text("Quarterly Review")
        expect(holder.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
        player = holder.locator("video#shared-player")
        holder.wait_for_function(
            "() => document.querySelector('video#shared-player').readyState >= 2"
        )
        assert player.evaluate(PLAYING)
        assert player.evaluate("(video) => video.duration") > 1.5
        download = holder.get_by_role("link", name="Download")
        expect(download).to_have_attribute("href", f"{url}/media?download=1")
        holder.screenshot(path=str(SCREENSHOTS / "meet-share-link-holder.png"), full_page=True)

        # The owner revokes it; the same address now says so.
        owner.on("dialog", lambda dialog: dialog.accept())
        section.get_by_role("button", name=re.compile("^Revoke the link created")).click()
        expect(section.get_by_role("status")).to_contain_text("The share link was revoked")
        expect(section.locator("tbody tr")).to_contain_text("Revoked")

        answer = holder.goto(url)
        assert answer.status == 410
        expect(holder.get_by_role("heading", level=1)).to_have_text("This link was revoked")
        expect(holder.locator("video")).to_have_count(0)
        holder.screenshot(path=str(SCREENSHOTS / "meet-share-link-revoked.png"), full_page=True)
        media = holder.request.get(f"{url}/media")
        assert media.status == 410

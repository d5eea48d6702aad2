"""A person signs in, creates a room and makes it restricted, all in a real browser."""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from meet_web.models import AccessLevel, Room
from tests.browser.conftest import sign_in

SCREENSHOT = "/tmp/meet-settings.png"  # noqa: S108  (a fixed place to look at it)


def test_create_a_room_and_restrict_it(page, live_server):
    sign_in(page, "carol")

    page.get_by_label("Room name").fill("Design Review")
    page.get_by_role("button", name="Create the room").click()
    page.wait_for_url(f"{live_server.url}/design-review")
    expect(page.get_by_role("heading", level=1)).to_have_text("Design Review")
    expect(page.locator(".flash")).to_contain_text("Room “Design Review” created.")

    page.get_by_role("link", name="Room settings").click()
    page.wait_for_url(f"{live_server.url}/design-review/settings")
    restricted = page.get_by_role("radio", name=re.compile("^Restricted"))
    expect(page.get_by_role("radio", name=re.compile("^Public"))).to_be_checked()
    restricted.check()
    page.get_by_role("button", name="Save settings").click()

    # htmx swaps the form in place: the message and the new choice show without a reload
    expect(page.locator("#room-settings").get_by_role("status")).to_have_text("Settings saved.")
    expect(page.get_by_role("radio", name=re.compile("^Restricted"))).to_be_checked()
    assert page.url == f"{live_server.url}/design-review/settings"
    expect(page.locator("#members")).to_contain_text("Carol Example")
    page.screenshot(path=SCREENSHOT, full_page=True)

    with live_server.dbsession() as db:
        room = db.scalars(select(Room).where(Room.slug == "design-review")).one()
        assert room.access_level == AccessLevel.RESTRICTED

    page.get_by_role("link", name="Back to the room").click()
    expect(page.locator(".facts")).to_contain_text("Restricted")

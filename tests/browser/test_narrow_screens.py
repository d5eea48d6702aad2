"""On a phone's width (390 px) no page is wider than the screen: the admin lists' tables
scroll sideways inside the page, and the audit log's table (no link inside) takes the
focus, so that the keyboard scrolls it too."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from tests.browser.conftest import sign_in
from tests.browser.test_admin_users import screenshot

PAGES = (
    "/",
    "/account",
    "/admin/",
    "/admin/users/",
    "/admin/rooms/",
    "/admin/recordings/",
    "/admin/dashboard/",
    "/admin/applications/",
    "/admin/audit/",
)


@pytest.fixture
def phone(browser, live_server):
    login = f"nina{uuid.uuid4().hex[:6]}"  # the live server's database outlives a test
    with live_server.dbsession() as db:
        nina = User(sub=login, email=f"{login}.with.a.long.address@example.org", is_operator=True)
        room = Room(
            name=f"A rather long room name for a phone {login}",
            slug=f"a-rather-long-room-name-for-a-phone-{login}",
            access_level=AccessLevel.PUBLIC,
        )
        room.accesses.append(ResourceAccess(user=nina, role=Role.OWNER))
        db.add(room)
        db.commit()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, login)
    yield page
    context.close()


def test_no_page_is_wider_than_a_phone(phone):
    for path in PAGES:
        phone.goto(path)
        expect(phone.get_by_role("heading", level=1)).to_be_visible()
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow} px wider than the screen"
        screenshot(phone, "narrow" + path.replace("/", "-").rstrip("-"))


def test_the_audit_table_scrolls_with_the_keyboard(phone):
    phone.goto("/admin/audit/")
    table = phone.locator("#audit-results table")
    assert table.evaluate("t => t.scrollWidth > t.clientWidth"), "the table fits: nothing to test"
    table.focus()
    phone.keyboard.press("ArrowRight")
    phone.keyboard.press("ArrowRight")
    expect(table).not_to_have_js_property("scrollLeft", 0)


def test_the_admin_lists_keep_a_row_to_one_line(phone):
    """Squeezed into a phone's width, the columns wrapped each row to many lines (the
    audit log's rows have two by design: the address and the request id)."""
    for path in ("/admin/users/", "/admin/rooms/"):
        phone.goto(path)
        heading = phone.locator("table.admin-table thead tr").bounding_box()["height"]
        rows = phone.locator("table.admin-table tbody tr").evaluate_all(
            "rows => rows.map(row => row.getBoundingClientRect().height)"
        )
        assert rows, f"{path}: no row to measure"
        assert max(rows) <= heading * 1.5, f"{path}: rows {rows}, heading {heading}"

"""An operator finds a user in the admin pages and deactivates them: the session that
user has open in another browser is refused on its next request."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import expect

from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from tests.browser.conftest import sign_in

SCREENSHOTS = os.environ.get("MEET_TEST_SCREENSHOTS")  # a folder, to look at the pages


def screenshot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS, f"{name}.png")), full_page=True)


def new_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    return context.new_page()


def test_an_operator_deactivates_a_user_whose_session_then_stops(browser, live_server):
    with live_server.dbsession() as db:
        db.add(User(sub="opal", email="opal@example.org", is_operator=True))
        vince = User(sub="vince", email="vince@example.org")
        room = Room(name="Vince Corner", slug="vince-corner", access_level=AccessLevel.PUBLIC)
        room.accesses.append(ResourceAccess(user=vince, role=Role.OWNER))
        db.add(room)
        db.commit()

    theirs = new_page(browser, live_server)
    sign_in(theirs, "vince")
    theirs.goto("/account")
    expect(theirs.get_by_role("heading", level=1)).to_be_visible()
    expect(theirs.get_by_role("link", name="Administration")).to_have_count(0)

    page = new_page(browser, live_server)
    sign_in(page, "opal")
    page.get_by_role("link", name="Administration").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Administration")
    screenshot(page, "admin-overview-en")
    page.get_by_role("navigation", name="Administration").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")

    # search as you type: htmx swaps the results and keeps the address in step
    page.get_by_label("Search by email, name or subject").press_sequentially("vinc")
    results = page.locator("#admin-results")
    expect(results.get_by_role("link", name="vince@example.org")).to_be_visible()
    expect(results.get_by_role("link", name="opal@example.org")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/admin/users/\?q=vinc"))
    screenshot(page, "admin-users-en")
    # a sort chosen by its column heading holds while the search goes on
    results.get_by_role("link", name="Email").click()
    expect(page).to_have_url(re.compile(r"sort=email"))
    page.get_by_label("Search by email, name or subject").fill("vince")
    expect(page).to_have_url(re.compile(r"q=vince&.*sort=email"))
    expect(results.get_by_role("link", name="vince@example.org")).to_be_visible()

    results.get_by_role("link", name="vince@example.org").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vince Example")
    expect(page.locator("main")).to_contain_text("Vince Corner")
    screenshot(page, "admin-user-en")
    page.get_by_role("link", name="Deactivate…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deactivate Vince Example?")
    screenshot(page, "admin-user-confirm-en")
    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator(".flash")).to_contain_text("This user is deactivated")
    expect(page.locator(".admin-facts")).to_contain_text("Deactivated")
    expect(page).to_have_url(re.compile(r"/admin/users/[0-9a-f-]{36}/$"))

    # their next request finds the session ended
    answer = theirs.request.get("/api/v1.0/users/me/")
    assert answer.status == 401
    theirs.goto("/account")
    expect(theirs.get_by_role("link", name="Sign in", exact=True)).to_be_visible()

    page.goto("/admin/rooms/")
    screenshot(page, "admin-rooms-en")
    page.get_by_role("link", name="Vince Corner").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vince Corner")
    screenshot(page, "admin-room-en")
    page.get_by_label("Email", exact=True).fill("opal@example.org")
    page.get_by_role("button", name="Add access").click()
    expect(page.locator(".flash")).to_contain_text("The access was added.")
    expect(page.locator("main")).to_contain_text("opal@example.org")

    page.select_option("#language-select", "fr-fr")
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", re.compile("^fr"))
    screenshot(page, "admin-room-fr")
    page.goto("/admin/users/")
    screenshot(page, "admin-users-fr")
    page.goto("/admin/")
    screenshot(page, "admin-overview-fr")

    # the audit log: its filters swap the results in place, the form stays as it is
    page.goto("/admin/audit/")
    results = page.locator("#audit-results")
    expect(results.get_by_role("columnheader", name="Source")).to_be_visible()
    actor = page.locator('input[name="actor"]')
    actor.press_sequentially("nobody")
    expect(results).to_contain_text("Aucun événement ne correspond à ces filtres.")
    expect(page).to_have_url(re.compile(r"/admin/audit/\?actor=nobody"))
    actor.fill("opal")
    expect(results.locator("tbody tr").first).to_contain_text("opal@example.org")
    expect(page.locator("form.admin-filters")).to_have_count(1)
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    screenshot(page, "admin-audit-fr")

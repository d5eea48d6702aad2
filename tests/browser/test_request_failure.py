"""A request htmx makes that fails (the server unreachable, or erring) says so on the
page, which would otherwise just not change; the next request that works hides it.
Driven with the keyboard only, on the audit log's filters, in English and in French."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from meet_web.models import User
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import tab_until
from tests.browser.test_admin_users import new_page, screenshot

OFFLINE = "The server cannot be reached."
FAILED = "Something went wrong on the server."
OFFLINE_FR = "Le serveur est injoignable."


def test_a_failing_filter_request_is_told_and_then_cleared(browser, live_server):
    with live_server.dbsession() as db:
        db.add(User(sub="olga", email="olga@example.org", is_operator=True))
        db.commit()
    page = new_page(browser, live_server)
    sign_in(page, "olga")
    page.goto("/admin/audit/")
    results = page.locator("#audit-results")
    notice = page.locator("#request-failure")
    expect(notice).to_be_hidden()

    tab_until(page, 'input[name="actor"]', limit=80)
    page.keyboard.type("olga")
    expect(page).to_have_url(re.compile(r"actor=olga"))
    expect(results.locator("tbody tr").first).to_contain_text("olga@example.org")

    # the server unreachable: the results stay, the notice says why nothing changed
    page.route(re.compile(r".*/admin/audit/\?.*"), lambda route: route.abort())
    page.keyboard.type("x")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(OFFLINE)
    expect(notice).to_have_attribute("role", "alert")
    expect(results.locator("tbody tr").first).to_contain_text("olga@example.org")
    screenshot(page, "request-failure-offline-en")

    # the server erring
    page.unroute(re.compile(r".*/admin/audit/\?.*"))
    page.route(
        re.compile(r".*/admin/audit/\?.*"),
        lambda route: route.fulfill(status=500, body="oops", content_type="text/plain"),
    )
    page.keyboard.press("Backspace")
    expect(notice).to_contain_text(FAILED)

    # back: the next request that works clears it
    page.unroute(re.compile(r".*/admin/audit/\?.*"))
    page.keyboard.type("y")
    expect(notice).to_be_hidden()
    expect(results).to_contain_text("No event matches these filters.")

    # dismissed with the keyboard
    page.route(re.compile(r".*/admin/audit/\?.*"), lambda route: route.abort())
    page.keyboard.press("Backspace")
    expect(notice).to_be_visible()
    tab_until(page, "#request-failure [data-dismiss]", limit=80)
    page.keyboard.press("Enter")
    expect(notice).to_be_hidden()
    page.unroute(re.compile(r".*/admin/audit/\?.*"))

    # in French
    page.select_option("#language-select", "fr-fr")
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", re.compile("^fr"))
    page.route(re.compile(r".*/admin/audit/\?.*"), lambda route: route.abort())
    tab_until(page, 'input[name="actor"]', limit=80)
    page.keyboard.type("z")
    expect(notice).to_contain_text(OFFLINE_FR)
    expect(notice.get_by_role("button", name="Fermer")).to_be_visible()
    screenshot(page, "request-failure-offline-fr")

"""The account page selects the browser's time zone until the person has chosen one."""

from playwright.sync_api import expect
from sqlalchemy import select

from meet_web.models import User
from tests.browser.conftest import sign_in

HINT = "Your browser\u2019s time zone is selected: save to keep it."


def open_account(browser, live_server, zone: str, login: str):
    context = browser.new_context(base_url=live_server.url, timezone_id=zone)
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, login)
    page.goto("/account")
    return context, page


def test_the_browser_zone_is_selected_until_one_is_saved(browser, live_server):
    context, page = open_account(browser, live_server, "Asia/Tokyo", "dora")
    try:
        select_zone = page.get_by_label("Time zone")
        expect(select_zone).to_have_value("Asia/Tokyo")
        expect(page.get_by_text(HINT)).to_be_visible()
        expect(select_zone).to_have_attribute("aria-describedby", "account-timezone-browser")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".flash")).to_contain_text("Account settings saved.")
    finally:
        context.close()
    with live_server.dbsession() as db:
        user = db.scalars(select(User).where(User.sub == "dora")).one()
        assert (user.timezone, user.timezone_chosen) == ("Asia/Tokyo", True)

    # chosen: another browser's zone changes nothing
    context, page = open_account(browser, live_server, "Europe/Paris", "dora")
    try:
        expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
        expect(page.get_by_text(HINT)).to_be_hidden()
    finally:
        context.close()


def test_a_zone_not_offered_changes_nothing(browser, live_server):
    # a zone the browser reports that the page does not list keeps the stored one
    context, page = open_account(browser, live_server, "Etc/GMT+5", "eve")
    try:
        expect(page.get_by_label("Time zone")).to_have_value("UTC")
        expect(page.get_by_text(HINT)).to_be_hidden()
    finally:
        context.close()

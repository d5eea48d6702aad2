"""Accessibility measured with axe-core (axe-playwright-python) on every page and state a
person meets, in English and in French: no serious or critical violation.

Each page's result is printed to the test output (`axe <page> [<lang>]: ...`), whether
it passes or not, so that the minor findings are seen too.
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from tests.browser.test_meeting_page import Meeting, add_two_others, serve_stand_in

BLOCKING = {"serious", "critical"}
LANGUAGES = {"en": "en-US", "fr": "fr-FR"}
AXE = Axe()


@pytest.fixture(scope="module")
def rooms(live_server):
    """A public room and a restricted one, owned by Astrid."""
    with live_server.dbsession() as db:
        owner = User(
            sub="astrid", email="astrid@example.org", full_name="Astrid Example", is_active=True
        )
        for name, slug, level in (
            ("Open Forum", "open-forum", AccessLevel.PUBLIC),
            ("Closed Board", "closed-board", AccessLevel.RESTRICTED),
        ):
            room = Room(name=name, slug=slug, access_level=level, configuration={})
            room.accesses.append(ResourceAccess(user=owner, role=Role.OWNER))
            db.add(room)
        db.commit()
    return {"public": "open-forum", "restricted": "closed-board"}


@pytest.fixture(params=sorted(LANGUAGES))
def language(request):
    return request.param


@pytest.fixture
def context_in(browser, live_server, language):
    contexts = []

    def make():
        context = browser.new_context(
            base_url=live_server.url,
            locale=LANGUAGES[language],
            extra_http_headers={"Accept-Language": LANGUAGES[language]},
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def sign_in_as(page, login: str) -> None:
    """The development identity provider's form, reached whatever the page's language."""
    page.goto("/api/v1.0/authenticate/?returnTo=/")
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any-password")
    page.locator("button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))


def check(page, name: str, language: str, capsys) -> None:
    """Run axe on the page as it is now; print what it found; fail on blocking ones."""
    results = AXE.run(page)
    violations = results.response["violations"]
    blocking = [v for v in violations if v.get("impact") in BLOCKING]
    summary = ", ".join(f"{v['id']} ({v.get('impact')}, {len(v['nodes'])})" for v in violations)
    with capsys.disabled():
        print(f"\naxe {name} [{language}]: {len(violations)} violation(s) {summary}".rstrip())  # noqa: T201 - the report asked for
    details = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n    "
        + "\n    ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"])
        for v in blocking
    )
    assert not blocking, f"{name} [{language}] has serious or critical violations:\n{details}"


def test_public_pages(context_in, rooms, language, capsys):
    page = context_in().new_page()
    page.goto("/")
    check(page, "home", language, capsys)
    page.goto(f"/{rooms['public']}")
    check(page, "room (pre-join)", language, capsys)
    response = page.goto("/no-such-room-here")
    assert response.status == 404
    check(page, "error 404", language, capsys)


def test_wait_page(context_in, rooms, language, capsys):
    page = context_in().new_page()
    page.goto(f"/{rooms['restricted']}")
    page.locator("input[name=username]").fill("Gina Guest")
    page.locator("form:has(input[name=username]) [type=submit]").first.click()
    expect(page.locator("[data-lobby-status]")).to_have_attribute("data-lobby-status", "waiting")
    check(page, "wait", language, capsys)


def test_signed_in_pages(context_in, rooms, language, capsys):
    page = context_in().new_page()
    sign_in_as(page, "astrid")
    check(page, "home (signed in)", language, capsys)
    page.goto(f"/{rooms['restricted']}")
    check(page, "room (owner)", language, capsys)
    page.goto(f"/{rooms['restricted']}/settings")
    check(page, "room settings", language, capsys)
    page.goto("/account")
    check(page, "account", language, capsys)


def test_meeting_page_with_three_participants(page, live_server, capsys):
    """The meeting page (livekit-client's scripted stand-in), its panels and a dialog."""
    meeting = Meeting(page, live_server)
    meeting.open()
    add_two_others(meeting)
    expect(page.locator("#stage .tile")).to_have_count(3)
    check(page, "meeting, 3 participants", "en", capsys)
    page.get_by_role("button", name="Chat").click()
    check(page, "meeting, chat open", "en", capsys)
    page.get_by_role("button", name="Devices").click()
    check(page, "meeting, devices dialog", "en", capsys)


def tab_until(page, selector: str, limit: int = 60) -> None:
    """Press Tab until the focused element matches `selector`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_joining_muting_and_leaving_with_the_keyboard_only(page, live_server, rooms):
    serve_stand_in(page)
    page.goto(f"/{rooms['public']}")
    page.locator("body").focus()
    tab_until(page, "input[name=username]")
    page.keyboard.type("Kim Keys")
    tab_until(page, "form:has(input[name=username]) [type=submit]")
    page.keyboard.press("Enter")
    status = page.locator("#connection-status")
    expect(status).to_have_attribute("data-state", "connected")
    microphone = page.locator("[data-action=microphone]")
    expect(microphone).to_be_enabled()
    before = microphone.get_attribute("aria-pressed")
    tab_until(page, "[data-action=microphone]")
    page.keyboard.press("Enter")
    expect(microphone).not_to_have_attribute("aria-pressed", before)
    tab_until(page, "[data-action=leave]")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/{rooms['public']}")

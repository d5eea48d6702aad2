"""The guest's wait page in Chromium: a denied guest's page knocks no more (so they do not
come back to the owners' lobby once the denial expires) until they ask again; Leave takes
them out of the lobby at once; without JavaScript the page reloads itself while waiting
and leads to the meeting once admitted.

The owner acts through the JSON API from a signed-in browser context (its cookies).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from tests.browser.conftest import sign_in

DENIED_TIMEOUT = 5  # lobby.denied_timeout's default, which the live server runs with


@dataclass
class Hall:
    id: str
    slug: str


@pytest.fixture
def room(live_server, request):
    """A restricted room of its own for each test (guests of another test may still be
    in the lobby for a few seconds), owned by Hugo."""
    slug = "hall-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]
    with live_server.dbsession() as db:
        owner = db.query(User).filter_by(sub="hugo").one_or_none() or User(
            sub="hugo",
            email="hugo@example.org",
            full_name="Hugo Example",
            is_active=True,
            is_operator=False,
        )
        hall = Room(name="Hall", slug=slug, access_level=AccessLevel.RESTRICTED, configuration={})
        hall.accesses.append(ResourceAccess(user=owner, role=Role.OWNER))
        db.add(hall)
        db.commit()
        return Hall(id=str(hall.id), slug=slug)


class Owner:
    def __init__(self, context, room: Hall):
        self.context, self.room_id = context, room.id
        self.page = context.new_page()
        sign_in(self.page, "hugo")

    def _csrf(self) -> dict:
        token = next(c["value"] for c in self.context.cookies() if c["name"] == "csrftoken")
        return {"X-CSRFToken": token.strip('"')}

    def waiting(self) -> list[str]:
        res = self.context.request.get(f"/api/v1.0/rooms/{self.room_id}/waiting-participants/")
        assert res.ok, res.text()
        return [p["username"] for p in res.json()["participants"]]

    def decide(self, identity: str, allow: bool) -> None:
        res = self.context.request.post(
            f"/api/v1.0/rooms/{self.room_id}/enter/",
            data={"participant_id": identity, "allow_entry": allow},
            headers=self._csrf(),
        )
        assert res.ok, res.text()


@pytest.fixture
def owner(browser, live_server, room):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    yield Owner(context, room)
    context.close()


def guest_context(browser, live_server, **options):
    context = browser.new_context(base_url=live_server.url, **options)
    context.set_default_timeout(10_000)
    return context


def identity_of(context) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == "lobbyParticipantId")


def knock_as_guest(page, room: Hall, name: str) -> None:
    page.goto(f"/{room.slug}")
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join the meeting").click()
    expect(page.locator("[data-lobby-status]")).to_have_attribute("data-lobby-status", "waiting")


def status(page):
    return page.locator("[data-lobby-status]")


def test_a_denied_guest_stays_out_until_they_ask_again(browser, live_server, room, owner):
    context = guest_context(browser, live_server)
    try:
        guest = context.new_page()
        knocks = []
        guest.on("request", lambda r: knocks.append(r.url) if r.url.endswith("/knock") else None)
        knock_as_guest(guest, room, "Dana Denied")
        assert owner.waiting() == ["Dana Denied"]

        owner.decide(identity_of(context), allow=False)
        expect(status(guest)).to_have_attribute("data-lobby-status", "denied")
        expect(guest.get_by_text("Your request to join was declined.")).to_be_visible()
        knocks_when_denied = len(knocks)

        time.sleep(DENIED_TIMEOUT + 2)  # the denial has expired in the store
        assert len(knocks) == knocks_when_denied, "the page knocked by itself"
        assert owner.waiting() == []
        expect(status(guest)).to_have_attribute("data-lobby-status", "denied")

        guest.get_by_role("button", name="Ask again").click()
        expect(status(guest)).to_have_attribute("data-lobby-status", "waiting")
        assert owner.waiting() == ["Dana Denied"]
        with guest.expect_request(f"**/{room.slug}/knock"):
            pass  # polling again, which renews the entry
    finally:
        context.close()


def test_leaving_takes_the_guest_out_of_the_lobby_at_once(browser, live_server, room, owner):
    context = guest_context(browser, live_server)
    try:
        guest = context.new_page()
        knock_as_guest(guest, room, "Lea Leaving")
        assert owner.waiting() == ["Lea Leaving"]
        guest.get_by_role("button", name="Leave").click()
        guest.wait_for_url(f"**/{room.slug}")
        expect(guest.get_by_role("button", name="Join the meeting")).to_be_visible()
        assert owner.waiting() == []
    finally:
        context.close()


def test_without_javascript_the_wait_page_keeps_waiting_then_enters(
    browser, live_server, room, owner, livekit
):
    context = guest_context(browser, live_server, java_script_enabled=False)
    try:
        guest = context.new_page()
        loads = []
        guest.on(
            "request", lambda r: loads.append(r.url) if f"/{room.slug}/meeting" in r.url else None
        )
        knock_as_guest(guest, room, "Nora Noscript")
        # Reloads renew the entry past its 3 s lifetime: wait for a few of them.
        deadline = time.monotonic() + 15
        while len(loads) < 4 and time.monotonic() < deadline:
            guest.wait_for_timeout(250)
        assert len(loads) >= 4, "the page does not reload itself"
        assert owner.waiting() == ["Nora Noscript"]

        owner.decide(identity_of(context), allow=True)
        expect(guest.locator("#meeting-title")).to_have_text("Hall", timeout=10_000)
        expect(status(guest)).to_have_count(0)
    finally:
        context.close()


def test_without_javascript_a_denied_page_stays_still(browser, live_server, room, owner):
    context = guest_context(browser, live_server, java_script_enabled=False)
    try:
        guest = context.new_page()
        knock_as_guest(guest, room, "Dora Still")
        owner.decide(identity_of(context), allow=False)
        expect(status(guest)).to_have_attribute("data-lobby-status", "denied", timeout=10_000)
        loads = []
        guest.on("request", lambda r: loads.append(r.url))
        guest.wait_for_timeout(3000)
        assert loads == []
        guest.get_by_role("button", name="Ask again").click()
        expect(status(guest)).to_have_attribute("data-lobby-status", "waiting")
        assert owner.waiting() == ["Dora Still"]
    finally:
        context.close()

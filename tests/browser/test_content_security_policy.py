"""The pages work under their Content-Security-Policy: nothing they need is blocked.

Every `securitypolicyviolation` event is recorded (by a script Playwright injects,
which the policy does not cover) while an owner signs in, opens the meeting page with
a guest waiting in the lobby (the htmx panel), and the guest is let in and connects to
LiveKit.
"""

import re

from playwright.sync_api import expect

from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from tests.browser.conftest import sign_in

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}`);
});
"""


def violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def test_no_page_breaks_the_policy(browser, live_server, livekit):
    with live_server.dbsession() as db:
        owner = User(sub="petra", email="petra@example.org", is_active=True, is_operator=False)
        room = Room(name="Desk", slug="desk", access_level=AccessLevel.RESTRICTED)
        room.accesses.append(ResourceAccess(user=owner, role=Role.OWNER))
        db.add(room)
        db.commit()

    owner_context = browser.new_context(base_url=live_server.url)
    guest_context = browser.new_context(base_url=live_server.url)
    for context in (owner_context, guest_context):
        context.add_init_script(RECORD_VIOLATIONS)
    try:
        owner_page = owner_context.new_page()
        sign_in(owner_page, "petra")
        assert violations(owner_page) == []
        owner_page.goto("/account")
        assert violations(owner_page) == []
        owner_page.goto("/desk/meeting")
        panel = owner_page.locator("#lobby-panel")
        expect(panel).to_contain_text("Nobody is waiting.")

        guest = guest_context.new_page()
        guest.goto("/desk")
        assert violations(guest) == []
        guest.get_by_label("Your name").fill("Gus Guest")
        guest.get_by_role("button", name="Join the meeting").click()
        expect(guest.locator("[data-lobby-status]")).to_have_attribute(
            "data-lobby-status", "waiting"
        )
        expect(panel).to_contain_text("Gus Guest", timeout=10_000)
        expect(panel.locator("svg.dot circle")).to_have_attribute("fill", re.compile(r"^hsl\("))
        assert violations(owner_page) == []
        panel.get_by_role("button", name="Admit").click()
        guest.wait_for_url("**/desk/meeting?username=Gus+Guest", timeout=10_000)
        livekit.wait_for_rtc(timeout=15, count=2)
        assert violations(guest) == []
        assert violations(owner_page) == []
    finally:
        owner_context.close()
        guest_context.close()

"""A guest knocks on a restricted room; its owner admits them from the meeting page;
the guest's browser then connects to LiveKit (the loopback fake) with its own token."""

from playwright.sync_api import expect

from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from tests.browser.conftest import sign_in


def test_owner_admits_a_guest_who_then_connects(browser, live_server, livekit):
    with live_server.dbsession() as db:
        owner = User(
            sub="olivia",
            email="olivia@example.org",
            full_name="Olivia Example",
            is_active=True,
            is_operator=False,
        )
        room = Room(
            name="Board", slug="board", access_level=AccessLevel.RESTRICTED, configuration={}
        )
        room.accesses.append(ResourceAccess(user=owner, role=Role.OWNER))
        db.add(room)
        db.commit()
        room_id = str(room.id)

    owner_context = browser.new_context(base_url=live_server.url)
    guest_context = browser.new_context(base_url=live_server.url)
    try:
        owner_page = owner_context.new_page()
        sign_in(owner_page, "olivia")
        owner_page.goto("/board/meeting")
        panel = owner_page.locator("#lobby-panel")
        expect(panel).to_contain_text("Nobody is waiting.")

        guest = guest_context.new_page()
        guest.goto("/board")
        guest.get_by_label("Your name").fill("Gina Guest")
        guest.get_by_role("button", name="Join the meeting").click()
        expect(guest.locator("[data-lobby-status]")).to_have_attribute(
            "data-lobby-status", "waiting"
        )

        expect(panel).to_contain_text("Gina Guest", timeout=10_000)
        panel.get_by_role("button", name="Admit").click()

        guest.wait_for_url("**/board/meeting?username=Gina+Guest", timeout=10_000)
        guest_identity = next(
            c["value"] for c in guest_context.cookies() if c["name"] == "lobbyParticipantId"
        )
        connection = livekit.wait_for_rtc(timeout=15, count=2)
        tokens = [c for c in livekit.rtc_connections if c.claims is not None]
        guest_claims = next(c.claims for c in tokens if c.claims.identity == guest_identity)
        assert guest_claims.video.room == room_id
        assert guest_claims.name == "Gina Guest"
        assert not guest_claims.video.room_admin
        assert connection.token
    finally:
        owner_context.close()
        guest_context.close()

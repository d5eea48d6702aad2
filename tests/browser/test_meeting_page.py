"""The meeting page against a scripted stand-in for livekit-client (livekit_stand_in.js,
served in place of the vendored UMD build), driven through `window.__standIn`; the
administrators' actions reach the real app, whose LiveKit is the loopback fake.

`MEET_TEST_SCREENSHOTS=/tmp` keeps screenshots of the page's states (meeting-*.png).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from tests.browser.conftest import sign_in

STAND_IN = (Path(__file__).parent / "livekit_stand_in.js").read_text()
# A folder to keep screenshots of the page's states in, for looking at them; none: not taken.
SCREENSHOTS = os.environ.get("MEET_TEST_SCREENSHOTS")
_numbers = itertools.count(1)


def serve_stand_in(page) -> None:
    page.route(
        "**/static/vendor/livekit-client.umd.js",
        lambda route: route.fulfill(body=STAND_IN, content_type="text/javascript"),
    )


def screenshot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"meeting-{name}.png"), full_page=True)


def js_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


class Meeting:
    """A room with a signed-in owner, and its meeting page open in the stand-in."""

    def __init__(self, page, live_server, *, access_level=AccessLevel.PUBLIC):
        number = next(_numbers)
        self.login = f"mona{number}"
        self.slug = f"meeting-{number}"
        with live_server.dbsession() as db:
            owner = User(
                sub=self.login,
                email=f"{self.login}@example.org",
                full_name="Mona Owner",
                is_active=True,
                is_operator=False,
            )
            room = Room(name="Weekly", slug=self.slug, access_level=access_level, configuration={})
            room.accesses.append(ResourceAccess(user=owner, role=Role.OWNER))
            db.add(room)
            db.commit()
            self.room_id, self.owner_id = str(room.id), str(owner.id)
        self.page = page

    def open(self, *, as_guest: str | None = None) -> None:
        """As the owner, or `as_guest` (a name) without signing in."""
        serve_stand_in(self.page)
        if as_guest is None:
            sign_in(self.page, self.login)
            self.page.goto(f"/{self.slug}/meeting")
        else:
            self.page.goto(f"/{self.slug}/meeting?username={as_guest}")
        expect(self.page.locator("#connection-status")).to_have_attribute("data-state", "connected")

    def stand_in(self, call: str, *args):
        arguments = ", ".join(json.dumps(a) for a in args)
        return self.page.evaluate(f"window.__standIn.{call}({arguments})")

    def tile(self, identity: str):
        return self.page.locator(f'#stage .tile[data-identity="{identity}"][data-source="camera"]')


@pytest.fixture
def meeting(page, live_server):
    return Meeting(page, live_server)


ANA = {
    "identity": "ana",
    "name": "Ana Lima",
    "attributes": {"is_authenticated": "true", "room_role": "", "color": "hsl(200, 60%, 40%)"},
    "camera": True,
    "microphone": {"sid": "TR_ana_mic"},
}
BOB = {
    "identity": "bob",
    "name": "Bob Stone",
    "attributes": {"is_authenticated": "false", "room_role": "", "color": "hsl(20, 60%, 40%)"},
    "microphone": {"sid": "TR_bob_mic", "muted": True},
}


def add_two_others(meeting: Meeting) -> None:
    meeting.stand_in("addParticipant", ANA)
    meeting.stand_in("addParticipant", BOB)


def test_three_participants_in_tiles_and_the_people_list(meeting, page):
    errors = js_errors(page)
    meeting.open()
    me = meeting.owner_id
    expect(meeting.tile(me)).to_have_class(re.compile("is-video-off"))
    expect(meeting.tile(me).locator(".tile-initials")).to_have_text("ME")
    screenshot(page, "1")

    add_two_others(meeting)
    expect(page.locator("#tiles .tile")).to_have_count(3)
    expect(page.locator("#tiles")).to_have_attribute("data-count", "3")
    # camera on: the video, no initials; camera off: the initials
    expect(meeting.tile("ana")).not_to_have_class(re.compile("is-video-off"))
    expect(meeting.tile("bob")).to_have_class(re.compile("is-video-off"))
    expect(meeting.tile("bob").locator(".tile-initials")).to_have_text("BS")
    expect(meeting.tile("bob").locator(".tile-name")).to_have_text("Bob Stone")
    # muted microphone, guest marks
    expect(meeting.tile("bob").locator(".tile-muted")).to_be_visible()
    expect(meeting.tile("ana").locator(".tile-muted")).to_be_hidden()
    expect(meeting.tile("bob").locator(".tile-guest")).to_be_visible()
    expect(meeting.tile("ana").locator(".tile-guest")).to_be_hidden()
    # speaking highlight from ActiveSpeakersChanged
    meeting.stand_in("setSpeakers", ["ana"])
    expect(meeting.tile("ana")).to_have_class(re.compile("is-speaking"))
    expect(meeting.tile("bob")).not_to_have_class(re.compile("is-speaking"))
    meeting.stand_in("setSpeakers", [])
    expect(meeting.tile("ana")).not_to_have_class(re.compile("is-speaking"))
    meeting.stand_in("setQuality", "ana", "poor")
    expect(meeting.tile("ana").locator(".tile-quality")).to_have_attribute(
        "aria-label", "Connection: poor"
    )
    # the People list: you first, everyone, the guest marked
    people = page.locator("#people-list > li")
    expect(people).to_have_count(3)
    expect(people.nth(0)).to_contain_text(re.compile(r"Mona\d+ Example \(you\)"))
    expect(people.nth(0)).to_contain_text("Owner")
    expect(people.nth(2)).to_contain_text("Bob Stone")
    expect(people.nth(2)).to_contain_text("Guest")
    expect(page.locator("[data-people-count]")).to_have_text("3")
    expect(page.locator("#announcer")).to_contain_text("Bob Stone joined the meeting.")
    screenshot(page, "3")

    meeting.stand_in("removeParticipant", "bob")
    expect(page.locator("#tiles .tile")).to_have_count(2)
    expect(page.locator("#announcer")).to_contain_text("Bob Stone left the meeting.")
    assert errors == []


def test_the_hand_queue_follows_handRaisedAt(meeting, page):
    meeting.open()
    add_two_others(meeting)
    meeting.stand_in("setAttributes", "bob", {"handRaisedAt": "2026-12-01T10:00:05+00:00"})
    meeting.stand_in("setAttributes", "ana", {"handRaisedAt": "2026-12-01T10:00:01+00:00"})
    queue = page.locator("#hand-list > li")
    expect(queue).to_have_text(["Ana Lima", "Bob Stone"])
    expect(meeting.tile("ana").locator(".tile-hand")).to_be_visible()
    expect(page.locator("#announcer")).to_contain_text("Bob Stone raised their hand.")
    meeting.stand_in("setAttributes", "ana", {"handRaisedAt": ""})
    expect(queue).to_have_text(["Bob Stone"])
    expect(meeting.tile("ana").locator(".tile-hand")).to_be_hidden()


def test_the_hand_button_shows_the_attribute_not_a_guess(meeting, page, livekit):
    meeting.open()
    livekit.add_participant(meeting.room_id, meeting.owner_id, "Mona Owner")
    hand = page.locator('[data-action="hand"]')
    hand.click()
    expect(hand).not_to_have_attribute("aria-busy", "true")
    [call] = livekit.calls_to("UpdateParticipant")
    assert call.request.identity == meeting.owner_id
    stamp = call.request.attributes["handRaisedAt"]
    # pressed only once LiveKit tells the room the attribute changed
    expect(hand).to_have_attribute("aria-pressed", "false")
    meeting.stand_in("setAttributes", meeting.owner_id, {"handRaisedAt": stamp})
    expect(hand).to_have_attribute("aria-pressed", "true")
    expect(hand).to_contain_text("Lower hand")
    expect(page.locator("#hand-list > li")).to_have_text([re.compile(r"^Mona\d+ Example \(you\)$")])

    livekit.fail("UpdateParticipant", "unavailable")
    hand.click()
    expect(page.locator("#meeting-notice")).to_contain_text("Your hand could not be lowered.")
    expect(hand).to_have_attribute("aria-pressed", "true")
    notice = page.locator("#meeting-notice").inner_text()
    assert "media server" not in notice
    assert "unavailable" not in notice


def test_a_failed_raise_leaves_the_button_unpressed(meeting, page, livekit):
    meeting.open()  # not in the fake's room: the API answers 404
    hand = page.locator('[data-action="hand"]')
    hand.click()
    expect(page.locator("#meeting-notice")).to_contain_text("Your hand could not be raised.")
    expect(hand).to_have_attribute("aria-pressed", "false")
    expect(hand).to_contain_text("Raise hand")


def test_chat_with_an_unread_count(meeting, page):
    meeting.open()
    add_two_others(meeting)
    unread = page.locator("[data-unread]")
    expect(unread).to_be_hidden()
    meeting.stand_in("sendText", "ana", "chat", "Hello everyone")
    meeting.stand_in("sendText", "bob", "chat", "Hi!")
    expect(unread).to_have_text("2")
    expect(unread).to_have_attribute("aria-label", "2 unread")
    page.get_by_role("button", name=re.compile("^Chat")).click()
    expect(unread).to_be_hidden()
    log = page.locator("#chat-log > li")
    expect(log).to_have_count(2)
    expect(log.nth(0)).to_contain_text("Ana Lima")
    expect(log.nth(0)).to_contain_text("Hello everyone")
    expect(page.locator("#chat-input")).to_be_focused()
    page.locator("#chat-input").fill("Good morning")
    page.locator("#chat-input").press("Enter")
    expect(log).to_have_count(3)
    expect(log.nth(2)).to_contain_text("Good morning")
    assert meeting.stand_in("sentTexts.slice") == [{"topic": "chat", "text": "Good morning"}]
    # a message while the panel is open is read at once
    meeting.stand_in("sendText", "bob", "chat", "Seen")
    expect(unread).to_be_hidden()


def test_a_reaction_is_shown_over_the_tile(meeting, page):
    meeting.open()
    add_two_others(meeting)
    meeting.stand_in("sendText", "ana", "reactions", "🎉")
    expect(meeting.tile("ana").locator('.reaction[data-emoji="🎉"]')).to_be_visible()
    expect(page.locator("#announcer")).to_contain_text("Ana Lima reacted 🎉")
    # not one of the page's reactions: not shown
    meeting.stand_in("sendText", "bob", "reactions", "<b>spam</b>")
    expect(meeting.tile("bob").locator(".reaction")).to_have_count(0)
    page.get_by_role("button", name="React", exact=True).click()
    expect(page.get_by_role("button", name="Thumbs up")).to_be_focused()
    page.get_by_role("button", name="Applause").click()
    expect(meeting.tile(meeting.owner_id).locator('.reaction[data-emoji="👏"]')).to_be_visible()
    assert {"topic": "reactions", "text": "👏"} in meeting.stand_in("sentTexts.slice")


def test_a_shared_screen_takes_the_spotlight_and_a_tile_can_be_pinned(meeting, page):
    meeting.open()
    add_two_others(meeting)
    stage = page.locator("#stage")
    expect(stage).to_have_attribute("data-layout", "grid")
    meeting.stand_in("shareScreen", "ana")
    expect(stage).to_have_attribute("data-layout", "spotlight")
    spotlit = page.locator("#spotlight .tile")
    expect(spotlit).to_have_attribute("data-source", "screen_share")
    expect(spotlit.locator(".tile-name")).to_have_text("Ana Lima's screen")
    expect(page.locator("#tiles .tile")).to_have_count(3)  # the strip
    screenshot(page, "screen-share")
    # pin Bob: he takes the spotlight, the screen goes to the strip
    meeting.tile("bob").locator(".tile-pin").click()
    expect(page.locator("#spotlight .tile")).to_have_attribute("data-identity", "bob")
    expect(page.locator('#tiles .tile[data-source="screen_share"]')).to_have_count(1)
    page.locator("#spotlight .tile-pin").click()
    expect(spotlit).to_have_attribute("data-source", "screen_share")
    meeting.stand_in("stopScreen", "ana")
    expect(stage).to_have_attribute("data-layout", "grid")
    expect(page.locator("#spotlight")).to_be_hidden()


@pytest.mark.parametrize(
    ("reason", "title", "text"),
    [
        (
            "PARTICIPANT_REMOVED",
            "You were removed from the meeting",
            "An administrator removed you from this meeting.",
        ),
        ("ROOM_DELETED", "The meeting has ended", "An administrator ended this meeting"),
    ],
)
def test_why_the_meeting_ended_is_told(meeting, page, reason, title, text):
    meeting.open()
    meeting.stand_in("disconnect", reason)
    problem = page.locator("#meeting-problem")
    expect(problem).to_be_visible()
    expect(problem.locator("h2")).to_have_text(title)
    expect(problem).to_contain_text(text)
    expect(problem.get_by_role("button", name="Retry")).to_be_hidden()
    expect(page.locator("#stage")).to_be_hidden()
    expect(page.locator('[data-action="microphone"]')).to_be_hidden()


def test_an_unreachable_media_server_offers_retry(meeting, page):
    page.add_init_script("window.__standInConnectFailures = 1;")
    serve_stand_in(page)
    sign_in(page, meeting.login)
    page.goto(f"/{meeting.slug}/meeting")
    problem = page.locator("#meeting-problem")
    expect(problem.locator("h2")).to_have_text("The meeting cannot be reached")
    expect(problem).to_contain_text("The media server cannot be reached.")
    assert "Failed to fetch" not in problem.inner_text()
    screenshot(page, "unreachable")
    retry = problem.get_by_role("button", name="Retry")
    expect(retry).to_be_focused()
    retry.click()
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "connected")
    expect(problem).to_be_hidden()
    assert len(meeting.stand_in("connectCalls.slice")) == 2


def test_a_lost_connection_offers_retry_and_reconnecting_is_shown(meeting, page):
    meeting.open()
    meeting.stand_in("reconnecting")
    status = page.locator("#connection-status")
    expect(status).to_have_text("Connection lost. Reconnecting…")
    meeting.stand_in("reconnected")
    expect(status).to_have_text("Reconnected.")
    meeting.stand_in("disconnect", "SIGNAL_CLOSE")
    problem = page.locator("#meeting-problem")
    expect(problem).to_contain_text("The connection to the meeting was lost.")
    problem.get_by_role("button", name="Retry").click()
    expect(status).to_have_attribute("data-state", "connected")


def test_admins_mute_remove_and_end_the_meeting(meeting, page, livekit):
    meeting.open()
    livekit.add_participant(meeting.room_id, meeting.owner_id, "Mona Owner")
    ana = livekit.add_participant(meeting.room_id, "ana", "Ana Lima", tracks=["microphone"])
    meeting.stand_in("addParticipant", {**ANA, "microphone": {"sid": ana.tracks[0].sid}})
    row = page.locator('#people-list li[data-identity="ana"]')

    row.get_by_role("button", name="Mute Ana Lima").click()
    expect(page.locator("#announcer")).to_contain_text("Ana Lima was muted.")
    assert livekit.participant(meeting.room_id, "ana").tracks[0].muted is True

    row.get_by_role("button", name="Remove Ana Lima").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Remove Ana Lima?")
    screenshot(page, "confirm-remove")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert livekit.calls_to("RemoveParticipant") == []
    expect(row.get_by_role("button", name="Remove Ana Lima")).to_be_focused()
    row.get_by_role("button", name="Remove Ana Lima").click()
    dialog.get_by_role("button", name="Remove", exact=True).click()
    expect(page.locator("#announcer")).to_contain_text("Ana Lima was removed from the meeting.")
    assert livekit.participant(meeting.room_id, "ana") is None

    livekit.fail("DeleteRoom", "internal")
    end = page.get_by_role("button", name="End meeting for everyone")
    end.click()
    dialog.get_by_role("button", name="End meeting", exact=True).click()
    expect(page.locator("#meeting-notice")).to_contain_text("The media server did not answer.")
    assert livekit.room(meeting.room_id) is not None
    end.click()
    dialog.get_by_role("button", name="End meeting", exact=True).click()
    expect(page.locator("#meeting-notice")).to_be_hidden()
    [_, call] = livekit.calls_to("DeleteRoom")
    assert call.request.room == meeting.room_id
    assert livekit.room(meeting.room_id) is None
    meeting.stand_in("disconnect", "ROOM_DELETED")  # what LiveKit then does
    expect(page.locator("#meeting-problem h2")).to_have_text("The meeting has ended")


def test_admins_promote_a_signed_in_participant(meeting, page, livekit, live_server):
    meeting.open()
    with live_server.dbsession() as db:
        ana_user = User(
            sub=f"ana-{meeting.slug}", email=f"ana-{meeting.slug}@example.org", is_active=True
        )
        db.add(ana_user)
        db.commit()
        ana_id = str(ana_user.id)
    livekit.add_participant(meeting.room_id, meeting.owner_id, "Mona Owner")
    livekit.add_participant(meeting.room_id, ana_id, "Ana Lima")
    meeting.stand_in("addParticipant", {**ANA, "identity": ana_id})
    meeting.stand_in("addParticipant", BOB)
    expect(page.get_by_role("button", name="Make Bob Stone an administrator")).to_have_count(0)
    page.get_by_role("button", name="Make Ana Lima an administrator").click()
    expect(page.locator("#announcer")).to_contain_text("Ana Lima is now an administrator.")
    with live_server.dbsession() as db:
        room = db.get(Room, uuid.UUID(meeting.room_id))
        assert room.role_of(uuid.UUID(ana_id)) == Role.ADMINISTRATOR


def test_an_admin_action_failing_says_so_in_words(meeting, page, livekit):
    meeting.open()
    meeting.stand_in("addParticipant", ANA)  # not in the fake: LiveKit answers not found
    page.get_by_role("button", name="Mute Ana Lima").click()
    notice = page.locator("#meeting-notice")
    expect(notice).to_contain_text("This person is no longer in the meeting.")
    assert "not found" not in notice.inner_text()


def test_the_lobby_panel_follows_participant_waiting_and_admits_all(
    browser, live_server, page, livekit
):
    meeting = Meeting(page, live_server, access_level=AccessLevel.RESTRICTED)
    meeting.open()
    panel = page.locator("#lobby-panel")
    expect(panel).to_contain_text("Nobody is waiting.")
    guests = [browser.new_context(base_url=live_server.url) for _ in range(2)]
    try:
        for number, guest in enumerate(guests):
            guest.request.post(
                f"/api/v1.0/rooms/{meeting.room_id}/request-entry/",
                data={"username": f"Guest {number}"},
            )
        meeting.stand_in("sendData", {"type": "participantWaiting"})
        expect(panel).to_contain_text("Guest 0")
        expect(panel).to_contain_text("Guest 1")
        expect(page.locator("#announcer")).to_contain_text("Someone is waiting in the lobby.")
        panel.get_by_role("button", name=re.compile("^Admit all")).click()
        expect(panel).to_contain_text("Nobody is waiting.")
        for number, guest in enumerate(guests):
            answer = guest.request.post(
                f"/api/v1.0/rooms/{meeting.room_id}/request-entry/",
                data={"username": f"Guest {number}"},
            ).json()
            assert answer["status"] == "accepted"
    finally:
        for guest in guests:
            guest.close()


def test_keyboard_shortcuts_and_devices_from_the_prejoin_page(meeting, page):
    choices = json.dumps({"camera": "cam-2", "microphone": "mic-1"})
    page.add_init_script(f"sessionStorage.setItem('meet-devices', {json.dumps(choices)});")
    meeting.open()
    room_options = meeting.stand_in("room.options.valueOf")
    assert room_options["videoCaptureDefaults"] == {"deviceId": "cam-2"}
    assert room_options["audioCaptureDefaults"] == {"deviceId": "mic-1"}
    microphone = page.locator('[data-action="microphone"]')
    camera = page.locator('[data-action="camera"]')
    # coming from the pre-join page, the call starts with both on, on the chosen devices
    expect(microphone).to_have_attribute("aria-pressed", "true")
    expect(camera).to_have_attribute("aria-pressed", "true")
    assert meeting.stand_in("room.localParticipant.lastCaptureOptions.valueOf") == {
        "microphone": {"deviceId": "mic-1"},
        "camera": {"deviceId": "cam-2"},
    }
    page.locator("body").press("m")
    expect(microphone).to_have_attribute("aria-pressed", "false")
    expect(microphone).to_contain_text("Turn on microphone")
    page.locator("body").press("v")
    expect(camera).to_have_attribute("aria-pressed", "false")
    expect(meeting.tile(meeting.owner_id)).to_have_class(re.compile("is-video-off"))
    # typing in the chat is not a shortcut
    page.get_by_role("button", name=re.compile("^Chat")).click()
    page.locator("#chat-input").press("m")
    expect(microphone).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#chat-input")).to_have_value("m")

    page.get_by_role("button", name="Devices").click()
    dialog = page.locator("#settings-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Camera")).to_have_value("cam-2")
    dialog.get_by_label("Camera").select_option("cam-1")
    page.wait_for_function("window.__standIn.switchedDevices.length === 1")
    assert meeting.stand_in("switchedDevices.slice") == [
        {"kind": "videoinput", "deviceId": "cam-1"}
    ]
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    stored = page.evaluate('JSON.parse(sessionStorage.getItem("meet-devices"))')
    assert stored["camera"] == "cam-1"


def test_device_errors_are_sentences(meeting, page):
    page.add_init_script('window.__standInDeviceFailures = {camera: "NotFoundError"};')
    meeting.open()
    page.locator("body").press("v")
    notice = page.locator("#meeting-notice")
    expect(notice).to_contain_text("No camera was found.")
    assert "NotFoundError" not in notice.inner_text()
    expect(page.locator('[data-action="camera"]')).to_have_attribute("aria-pressed", "false")


def test_copy_the_meeting_link(meeting, page, live_server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    meeting.open()
    page.get_by_role("button", name="Copy meeting link").click()
    expect(page.locator("#announcer")).to_contain_text("The meeting link was copied.")
    assert page.evaluate("navigator.clipboard.readText()") == f"{live_server.url}/{meeting.slug}"


def test_the_page_in_french(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    try:
        page = context.new_page()
        meeting = Meeting(page, live_server)
        meeting.open(as_guest="Gaston")
        texts = json.loads(page.locator("#meeting-texts").text_content())
        assert {"raiseHand", "removed", "ended", "unreachable", "noCamera"} <= set(texts)
        assert texts["raiseHand"] == "Lever la main"
        assert texts["ended"] == "Un administrateur a mis fin à cette réunion pour tout le monde."
        expect(page.locator('[data-action="hand"]')).to_contain_text("Lever la main")
        expect(page.locator("#connection-status")).to_have_text("Connexion établie.")
        expect(page.locator('[data-panel-toggle="chat-panel"]')).to_contain_text("Discussion")
        expect(page.locator("#shortcut-help")).to_contain_text("M active ou coupe le micro")
        expect(page.locator('[data-action="microphone"]')).to_contain_text("Activer le micro")
        assert page.locator("html").get_attribute("lang") == "fr"
    finally:
        context.close()


# Devices the browser lists without their names (as before any permission was given).
UNNAMED_DEVICES = """
navigator.mediaDevices.getUserMedia = async () => new MediaStream();
navigator.mediaDevices.enumerateDevices = async () => [
  { kind: "videoinput", deviceId: "cam-a", label: "" },
  { kind: "audioinput", deviceId: "mic-a", label: "" },
];
"""


def test_the_prejoin_form_in_french(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        meeting = Meeting(page, live_server)
        # this headless browser has neither camera nor microphone
        page.goto(f"/{meeting.slug}")
        expect(page.locator("#preview-status")).to_have_text(
            "Aucune caméra ni aucun micro disponible\u00a0: vous pouvez tout de même rejoindre"
            " la réunion et écouter."
        )
        listed = context.new_page()
        listed.add_init_script(UNNAMED_DEVICES)
        # a stream without tracks holds the page's load event back: do not wait for it
        listed.goto(f"/{meeting.slug}", wait_until="domcontentloaded")
        cameras = listed.locator("#camera-select option")
        expect(cameras).to_have_text(["Caméra par défaut", "Caméra 1"])
        microphones = listed.locator("#microphone-select option")
        expect(microphones).to_have_text(["Micro par défaut", "Micro 1"])
    finally:
        context.close()


def tab_to(page, name: str, limit: int = 60) -> None:
    """Press Tab until the focused element's accessible name is `name`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement;"
            " return e.getAttribute('aria-label') || e.textContent.trim(); })()"
        )
        if focused == name:
            return
    raise AssertionError(f"{name!r} is not reachable with Tab")


def test_the_meeting_works_with_the_keyboard_only(meeting, page, livekit):
    meeting.open()
    livekit.add_participant(meeting.room_id, "ana", "Ana Lima", tracks=["microphone"])
    meeting.stand_in("addParticipant", ANA)
    page.locator("body").focus()
    tab_to(page, "Pin Ana Lima")
    expect(meeting.tile("ana").locator(".tile-pin")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#spotlight .tile")).to_have_attribute("data-identity", "ana")
    tab_to(page, "Remove Ana Lima")
    page.keyboard.press("Enter")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Remove Ana Lima")).to_be_focused()
    assert livekit.calls_to("RemoveParticipant") == []
    tab_to(page, "Raise hand")
    tab_to(page, "Devices")
    page.keyboard.press("Enter")
    settings = page.locator("#settings-dialog")
    expect(settings).to_be_visible()
    page.keyboard.press("Escape")
    expect(settings).to_be_hidden()
    expect(page.get_by_role("button", name="Devices")).to_be_focused()

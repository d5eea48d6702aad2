"""The guest's side of the lobby in the pages: the wait page, what it asks the browser to
do in each state (knock again with htmx, reload without JavaScript, or nothing), asking
again after a denial, and leaving.

The owners' view is their lobby panel and the JSON list of waiting participants.
"""

from __future__ import annotations

import json
import re

import pytest
from bs4 import BeautifulSoup

from tests.conftest import ACTORS
from tests.functional.test_meeting_pages import meeting_config

ROOM = "/team-room"
COOKIE = "lobbyParticipantId"
HTMX = {"HX-Request": "true"}


def html(res) -> BeautifulSoup:
    return BeautifulSoup(res.text, "html.parser")


def wait_page(guest, username="Gina", **kw):
    return guest.get(f"{ROOM}/meeting", params={"username": username}, **kw)


def poll(guest, username="Gina"):
    return guest.post(f"{ROOM}/knock", {"username": username}, headers=HTMX)


def decide(owner, guest, allow: bool, identity: str | None = None):
    identity = identity or guest.cookies[COOKIE]
    owner.post(
        f"{ROOM}/lobby",
        {"participant_id": identity, "allow_entry": "true" if allow else "false"},
        headers=HTMX,
    )


def waiting_names(owner, room) -> list[str]:
    res = owner.get(f"/api/v1.0/rooms/{room.id}/waiting-participants/")
    return [p["username"] for p in res.json["participants"]]


def state(res) -> str:
    return html(res).select_one("[data-lobby-status]")["data-lobby-status"]


def knocks_by_itself(res) -> list[str]:
    """What in this HTML would make the browser knock again with nobody pressing anything:
    htmx triggers other than a form's own submit, and meta refreshes."""
    doc = html(res)
    found = [f"hx-trigger={el['hx-trigger']}" for el in doc.select("[hx-trigger]")]
    found += [
        f"{el.name} hx-post={el['hx-post']}"
        for el in doc.select("[hx-post]")
        if el.name != "form" and not el.has_attr("hx-trigger")  # e.g. a polling div
    ]
    found += [f"refresh={el['content']}" for el in doc.select('meta[http-equiv="refresh"]')]
    return found


def no_script_refresh(res) -> str | None:
    """The refresh a browser without JavaScript follows: a meta refresh in a noscript."""
    meta = html(res).select_one('noscript meta[http-equiv="refresh"]')
    if meta is None:
        # html.parser leaves noscript content as markup: look at it as text as well
        match = re.search(r'<noscript><meta http-equiv="refresh" content="([^"]+)"', res.text)
        return match.group(1) if match else None
    return meta["content"]


@pytest.fixture
def owner(testapp, cast, restricted):
    testapp.login_as(cast.owner)
    return testapp


@pytest.fixture
def guest(new_testapp, restricted):
    return new_testapp()


# -- waiting ----------------------------------------------------------------------------


def test_a_waiting_page_knocks_again_and_reloads_without_javascript(guest, owner, restricted):
    page = wait_page(guest)
    assert state(page) == "waiting"
    poller = html(page).select_one(".wait-state")
    assert poller["hx-post"] == f"http://localhost{ROOM}/knock"
    assert poller["hx-trigger"] == "every 1s"
    assert no_script_refresh(page) == f"2; url=http://localhost{ROOM}/meeting?username=Gina"
    fragment = poll(guest)
    assert state(fragment) == "waiting"
    assert knocks_by_itself(fragment) == ["hx-trigger=every 1s"]
    assert waiting_names(owner, restricted) == ["Gina"]


def test_the_poll_sends_the_name_as_typed(guest, owner, restricted):
    name = """<b>"O'Brien" & co</b>"""
    poller = html(wait_page(guest, name)).select_one(".wait-state")
    assert json.loads(poller["hx-vals"]) == {"username": name}
    assert state(poll(guest, name)) == "waiting"
    assert waiting_names(owner, restricted) == [name]


def test_without_javascript_the_reloaded_page_leads_to_the_meeting(guest, owner, livekit):
    page = wait_page(guest)
    url = no_script_refresh(page).split("url=", 1)[1]
    decide(owner, guest, allow=True)
    admitted = guest.get(url.removeprefix("http://localhost"))
    assert meeting_config(admitted)["token"]
    assert no_script_refresh(admitted) is None


def test_an_admitted_guests_fragment_asks_nothing_more(guest, owner):
    wait_page(guest)
    decide(owner, guest, allow=True)
    fragment = poll(guest)
    assert fragment.headers["HX-Redirect"] == f"http://localhost{ROOM}/meeting?username=Gina"
    assert state(fragment) == "accepted"
    assert knocks_by_itself(fragment) == []


# -- denied -----------------------------------------------------------------------------


def test_a_denied_guests_page_knocks_no_more(guest, owner, restricted):
    wait_page(guest)
    decide(owner, guest, allow=False)
    fragment = poll(guest)
    assert state(fragment) == "denied"
    assert "Your request to join was declined." in fragment.text
    assert knocks_by_itself(fragment) == []
    ask = html(fragment).select_one("form[hx-post]")
    assert ask["hx-post"] == f"http://localhost{ROOM}/ask-again"  # on submit only
    assert ask.select_one("button").get_text() == "Ask again"

    reloaded = wait_page(guest)  # the page as the browser loads it while denied
    assert state(reloaded) == "denied"
    assert knocks_by_itself(reloaded) == []
    assert no_script_refresh(reloaded) is None
    assert waiting_names(owner, restricted) == []


def test_asking_again_waits_again(guest, owner, restricted):
    wait_page(guest)
    decide(owner, guest, allow=False)
    poll(guest)
    fragment = guest.post(f"{ROOM}/ask-again", {"username": "Gina"}, headers=HTMX)
    assert state(fragment) == "waiting"
    assert knocks_by_itself(fragment) == ["hx-trigger=every 1s"]
    assert waiting_names(owner, restricted) == ["Gina"]


def test_asking_again_without_javascript(guest, owner, restricted):
    wait_page(guest)
    decide(owner, guest, allow=False)
    res = guest.post(f"{ROOM}/ask-again", {"username": "Gina"}, status=303)
    assert res.location == f"http://localhost{ROOM}/meeting?username=Gina"
    page = res.follow()
    assert state(page) == "waiting"
    assert no_script_refresh(page).startswith("2; url=")
    assert waiting_names(owner, restricted) == ["Gina"]


def test_asking_again_keeps_an_admission(guest, owner, restricted):
    wait_page(guest)
    decide(owner, guest, allow=True)
    fragment = guest.post(f"{ROOM}/ask-again", {"username": "Gina"}, headers=HTMX)
    assert state(fragment) == "accepted"
    assert waiting_names(owner, restricted) == []


def test_asking_again_without_the_csrf_token_changes_nothing(new_testapp, owner, cast, restricted):
    stranger = new_testapp()
    stranger.login_as(cast.stranger)
    wait_page(stranger, "Stan")
    decide(owner, stranger, allow=False, identity=str(cast.stranger.id))
    res = stranger.post(
        f"{ROOM}/ask-again", {"username": "Stan"}, headers={"X-CSRF-Token": ""}, status=403
    )
    assert "Invalid request" in res.text
    assert state(poll(stranger, "Stan")) == "denied"
    assert waiting_names(owner, restricted) == []


def test_a_cross_site_request_has_no_lobby_cookie_to_act_on(guest, new_testapp, owner, restricted):
    """The lobby cookies are SameSite=Lax: another site's form posts without them."""
    wait_page(guest)
    decide(owner, guest, allow=False)
    foreign = new_testapp()
    foreign.post(f"{ROOM}/ask-again", {"username": "Gina"}, status=303)
    foreign.post(f"{ROOM}/leave", {}, status=303)
    assert state(poll(guest)) == "denied"


# -- removed ----------------------------------------------------------------------------


def test_a_removed_guests_page_knocks_no_more(guest, owner, restricted, livekit):
    wait_page(guest)
    decide(owner, guest, allow=True)
    identity = guest.cookies[COOKIE]
    livekit.add_participant(str(restricted.id), identity, "Gina")
    owner.post_json(
        f"/api/v1.0/rooms/{restricted.id}/remove-participant/",
        {"participant_identity": identity},
    )
    page = wait_page(guest, status=403)
    assert state(page) == "removed"
    assert knocks_by_itself(page) == []
    assert no_script_refresh(page) is None


# -- leaving ----------------------------------------------------------------------------


def leave(guest, **kw):
    return guest.post(f"{ROOM}/leave", {}, **kw)


def test_the_wait_page_offers_to_leave(guest):
    form = html(wait_page(guest)).select_one("form.wait-leave")
    assert form["method"] == "post"
    assert form["action"] == f"http://localhost{ROOM}/leave"
    assert form.select_one("input[name=csrf_token]")["value"]
    assert form.select_one("button").get_text() == "Leave"


def test_leaving_while_waiting(guest, owner, restricted):
    wait_page(guest)
    assert waiting_names(owner, restricted) == ["Gina"]
    res = leave(guest, status=303)
    assert res.location == f"http://localhost{ROOM}"
    assert waiting_names(owner, restricted) == []
    assert "Gina" not in owner.get(f"{ROOM}/lobby", headers=HTMX).text
    assert state(wait_page(guest)) == "waiting", "not barred: a new knock waits again"


def test_leaving_after_a_denial_forgets_it(guest, owner, restricted):
    wait_page(guest)
    decide(owner, guest, allow=False)
    leave(guest, status=303)
    assert state(wait_page(guest)) == "waiting"
    assert waiting_names(owner, restricted) == ["Gina"]


def test_leaving_after_an_admission_gives_it_up(guest, owner, restricted):
    wait_page(guest)
    decide(owner, guest, allow=True)
    leave(guest, status=303)
    page = wait_page(guest, status=200)
    assert state(page) == "waiting", "admission given up, not a removal"
    assert waiting_names(owner, restricted) == ["Gina"]


def test_leaving_without_having_knocked(guest, new_testapp, owner, restricted):
    other = new_testapp()
    wait_page(other, "Olga")
    res = leave(guest, status=303)
    assert COOKIE not in guest.cookies, "no identity is made up to leave"
    assert res.location == f"http://localhost{ROOM}"
    assert waiting_names(owner, restricted) == ["Olga"]


def test_leaving_without_the_csrf_token_changes_nothing(new_testapp, owner, cast, restricted):
    stranger = new_testapp()
    stranger.login_as(cast.stranger)
    wait_page(stranger, "Stan")
    res = leave(stranger, headers={"X-CSRF-Token": ""}, status=403)
    assert "Invalid request" in res.text
    assert waiting_names(owner, restricted) == ["Stan"]


def test_leaving_an_unknown_room(guest):
    guest.post("/no-such-room/leave", {}, status=404)


# -- busy ------------------------------------------------------------------------------


def test_a_guest_knocking_too_often_waits_longer_between_knocks(testapp_with, owner, restricted):
    guest = testapp_with({"lobby.rate_limit": "2"})
    wait_page(guest)
    poll(guest)
    fragment = poll(guest)
    assert state(fragment) == "busy"
    assert knocks_by_itself(fragment) == ["hx-trigger=every 5s"]
    page = wait_page(guest, status=429)
    assert state(page) == "busy"
    assert no_script_refresh(page).startswith("5; url=")


# -- who may leave or ask again ---------------------------------------------------------


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("action", ["leave", "ask-again"])
def test_anyone_may_leave_or_ask_again(new_testapp, cast, restricted, actor, action):
    client = new_testapp()
    client.login_as(cast[actor])
    res = client.post(f"{ROOM}/{action}", {"username": "X"}, status=303)
    expected = f"http://localhost{ROOM}" + ("/meeting?username=X" if action == "ask-again" else "")
    assert res.location == expected

"""The account page's active sessions: listed with their device and last-seen time, the
current one marked; signing out of another one (or all others) revokes it at its next
request. Who may use the section's routes is the table at the end."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from meet_web.models.audit import AuditEvent
from meet_web.services import audit
from meet_web.services.accounts import ActiveSessions, public_session_id
from meet_web.services.ephemeral import EphemeralStore
from meet_web.views.pages.sessions import (
    CURRENT_SESSION,
    NO_OTHERS,
    SIGNED_OUT_ONE,
    SIGNED_OUT_OTHERS,
    UNKNOWN_SESSION,
    device_of,
)
from tests.conftest import ACTORS, app_service

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/126.0.0.0 Safari/537.36"
)
EDGE_WINDOWS = CHROME_WINDOWS + " Edg/126.0.2592.87"
HX = {"HX-Request": "true"}
ME = "/api/v1.0/users/me/"


def browser(new_testapp, user, agent: str):
    """A browser of its own, signed in as `user` through the real flow (its own session)."""
    client = new_testapp()
    client.extra_environ = {**client.extra_environ, "HTTP_USER_AGENT": agent}
    client.login(user.sub)
    client.get(ME, status=200)
    return client


def session_ids(page: str) -> list[str]:
    return re.findall(r'id="session-([0-9a-f]{20})"', page)


def current_id(client) -> str:
    page = client.get("/account/sessions", headers=HX, status=200).text
    return re.search(r'id="session-([0-9a-f]{20})" data-current', page).group(1)


@pytest.fixture
def two(new_testapp, user):
    """The same person on a laptop and on a phone."""
    return browser(new_testapp, user, FIREFOX_LINUX), browser(new_testapp, user, SAFARI_IPHONE)


def test_the_account_page_lists_both_sessions(two):
    laptop, _phone = two
    page = laptop.get("/account", status=200).text
    assert 'id="sessions"' in page
    assert len(session_ids(page)) == 2
    assert "Firefox on Linux" in page
    assert "Safari on iOS" in page
    assert page.count("This device") == 1
    mine = re.search(r'id="session-[0-9a-f]{20}" data-current>\s*<td>\s*<span[^>]*>([^<]+)', page)
    assert mine.group(1) == "Firefox on Linux"
    assert "Sign out of all other sessions" in page


def test_signing_out_the_others(two, dbsession, user):
    laptop, phone = two
    res = laptop.post("/account/sessions/sign-out-others", status=303)
    assert res.location == "http://localhost/account#sessions"
    page = res.follow().text
    assert SIGNED_OUT_OTHERS in page
    assert len(session_ids(page)) == 1
    assert "Sign out of all other sessions" not in page
    old_cookie = phone.cookies["meet_session"]
    res = phone.get(ME, status=401)  # its next request is signed out
    assert res.headers["Set-Cookie"].startswith("meet_session=")  # an empty session now
    assert phone.cookies["meet_session"] != old_cookie
    phone.get("/account", status=303)
    laptop.get(ME, status=200)
    [event] = dbsession.scalars(
        select(AuditEvent).where(
            AuditEvent.action == audit.SIGN_OUT, AuditEvent.target_id == str(user.id)
        )
    ).all()
    assert event.actor_id == user.id
    assert event.changes == {"other_sessions": 1}


def test_a_copied_cookie_of_a_signed_out_session_stops_working(two, new_testapp):
    laptop, phone = two
    copy = new_testapp()
    for name, value in phone.cookies.items():
        copy.set_cookie(name, value.strip('"'))
    copy.get(ME, status=200)
    laptop.post("/account/sessions/sign-out-others", status=303)
    copy.get(ME, status=401)


def test_signing_out_one_session(new_testapp, user):
    laptop = browser(new_testapp, user, FIREFOX_LINUX)
    phone = browser(new_testapp, user, SAFARI_IPHONE)
    desktop = browser(new_testapp, user, CHROME_WINDOWS)
    phone_id = current_id(phone)
    res = laptop.post("/account/sessions/sign-out", {"session": phone_id}, headers=HX, status=200)
    assert SIGNED_OUT_ONE in res.text
    assert phone_id not in session_ids(res.text)
    assert len(session_ids(res.text)) == 2
    phone.get(ME, status=401)
    desktop.get(ME, status=200)
    laptop.get(ME, status=200)


def test_signing_out_others_when_there_are_none(new_testapp, user, dbsession):
    laptop = browser(new_testapp, user, FIREFOX_LINUX)
    res = laptop.post("/account/sessions/sign-out-others", headers=HX, status=200)
    assert NO_OTHERS in res.text
    laptop.get(ME, status=200)
    events = select(AuditEvent).where(AuditEvent.action == audit.SIGN_OUT)
    assert dbsession.scalars(events).all() == []


def test_logging_out_removes_the_session_from_the_list(two):
    laptop, phone = two
    phone.get("/api/v1.0/logout/", status=302)
    page = laptop.get("/account/sessions", headers=HX, status=200).text
    assert len(session_ids(page)) == 1
    assert "Sign out of all other sessions" not in page


def test_the_section_alone_and_without_htmx(two):
    laptop, _ = two
    res = laptop.get("/account/sessions", headers=HX, status=200)
    assert res.text.lstrip().startswith("<section")  # the partial, not the page
    assert res.headers["Vary"].startswith("HX-Request")
    res = laptop.get("/account/sessions", status=303)
    assert res.location == "http://localhost/account#sessions"


def test_the_page_says_what_was_done_without_js(new_testapp, user):
    laptop = browser(new_testapp, user, FIREFOX_LINUX)
    phone = browser(new_testapp, user, SAFARI_IPHONE)
    res = laptop.post("/account/sessions/sign-out", {"session": current_id(phone)}, status=303)
    assert SIGNED_OUT_ONE in res.follow().text


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("session", "message"),
    [
        ("", UNKNOWN_SESSION),
        ("not-an-id", UNKNOWN_SESSION),
        ("0" * 20, UNKNOWN_SESSION),
        ("A" * 20, UNKNOWN_SESSION),
        ("x" * 5000, UNKNOWN_SESSION),
        ("current", CURRENT_SESSION),
    ],
)
def test_bad_choices_change_nothing(two, session, message):
    laptop, phone = two
    if session == "current":
        session = current_id(laptop)
    res = laptop.post("/account/sessions/sign-out", {"session": session}, headers=HX, status=400)
    assert message in res.text
    assert len(session_ids(res.text)) == 2
    res = laptop.post("/account/sessions/sign-out", {"session": session}, status=400)
    assert message in res.text  # the error page
    assert "Traceback" not in res.text
    phone.get(ME, status=200)
    laptop.get(ME, status=200)


def test_another_users_session_cannot_be_signed_out(new_testapp, user, cast):
    laptop = browser(new_testapp, user, FIREFOX_LINUX)
    theirs = browser(new_testapp, cast.stranger, CHROME_WINDOWS)
    res = laptop.post(
        "/account/sessions/sign-out", {"session": current_id(theirs)}, headers=HX, status=400
    )
    assert UNKNOWN_SESSION in res.text
    theirs.get(ME, status=200)


def test_a_post_without_the_csrf_token_is_refused(two):
    laptop, phone = two
    laptop.post("/account/sessions/sign-out-others", headers={"X-CSRF-Token": "forged"}, status=403)
    phone.get(ME, status=200)


# -- the store's side -------------------------------------------------------------------------


def test_device_names():
    assert device_of(FIREFOX_LINUX) == ("Firefox", "Linux")
    assert device_of(SAFARI_IPHONE) == ("Safari", "iOS")
    assert device_of(CHROME_WINDOWS) == ("Chrome", "Windows")
    assert device_of(EDGE_WINDOWS) == ("Edge", "Windows")
    assert device_of("curl/8.5.0") == (None, None)
    assert device_of("") == (None, None)


def test_last_seen_is_written_at_most_once_per_interval(app, user):
    store = app_service(app, EphemeralStore)
    sessions = ActiveSessions(store, max_age=3600, interval=300)
    sessions.seen(user.id, "sid-1", FIREFOX_LINUX, 1000.0)
    [first] = sessions.of_user(user.id)
    sessions.seen(user.id, "sid-1", CHROME_WINDOWS, 1000.0)  # within the interval
    [again] = sessions.of_user(user.id)
    assert again == first
    assert first.public_id == public_session_id("sid-1")
    assert first.signed_in == 1000.0


def test_last_seen_is_renewed_after_the_interval(app, user):
    store = app_service(app, EphemeralStore)
    sessions = ActiveSessions(store, max_age=3600, interval=0)
    sessions.seen(user.id, "sid-1", FIREFOX_LINUX, None)
    [first] = sessions.of_user(user.id)
    sessions.seen(user.id, "sid-1", FIREFOX_LINUX, None)
    [again] = sessions.of_user(user.id)
    assert again.last_seen >= first.last_seen


def test_the_list_is_shared_by_processes(app, user):
    """Two processes' ActiveSessions on one store (Redis in production) see one list."""
    store = app_service(app, EphemeralStore)
    one, other = (ActiveSessions(store, max_age=3600, interval=300) for _ in range(2))
    one.seen(user.id, "sid-1", FIREFOX_LINUX, None)
    other.seen(user.id, "sid-2", SAFARI_IPHONE, None)
    assert {s.public_id for s in one.of_user(user.id)} == {
        public_session_id("sid-1"),
        public_session_id("sid-2"),
    }
    assert other.revoke_others(user.id, "sid-2") == 1
    assert [s.public_id for s in one.of_user(user.id)] == [public_session_id("sid-2")]


# -- who may use the routes ---------------------------------------------------------------------

SIGNED_IN_GET_HX = {**dict.fromkeys(ACTORS, 200), "anonymous": 401}
SIGNED_IN_GET = {**dict.fromkeys(ACTORS, 303), "anonymous": 303}
SIGNED_IN_POST = {**dict.fromkeys(ACTORS, 303), "anonymous": 403}
SIGNED_IN_POST_HX = {**dict.fromkeys(ACTORS, 200), "anonymous": 401}
ROUTES = {
    "section, htmx": ("GET", "/account/sessions", SIGNED_IN_GET_HX, HX),
    "section": ("GET", "/account/sessions", SIGNED_IN_GET, {}),
    "sign out others": ("POST", "/account/sessions/sign-out-others", SIGNED_IN_POST, {}),
    "sign out others, htmx": ("POST", "/account/sessions/sign-out-others", SIGNED_IN_POST_HX, HX),
}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", list(ROUTES))
def test_route_permissions(testapp, cast, actor, route):
    method, path, expected, headers = ROUTES[route]
    testapp.login_as(cast[actor])
    send = testapp.get if method == "GET" else testapp.post
    res = send(path, headers=headers, status=expected[actor])
    if actor == "anonymous" and res.status_int == 303:
        assert res.location.startswith("http://localhost/api/v1.0/authenticate/")
    if res.status_int == 401:
        assert res.headers["HX-Redirect"].startswith("/api/v1.0/authenticate/")
    if res.status_int == 403:
        assert "Not allowed" in res.text


@pytest.mark.parametrize("actor", ACTORS)
def test_sign_out_one_permissions(testapp, new_testapp, cast, actor):
    """Everyone signed in may sign out one of their own sessions, nobody anyone else's."""
    user = cast[actor]
    target = browser(new_testapp, user or cast.owner, CHROME_WINDOWS)
    testapp.login_as(user)
    form = {"session": current_id(target)}
    if user is None:
        testapp.post("/account/sessions/sign-out", form, status=403)
    else:
        testapp.post("/account/sessions/sign-out", form, status=303)
        target.get(ME, status=401)

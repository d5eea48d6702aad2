"""The calendar add-in's session exchange (reference §2.5, §7.6), end to end: the add-in
starts a session, a person signed in on the site exchanges its transit token, the add-in
polls its token once and creates a room with it on the external API. Then what goes
wrong: a replayed transit token (the session is evicted), CSRF errors on both sides,
expired and corrupted sessions, the flag off.

The add-in and the person are two clients with their own cookies, as a add-in frame and
a browser tab are.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time

import jwt
import pytest

from meet_web.services.addons import session_key
from meet_web.services.ephemeral import EphemeralStore
from tests.api_checks import assert_error
from tests.conftest import (
    ADDONS_TOKEN_KEY,
    EXTERNAL_API_SETTINGS,
    app_service,
    bearer,
    make_user,
)

SESSIONS = "/api/v1.0/addons/sessions"
ROOMS = "/external-api/v1.0/rooms/"
COOKIE = "addonsSid"
CSRF_SECRET = EXTERNAL_API_SETTINGS["addons.csrf_secret"]


class AddIn:
    """The add-in: its own cookie jar, the two tokens init gave it."""

    def __init__(self, client):
        self.client = client
        self.transit_token = self.csrf_token = None

    def init(self) -> dict:
        res = self.client.post(f"{SESSIONS}/init/", status=201)
        self.transit_token, self.csrf_token = res.json["transit_token"], res.json["csrf_token"]
        return res

    def poll(self, status=None, csrf: str | None = None):
        headers = {"X-CSRFToken": self.csrf_token if csrf is None else csrf}
        return self.client.post(f"{SESSIONS}/poll/", headers=headers, status=status)


def exchange(person, transit_token, status=200):
    return person.post_json(
        f"{SESSIONS}/exchange/", {"transit_token": transit_token}, status=status
    )


@pytest.fixture
def addons(external_api):
    """An app with add-ons on: `addons()` gives one client (cookie jar) of it."""
    return external_api


@pytest.fixture
def alice(dbsession):
    return make_user(dbsession, "alice")


@pytest.fixture
def add_in(addons):
    add_in = AddIn(addons())
    add_in.init()
    return add_in


@pytest.fixture
def person(addons, alice):
    client = addons()
    client.login_as(alice)
    return client


def session_cookie(client) -> str:
    return client.cookies[COOKIE].strip('"')


def store_of(client) -> EphemeralStore:
    return app_service(client.app, EphemeralStore)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# -- the exchange, end to end -----------------------------------------------------------


def test_the_exchange_end_to_end(addons, alice, dbsession):
    add_in = AddIn(addons())
    started = add_in.init()
    assert set(started.json) == {"transit_token", "csrf_token"}
    assert len(add_in.transit_token) >= 80  # 60 random bytes
    session_id = session_cookie(add_in.client)
    expected_csrf = hmac.new(CSRF_SECRET.encode(), session_id.encode(), "sha256").hexdigest()
    assert add_in.csrf_token == expected_csrf

    assert add_in.poll(status=202).json == {"state": "pending"}

    person = addons()
    person.login_as(alice)
    assert exchange(person, add_in.transit_token).json == {"status": "ok"}

    answer = add_in.poll(status=200)
    assert set(answer.json) == {"state", "access_token", "token_type", "expires_in", "scope"}
    assert (answer.json["state"], answer.json["token_type"]) == ("authenticated", "Bearer")
    assert (answer.json["scope"], answer.json["expires_in"]) == ("rooms:create", 7200)
    assert answer.headers["Cache-Control"] == "no-store"
    claims = jwt.decode(
        answer.json["access_token"],
        ADDONS_TOKEN_KEY,
        algorithms=["HS256"],
        audience="addons",
        issuer="lasuite-meet",
    )
    assert claims["user_id"] == str(alice.id) and claims["scope"] == "rooms:create"
    assert claims["exp"] - claims["iat"] == 7200
    # the cookie goes, and the session with it: the token is given once
    assert COOKIE not in add_in.client.cookies
    add_in.poll(status=401)
    add_in.client.set_cookie(COOKIE, session_id)
    assert add_in.poll(status=404).json == {"detail": "Session not found or expired."}

    # the add-in creates the meeting's room for the person, and may do nothing else
    token = answer.json["access_token"]
    room = add_in.client.post_json(ROOMS, {}, headers=bearer(token), status=201).json
    mine = person.get("/api/v1.0/rooms/").json["results"]
    assert [r["id"] for r in mine] == [room["id"]]
    add_in.client.get(ROOMS, headers=bearer(token), status=403)


def test_the_session_cookie(addons):
    res = AddIn(addons()).init()
    cookie = res.headers["Set-Cookie"].lower()
    assert cookie.startswith(f"{COOKIE.lower()}=")
    for part in ("httponly", "max-age=3600", "path=/api/v1.0/addons/sessions/"):
        assert part in cookie
    # app.secure_cookies is off in the tests; SameSite=None needs Secure
    assert "secure" not in cookie and "samesite=lax" in cookie
    secure = AddIn(addons(**{"app.secure_cookies": "true"})).init()
    cookie = secure.headers["Set-Cookie"].lower()
    assert "; secure" in cookie and "samesite=none" in cookie


def test_each_init_starts_another_session(addons):
    first, second = AddIn(addons()), AddIn(addons())
    first.init(), second.init()
    assert first.transit_token != second.transit_token
    assert session_cookie(first.client) != session_cookie(second.client)


@pytest.mark.skipif(not os.environ.get("MEET_TEST_REDIS_URL"), reason="needs Redis")
def test_the_steps_may_reach_different_processes(addons, alice):
    """Two apps on one Redis: the add-in starts on one, the person exchanges on the
    other, and the add-in's poll is served by the other too."""
    elsewhere = {"addons.token_ttl": "7200"}  # the default: another app, the same store
    add_in = AddIn(addons())
    add_in.init()
    person = addons(**elsewhere)
    assert person.app is not add_in.client.app
    person.login_as(alice)
    exchange(person, add_in.transit_token)
    poller = AddIn(addons(**elsewhere))
    poller.csrf_token = add_in.csrf_token
    poller.client.set_cookie(COOKIE, session_cookie(add_in.client))
    assert poller.poll(status=200).json["state"] == "authenticated"


# -- replays ------------------------------------------------------------------------------


def test_a_replay_evicts_the_session(add_in, person, caplog):
    exchange(person, add_in.transit_token)
    with caplog.at_level(logging.WARNING, logger="meet_web.security"):
        res = exchange(person, add_in.transit_token, status=400)
    assert res.json == {"detail": "Transit token already used."}
    assert "replayed" in caplog.text
    # the token the first exchange bound is never handed out
    assert add_in.poll(status=404).json == {"detail": "Session not found or expired."}


def test_a_replay_by_someone_else_evicts_the_session(add_in, person, addons, dbsession):
    exchange(person, add_in.transit_token)
    mallory = addons()
    mallory.login_as(make_user(dbsession, "mallory"))
    exchange(mallory, add_in.transit_token, status=400)
    add_in.poll(status=404)


def test_every_later_replay_is_refused_too(add_in, person):
    exchange(person, add_in.transit_token)
    for _ in range(3):
        exchange(person, add_in.transit_token, status=400)
    add_in.poll(status=404)


def test_a_second_exchange_after_the_poll_is_refused(add_in, person):
    exchange(person, add_in.transit_token)
    add_in.poll(status=200)
    res = exchange(person, add_in.transit_token, status=400)
    assert res.json == {"detail": "Transit token already used."}


# -- the exchange's errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"transit_token": ["This field is required."]}),
        ({"transit_token": ""}, {"transit_token": ["This field may not be blank."]}),
        ({"transit_token": 42}, {"transit_token": ["Not a valid string."]}),
        ({"transit_token": "nope"}, {"detail": "Invalid or expired transit token."}),
    ],
)
def test_exchange_refuses_bad_transit_tokens(add_in, person, body, expected):
    res = person.post_json(f"{SESSIONS}/exchange/", body, status=400)
    assert res.json == expected
    assert add_in.poll(status=202).json == {"state": "pending"}  # the session is untouched


def test_exchange_needs_a_signed_in_person(add_in, addons):
    anonymous = addons()
    res = exchange(anonymous, add_in.transit_token, status=401)
    assert_error(res, 401)
    # the transit token is still good for the person it was meant for
    assert add_in.poll(status=202).json == {"state": "pending"}


def test_exchange_needs_the_sites_csrf_token(add_in, person):
    res = person.post_json(
        f"{SESSIONS}/exchange/",
        {"transit_token": add_in.transit_token},
        headers={"X-CSRF-Token": "forged"},
        status=403,
    )
    assert res.json == {"detail": "CSRF Failed: CSRF token missing or incorrect."}
    exchange(person, add_in.transit_token)  # not consumed by the refused attempt


def test_exchange_for_a_session_that_is_gone(add_in, person):
    store_of(add_in.client).delete(session_key(digest(session_cookie(add_in.client))))
    res = exchange(person, add_in.transit_token, status=404)
    assert res.json == {"detail": "Session not found."}


@pytest.mark.parametrize(
    ("stored", "detail"),
    [
        # Collected long before they run in a full suite: far from "now" either way.
        ({"state": "pending", "expires_at": time.time() - 1}, "Session expired."),
        (
            {"state": "authenticated", "expires_at": time.time() + 86400},
            "Access token already set.",
        ),
        ({"state": "pending"}, "Invalid session data."),
        ("garbage", "Invalid session data."),
    ],
)
def test_exchange_for_a_session_that_cannot_go_on(add_in, person, stored, detail):
    key = session_key(digest(session_cookie(add_in.client)))
    store_of(add_in.client).put(key, stored, 60)
    res = exchange(person, add_in.transit_token, status=400)
    assert res.json == {"detail": detail}
    add_in.poll(status=404)  # evicted


def test_an_expired_transit_token(addons, person):
    add_in = AddIn(addons(**{"addons.transit_token_ttl": "1"}))
    add_in.init()
    time.sleep(1.2)
    res = exchange(person, add_in.transit_token, status=400)
    assert res.json == {"detail": "Invalid or expired transit token."}


def test_an_expired_session(addons, alice):
    short = addons(**{"addons.session_ttl": "1"})
    add_in = AddIn(short)
    add_in.init()
    time.sleep(1.2)
    person = addons(**{"addons.session_ttl": "1"})
    person.login_as(alice)
    exchange(person, add_in.transit_token, status=404)
    add_in.client.set_cookie(COOKIE, "x")  # the browser dropped it; send one anyway
    add_in.poll(status=400)  # its CSRF token is for the real session id


def test_an_expired_add_on_token(addons, alice):
    client = addons(**{"addons.token_ttl": "1"})
    add_in = AddIn(client)
    add_in.init()
    person = addons(**{"addons.token_ttl": "1"})
    person.login_as(alice)
    exchange(person, add_in.transit_token)
    token = add_in.poll(status=200).json["access_token"]
    time.sleep(2.1)
    res = client.post_json(ROOMS, {}, headers=bearer(token), status=401)
    assert res.json == {"detail": "Token expired."}


# -- the poll's errors --------------------------------------------------------------------


def test_poll_needs_the_cookie(add_in):
    add_in.client.reset()
    res = add_in.poll(status=401)
    assert res.json == {"detail": "Authentication credentials were not provided."}


def test_poll_needs_the_csrf_token(add_in):
    res = add_in.client.post(f"{SESSIONS}/poll/", status=400)
    assert res.json == {"detail": "CSRF Failed: CSRF token missing."}


def test_poll_accepts_the_other_csrf_header(add_in):
    headers = {"X-CSRF-Token": add_in.csrf_token}
    add_in.client.post(f"{SESSIONS}/poll/", headers=headers, status=202)


def test_poll_with_a_wrong_csrf_token_is_a_security_event(add_in, caplog):
    with caplog.at_level(logging.WARNING, logger="meet_web.security"):
        res = add_in.poll(status=400, csrf="0" * 64)
    assert res.json == {"detail": "CSRF Failed: CSRF token incorrect."}
    assert "wrong CSRF token" in caplog.text
    assert add_in.poll(status=202).json == {"state": "pending"}  # nothing else happened


def test_poll_with_another_sessions_csrf_token(add_in, addons):
    other = AddIn(addons())
    other.init()
    add_in.poll(status=400, csrf=other.csrf_token)


def test_poll_for_an_unknown_session(addons):
    add_in = AddIn(addons())
    add_in.client.set_cookie(COOKIE, "no-such-session")
    csrf = hmac.new(CSRF_SECRET.encode(), b"no-such-session", "sha256").hexdigest()
    res = add_in.poll(status=404, csrf=csrf)
    assert res.json == {"detail": "Session not found or expired."}


@pytest.mark.parametrize(
    "stored",
    ["garbage", {"state": "authenticated"}, {"state": "weird"}, ["pending"]],
)
def test_poll_for_a_corrupted_session(add_in, stored):
    key = session_key(digest(session_cookie(add_in.client)))
    store_of(add_in.client).put(key, stored, 60)
    assert add_in.poll(status=400).json == {"detail": "Invalid session data."}
    add_in.poll(status=404)  # evicted


# -- the flag -----------------------------------------------------------------------------


def test_everything_is_404_while_add_ons_are_off(addons, alice):
    off = addons(**{"addons.enabled": "false"})
    assert off.post(f"{SESSIONS}/init/", status=404).json == {"detail": "Not found."}
    off.post(f"{SESSIONS}/poll/", status=404)
    assert_error(off.post_json(f"{SESSIONS}/exchange/", {}, status=401), 401)
    off.login_as(alice)
    res = off.post_json(f"{SESSIONS}/exchange/", {"transit_token": "x"}, status=404)
    assert res.json == {"detail": "Not found."}
    doc = off.get("/api/v1.0/openapi.json").json
    assert not [path for path in doc["paths"] if "/addons/" in path]


def test_the_document_shows_the_exchange_while_add_ons_are_on(addons):
    doc = addons().get("/api/v1.0/openapi.json").json
    assert {f"{SESSIONS}/init/", f"{SESSIONS}/poll/", f"{SESSIONS}/exchange/"} <= set(doc["paths"])


@pytest.mark.parametrize("step", ["init", "poll", "exchange"])
def test_other_methods_are_405(addons, step):
    res = addons().get(f"{SESSIONS}/{step}/", status=405)
    assert res.headers["Allow"] == "POST"


def test_nothing_else_under_addons(addons):
    for path in ("/api/v1.0/addons/", "/api/v1.0/addons/other/", f"{SESSIONS}/other/"):
        assert_error(addons().post(path, status=404), 404)

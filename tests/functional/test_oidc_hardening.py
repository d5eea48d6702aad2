"""The sign-in flow under abuse: login state kept server-side and bound to the browser,
provider text never shown nor logged raw, and claims a provider must not get wrong.

Logins run against the loopback OIDC provider; see dev/oidc-provider.mjs for the
logins that make it misbehave (`unverified…`, `shifting-sub…`).
"""

import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from meet_web.models import User
from meet_web.views.api.auth import LOGIN_FAILED_MESSAGE
from tests.conftest import make_user
from tests.login_flow import API, callback_path, signed_in_user_id, start_login, user_count
from tests.servers.oidc import complete_login


def error_card(html: str) -> str:
    """What the error page says (the rest of the page holds the address, escaped)."""
    return re.search(r'<section class="card[^"]*error-card".*?</section>', html, re.S).group(0)


# -- the login state lives on the server, bound to the browser ------------------------


def test_abandoned_sign_ins_do_not_grow_the_session_cookie(testapp, dbsession):
    first = None
    for _ in range(20):
        start_login(testapp, returnTo="/team-room")
        first = first or testapp.cookies["meet_session"]
    # One browser nonce, whatever the number of sign-ins started (was ~760 bytes each).
    assert len(testapp.cookies["meet_session"]) == len(first) < 400
    authorize = start_login(testapp, returnTo="/after")
    res = testapp.get(callback_path(complete_login(authorize, "alice")), status=302)
    assert res.location == "http://localhost/after"
    alice = dbsession.scalars(select(User).where(User.sub == "alice")).one()
    assert signed_in_user_id(testapp) == str(alice.id)


def test_each_sign_in_returns_to_its_own_page(testapp):
    """Two tabs: each login state carries its own returnTo."""
    first = start_login(testapp, returnTo="/first")
    second = start_login(testapp, returnTo="/second")
    res = testapp.get(callback_path(complete_login(first, "alice")), status=302)
    assert res.location == "http://localhost/first"
    assert second != first


def test_an_abandoned_state_still_works_later_in_the_same_browser(testapp):
    authorize = start_login(testapp)
    for _ in range(5):
        start_login(testapp)
    testapp.get(callback_path(complete_login(authorize, "alice")), status=302)
    assert signed_in_user_id(testapp) is not None


def test_a_state_from_another_browser_is_refused(testapp, new_testapp, dbsession):
    """Login CSRF: the attacker's callback URL, opened in the victim's browser (which
    has started a sign-in of its own), does not sign the victim in."""
    before = user_count(dbsession)
    attacker_back = complete_login(start_login(testapp), "mallory")
    victim = new_testapp()
    victim_authorize = start_login(victim)
    res = victim.get(callback_path(attacker_back), status=400)
    assert "Sign-in failed" in res.text
    assert signed_in_user_id(victim) is None
    assert user_count(dbsession) == before
    # Refusing it did not use it up for its own browser, nor spoil the victim's login.
    testapp.get(callback_path(attacker_back), status=302)
    victim.get(callback_path(complete_login(victim_authorize, "victim")), status=302)
    assert signed_in_user_id(victim) != signed_in_user_id(testapp)


def test_a_state_works_once(testapp):
    back = complete_login(start_login(testapp), "alice")
    testapp.get(callback_path(back), status=302)
    testapp.get(f"{API}/logout/", status=302)
    testapp.get(callback_path(back), status=400)


def test_a_forged_state_is_refused(testapp):
    back = complete_login(start_login(testapp), "alice")
    code = parse_qs(urlsplit(back).query)["code"][0]
    testapp.get(f"{API}/callback/", {"code": code, "state": "meet:anything"}, status=400)
    assert signed_in_user_id(testapp) is None


# -- provider text is neither shown nor logged raw ----------------------------------------

FORGED = "Denied.\r\n2026-01-01 00:00:00 CRITICAL [meet_web] <script>alert(1)</script> admin"


def test_error_description_is_not_shown(testapp):
    state = parse_qs(urlsplit(start_login(testapp)).query)["state"][0]
    res = testapp.get(
        f"{API}/callback/",
        {"error": "access_denied", "error_description": FORGED, "state": state},
        status=400,
    )
    card = error_card(res.text)
    assert "Sign-in failed" in card
    assert LOGIN_FAILED_MESSAGE in card
    assert "CRITICAL" not in card and "Denied." not in card and "access_denied" not in card
    assert "<script>alert" not in res.text


def test_error_description_cannot_forge_a_log_line(testapp, caplog):
    caplog.set_level(logging.INFO, logger="meet_web")
    testapp.get(
        f"{API}/callback/",
        {"error": "access_denied\n", "error_description": FORGED},
        status=400,
    )
    refused = [r for r in caplog.records if "CRITICAL" in r.getMessage()]
    assert refused, caplog.text
    for record in caplog.records:
        assert "\n" not in record.getMessage() and "\r" not in record.getMessage()
    assert not any(line.startswith("2026-01-01") for line in caplog.text.splitlines())


def test_no_project_log_line_holds_a_newline(app, caplog):
    caplog.set_level(logging.INFO, logger="meet_web")
    logging.getLogger("meet_web.anywhere").info("user said %s", "hi\nFAKE line\r\u2028x")
    assert caplog.records[-1].getMessage() == "user said hi\\nFAKE line\\r\\u2028x"
    assert "\nFAKE" not in caplog.text


# -- claims the provider must get right ---------------------------------------------------


def test_userinfo_with_another_subject_is_refused(testapp, dbsession):
    before = user_count(dbsession)
    back = complete_login(start_login(testapp), "shifting-sub-alice")
    res = testapp.get(callback_path(back), status=400)
    assert "Sign-in failed" in res.text
    assert signed_in_user_id(testapp) is None
    assert user_count(dbsession) == before
    assert dbsession.scalars(select(User).where(User.sub.like("shifting-sub%"))).all() == []


@pytest.fixture
def by_email(testapp_with):
    """An app that finds accounts by email when the subject is unknown, and creates none."""
    return testapp_with(
        {"oidc.fallback_to_email_for_identification": "true", "oidc.create_user": "false"}
    )


def legacy_user(dbsession, email: str) -> User:
    user = make_user(dbsession, "legacy")
    user.email = email
    dbsession.flush()
    return user


def test_a_verified_email_finds_the_account(by_email, dbsession):
    legacy = legacy_user(dbsession, "bob@example.org")
    by_email.get(callback_path(complete_login(start_login(by_email), "bob")), status=302)
    assert signed_in_user_id(by_email) == str(legacy.id)
    dbsession.refresh(legacy)
    assert legacy.sub == "bob"


def test_an_unverified_email_does_not_find_the_account(by_email, dbsession):
    legacy = legacy_user(dbsession, "unverified-bob@example.org")
    back = complete_login(start_login(by_email), "unverified-bob")
    res = by_email.get(callback_path(back), status=400)
    assert "No account matches this login." in res.text
    assert signed_in_user_id(by_email) is None
    dbsession.refresh(legacy)
    assert legacy.sub == "legacy"


def test_an_unverified_email_may_still_create_an_account(testapp_with, dbsession):
    """Creation does not rely on the email: the new account is the subject's own."""
    client = testapp_with({"oidc.fallback_to_email_for_identification": "true"})
    legacy = legacy_user(dbsession, "unverified-carol@example.org")
    back = complete_login(start_login(client), "unverified-carol")
    client.get(callback_path(back), status=302)
    assert signed_in_user_id(client) not in (None, str(legacy.id))


def test_the_fixed_message_is_translated(testapp):
    testapp.set_cookie("meet_language", "fr-fr")
    res = testapp.get(f"{API}/callback/", {"error": "x", "error_description": "y"}, status=400)
    assert "La connexion n\u2019a pas pu aboutir. Veuillez réessayer." in error_card(res.text)

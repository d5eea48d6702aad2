"""A new account starts in the language its person was using when they signed in (the
`meet_language` cookie, else the browser's Accept-Language, else the site default);
an existing account keeps its own. The real sign-in flow, against the loopback OIDC
provider."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from meet_web.models import User
from tests.conftest import make_user
from tests.login_flow import callback_path, start_login, user_count
from tests.servers.oidc import complete_login

FRENCH_HOME = "Des réunions vidéo pour votre équipe"


def sign_in(testapp, login: str, headers=None):
    authorize = start_login(testapp, returnTo="/")
    back = callback_path(complete_login(authorize, login))
    return testapp.get(back, headers=headers or {}, status=302)


def account(dbsession, sub: str) -> User:
    dbsession.expire_all()
    return dbsession.scalars(select(User).where(User.sub == sub)).one()


@pytest.mark.parametrize(
    ("header", "expected"),
    [("fr-FR,fr;q=0.9,en;q=0.5", "fr-fr"), ("fr-CA", "fr-fr"), ("en-GB", "en-us")],
)
def test_a_new_account_takes_the_browsers_language(testapp, dbsession, header, expected):
    sign_in(testapp, "nouvelle", headers={"Accept-Language": header})
    assert account(dbsession, "nouvelle").language == expected


def test_a_french_browser_sees_french_right_after_signing_in(testapp, dbsession):
    french = {"Accept-Language": "fr"}
    sign_in(testapp, "nouvelle", headers=french)
    # the account's language now comes first: an English browser still gets French
    assert FRENCH_HOME in testapp.get("/", headers={"Accept-Language": "en"}).text


def test_the_language_cookie_comes_before_the_browsers(testapp, dbsession):
    testapp.set_cookie("meet_language", "fr-fr")
    sign_in(testapp, "nouvelle", headers={"Accept-Language": "en"})
    assert account(dbsession, "nouvelle").language == "fr-fr"


@pytest.mark.parametrize("header", [None, "xx-YY", "*"])
def test_no_usable_language_gives_the_site_default(testapp, dbsession, header):
    sign_in(testapp, "nouvelle", headers={"Accept-Language": header} if header else None)
    assert account(dbsession, "nouvelle").language == "en-us"


def test_an_unknown_language_cookie_is_not_stored(testapp, dbsession):
    testapp.set_cookie("meet_language", "klingon")
    sign_in(testapp, "nouvelle", headers={"Accept-Language": "fr"})
    assert account(dbsession, "nouvelle").language == "fr-fr"


def test_an_existing_account_keeps_its_language(testapp, dbsession):
    make_user(dbsession, "known", language="en-us")
    before = user_count(dbsession)
    sign_in(testapp, "known", headers={"Accept-Language": "fr"})
    assert account(dbsession, "known").language == "en-us"
    assert user_count(dbsession) == before

"""The login flow at the reference's paths, and the public configuration.

Login is the real Authorization Code flow against the loopback OIDC provider.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from meet_web.models import User
from tests.conftest import make_user
from tests.login_flow import API, callback_path, signed_in_user_id, start_login, user_count
from tests.servers.livekit_fake import unused_url
from tests.servers.oidc import complete_login

# -- login -------------------------------------------------------------------------


def test_login_creates_the_user_and_returns_to_a_local_path(testapp, dbsession):
    authorize = start_login(testapp, returnTo="/team-room?lang=fr#x")
    res = testapp.get(callback_path(complete_login(authorize, "newbie")), status=302)
    assert res.location == "http://localhost/team-room?lang=fr#x"
    user = dbsession.scalars(select(User).where(User.sub == "newbie")).one()
    assert user.email == "newbie@example.org" and user.last_login is not None
    assert signed_in_user_id(testapp) == str(user.id)


def test_login_finds_an_existing_user(testapp, dbsession):
    user = make_user(dbsession, "known")
    before = user_count(dbsession)
    testapp.login("known")
    assert signed_in_user_id(testapp) == str(user.id)
    assert user_count(dbsession) == before


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example/",
        "http://evil.example",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/%09/evil.example/..",
        "javascript:alert(1)",
        "evil.example",
        "",
    ],
)
def test_return_to_never_leaves_the_site(testapp, return_to):
    authorize = start_login(testapp, returnTo=return_to)
    res = testapp.get(callback_path(complete_login(authorize, "alice")), status=302)
    location = urlsplit(res.location)
    assert (location.scheme, location.netloc) == ("http", "localhost")
    if return_to.startswith("/%09"):
        assert location.path == return_to  # escaped: a harmless local path
    else:
        assert res.location == "http://localhost/"


def test_callback_with_a_wrong_state_is_400(testapp, dbsession):
    before = user_count(dbsession)
    authorize = start_login(testapp)
    back = complete_login(authorize, "mallory")
    query = parse_qs(urlsplit(back).query)
    res = testapp.get(f"{API}/callback/", {"code": query["code"][0], "state": "forged"}, status=400)
    assert res.content_type == "text/html"
    assert signed_in_user_id(testapp) is None
    assert user_count(dbsession) == before


@pytest.mark.parametrize("params", [{}, {"code": "x"}, {"state": "x"}, {"code": "", "state": ""}])
def test_callback_without_code_or_state_is_400(testapp, params):
    start_login(testapp)
    testapp.get(f"{API}/callback/", params, status=400)
    assert signed_in_user_id(testapp) is None


def test_callback_in_another_browser_is_400(testapp, new_testapp, dbsession):
    """The state is bound to the session that started the login (no login CSRF)."""
    before = user_count(dbsession)
    authorize = start_login(testapp)
    back = complete_login(authorize, "mallory")
    victim = new_testapp()
    victim.get(callback_path(back), status=400)
    assert signed_in_user_id(victim) is None
    assert user_count(dbsession) == before


def test_replayed_callback_is_400(testapp, new_testapp):
    authorize = start_login(testapp)
    back = complete_login(authorize, "alice")
    testapp.get(callback_path(back), status=302)
    testapp.get(callback_path(back), status=400)


def test_provider_error_is_400(testapp, dbsession):
    before = user_count(dbsession)
    authorize = start_login(testapp) + "&prompt=none"  # no provider session: login_required
    back = complete_login(authorize, "alice", expect_error=True)
    assert "error=login_required" in back
    res = testapp.get(callback_path(back), status=400)
    assert "Sign-in failed" in res.text
    assert signed_in_user_id(testapp) is None
    assert user_count(dbsession) == before


def test_provider_error_without_state_is_400(testapp):
    start_login(testapp)
    testapp.get(f"{API}/callback/", {"error": "access_denied"}, status=400)


def test_login_gives_a_fresh_session(testapp):
    """No session fixation: the session cookie before login is not the one after."""
    authorize = start_login(testapp)
    before = testapp.cookies["meet_session"]
    testapp.get(callback_path(complete_login(authorize, "alice")), status=302)
    assert testapp.cookies["meet_session"] != before
    assert "csrftoken" in testapp.cookies


# -- logout ------------------------------------------------------------------------


def test_logout_clears_the_session(testapp, dbsession, oidc_provider):
    testapp.login_as(make_user(dbsession, "alice"))
    assert signed_in_user_id(testapp) is not None
    signed_in_cookie = testapp.cookies["meet_session"]
    res = testapp.get(f"{API}/logout/", status=302)
    end_session = oidc_provider.discovery()["end_session_endpoint"]
    assert res.location.startswith(end_session + "?")
    query = parse_qs(urlsplit(res.location).query)
    assert query["post_logout_redirect_uri"] == ["http://localhost/"]
    # the signed-cookie session is replaced by an empty one
    assert [c for c in res.headers.getall("Set-Cookie") if c.startswith("meet_session=")]
    assert testapp.cookies.get("meet_session") != signed_in_cookie
    assert signed_in_user_id(testapp) is None
    assert testapp.post_json(f"{API}/rooms/", {"name": "After"}, status=401)


def test_logout_when_anonymous(testapp):
    testapp.get(f"{API}/logout/", status=302)
    assert signed_in_user_id(testapp) is None


# -- an unreachable provider --------------------------------------------------------


OFFLINE_ISSUER = unused_url()  # nothing listens there


@pytest.fixture
def offline(testapp_with):
    """An app whose identity provider does not answer."""
    return testapp_with({"oidc.issuer": OFFLINE_ISSUER, "oidc.timeout": "2"})


def test_login_with_the_provider_down_is_502(offline):
    res = offline.get(f"{API}/authenticate/", status=502)
    assert "Sign-in unavailable" in res.text


def test_logout_with_the_provider_down_goes_home(offline):
    res = offline.get(f"{API}/logout/", status=302)
    assert res.location == "http://localhost/"


# -- configuration -----------------------------------------------------------------


def test_config(testapp, settings):
    config = testapp.get(f"{API}/config/", {"ignored": "1"}, status=200).json
    assert config["LANGUAGE_CODE"] == "en-us"
    assert config["recording"] == {
        "is_enabled": False,
        "available_modes": ["screen_recording", "transcript"],
        "expiration_days": None,
        "max_duration": None,
    }
    assert config["background_image"]["upload_is_enabled"] is False
    assert config["telephony"] == {"enabled": False}
    assert config["resource"] == {"default_access_level": "public"}
    assert config["subtitle"] == {"enabled": False}
    assert config["diagnostics"] == {"connection_test_enabled": False}
    assert config["livekit"] == {
        "url": settings["livekit.url"],
        "force_wss_protocol": False,
        "enable_firefox_proxy_workaround": False,
        "default_sources": ["camera", "microphone", "screen_share", "screen_share_audio"],
    }
    assert config["authenticated_users_can_edit_display_name"] is True


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_config_is_read_only(testapp, method):
    res = testapp.request(f"{API}/config/", method=method, body=b"{}", expect_errors=True)
    assert res.status_int == 405
    assert res.headers["Allow"] == "GET"
    assert res.json["detail"] == f'Method "{method}" not allowed.'

"""Steps of the real sign-in flow that login tests share."""

from urllib.parse import urlsplit

import requests
from sqlalchemy import func, select

from meet_web.models import User
from tests.servers.oidc import complete_login

API = "/api/v1.0"


def callback_path(url: str) -> str:
    """The path and query of the provider's redirect back to us."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def start_login(client, **params) -> str:
    """The provider's authorization URL the app sends the browser to."""
    return client.get(f"{API}/authenticate/", params=params, status=302).location


def http_sign_in(base: str, login: str, timeout: float = 10) -> requests.Session:
    """An HTTP client after the real OIDC flow against the session's provider, on an app
    served at `base`."""
    browser = requests.Session()
    start = browser.get(
        base + f"{API}/authenticate/",
        params={"returnTo": "/"},
        allow_redirects=False,
        timeout=timeout,
    )
    assert start.status_code == 302, start.text
    callback = complete_login(start.headers["Location"], login)
    assert callback.startswith(base + f"{API}/callback/"), callback
    done = browser.get(callback, allow_redirects=False, timeout=timeout)
    assert done.status_code == 302, done.text
    return browser


def signed_in_user_id(client) -> str | None:
    res = client.get(f"{API}/users/me/", expect_errors=True)
    return res.json["id"] if res.status_int == 200 else None


def user_count(dbsession) -> int:
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(User))

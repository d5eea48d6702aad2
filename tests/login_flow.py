"""Steps of the real sign-in flow that login tests share."""

from urllib.parse import urlsplit

from sqlalchemy import func, select

from meet_web.models import User

API = "/api/v1.0"


def callback_path(url: str) -> str:
    """The path and query of the provider's redirect back to us."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def start_login(client, **params) -> str:
    """The provider's authorization URL the app sends the browser to."""
    return client.get(f"{API}/authenticate/", params=params, status=302).location


def signed_in_user_id(client) -> str | None:
    res = client.get(f"{API}/users/me/", expect_errors=True)
    return res.json["id"] if res.status_int == 200 else None


def user_count(dbsession) -> int:
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(User))

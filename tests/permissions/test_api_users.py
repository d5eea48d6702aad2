"""Actor matrices for the users, config and login endpoints of the JSON API (reference §2.1).

The target of `/users/{id}/` is the cast's member: only that user may change it.
"""

import pytest

from meet_web.models import User
from tests.conftest import ACTORS
from tests.permissions.matrix import by

API = "/api/v1.0"


SIGNED_IN = by(anonymous=401, stranger=200, member=200, administrator=200, owner=200, operator=200)
EVERYONE = by(anonymous=200, stranger=200, member=200, administrator=200, owner=200, operator=200)
NOT_ALLOWED = by(
    anonymous=401, stranger=405, member=405, administrator=405, owner=405, operator=405
)
SELF_ONLY = by(anonymous=401, stranger=403, member=200, administrator=403, owner=403, operator=403)


@pytest.mark.parametrize("actor", ACTORS)
def test_config(testapp, cast, actor):
    testapp.login_as(cast[actor])
    res = testapp.get(f"{API}/config/", status=EVERYONE[actor])
    assert res.json["resource"]["default_access_level"] == "public"


@pytest.mark.parametrize("actor", ACTORS)
def test_me(testapp, cast, actor):
    testapp.login_as(cast[actor])
    res = testapp.get(f"{API}/users/me/", status=SIGNED_IN[actor])
    if SIGNED_IN[actor] == 200:
        assert res.json["id"] == str(cast[actor].id)


@pytest.mark.parametrize("actor", ACTORS)
def test_list(testapp, cast, actor):
    """Empty unless `users.allow_listing` (off here), even with a query."""
    testapp.login_as(cast[actor])
    res = testapp.get(f"{API}/users/", {"q": "member"}, status=SIGNED_IN[actor])
    if SIGNED_IN[actor] == 200:
        assert res.json == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize("actor", ACTORS)
def test_create_not_allowed(testapp, cast, actor):
    testapp.login_as(cast[actor])
    res = testapp.post_json(f"{API}/users/", {"email": "x@example.org"}, status=NOT_ALLOWED[actor])
    if NOT_ALLOWED[actor] == 405:
        assert res.headers["Allow"] == "GET"


@pytest.mark.parametrize("method", ["get", "delete"])
@pytest.mark.parametrize("actor", ACTORS)
def test_retrieve_and_delete_not_allowed(testapp, cast, dbsession, actor, method):
    testapp.login_as(cast[actor])
    res = getattr(testapp, method)(f"{API}/users/{cast.member.id}/", status=NOT_ALLOWED[actor])
    if NOT_ALLOWED[actor] == 405:
        assert res.headers["Allow"] == "PUT, PATCH"
    dbsession.expire_all()
    assert dbsession.get(User, cast.member.id) is not None


@pytest.mark.parametrize("method", ["put_json", "patch_json"])
@pytest.mark.parametrize("actor", ACTORS)
def test_update(testapp, cast, dbsession, actor, method):
    testapp.login_as(cast[actor])
    getattr(testapp, method)(
        f"{API}/users/{cast.member.id}/", {"timezone": "Europe/Paris"}, status=SELF_ONLY[actor]
    )
    dbsession.expire_all()
    expected = "Europe/Paris" if SELF_ONLY[actor] == 200 else "UTC"
    assert dbsession.get(User, cast.member.id).timezone == expected


# The login flow is open to everybody: it only starts, finishes or ends a session.
AUTHENTICATE = by(
    anonymous=302, stranger=302, member=302, administrator=302, owner=302, operator=302
)
CALLBACK_WITHOUT_STATE = by(
    anonymous=400, stranger=400, member=400, administrator=400, owner=400, operator=400
)
LOGOUT = AUTHENTICATE


@pytest.mark.parametrize("actor", ACTORS)
def test_authenticate(testapp, cast, oidc_provider, actor):
    testapp.login_as(cast[actor])
    res = testapp.get(f"{API}/authenticate/", status=AUTHENTICATE[actor])
    assert res.location.startswith(oidc_provider.issuer + "/")


@pytest.mark.parametrize("actor", ACTORS)
def test_callback_without_state(testapp, cast, actor):
    testapp.login_as(cast[actor])
    testapp.get(f"{API}/callback/", {"code": "x"}, status=CALLBACK_WITHOUT_STATE[actor])


@pytest.mark.parametrize("actor", ACTORS)
def test_logout(testapp, cast, actor):
    testapp.login_as(cast[actor])
    testapp.get(f"{API}/logout/", status=LOGOUT[actor])
    testapp.get(f"{API}/users/me/", status=401)

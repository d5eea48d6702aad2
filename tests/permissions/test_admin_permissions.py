"""Who may open the admin pages and act there: operators only.

Anonymous visitors are sent to sign in (a page) or refused (a write); signed-in
non-operators get the 403 page, whatever role they hold on rooms; a deactivated
operator is signed out like any deactivated account, so is treated as anonymous.
"""

from __future__ import annotations

import pytest

from meet_web.models import Role, User
from tests.conftest import ACTORS, make_user

from .matrix import by

ADMIN_ACTORS = (*ACTORS, "deactivated_operator")

PAGE = by(anonymous=303, stranger=403, member=403, administrator=403, owner=403, operator=200)
WRITE = by(anonymous=403, stranger=403, member=403, administrator=403, owner=403, operator=303)


def expected(matrix: dict, actor: str) -> int:
    return matrix["anonymous"] if actor == "deactivated_operator" else matrix[actor]


@pytest.fixture
def scene(dbsession, cast):
    """The cast, a deactivated operator, and a user with a duplicate account."""
    deactivated = make_user(dbsession, "operator2", is_operator=True)
    twin = User(sub="stranger-twin", email="STRANGER@example.org")
    dbsession.add(twin)
    dbsession.flush()
    member_access = next(a for a in cast.room.accesses if a.role == Role.MEMBER)
    return {
        "cast": cast,
        "deactivated": deactivated,
        "user": cast.stranger.id,
        "room": cast.room.id,
        "member_access": str(member_access.id),
    }


def sign_in(testapp, dbsession, scene, actor):
    if actor == "deactivated_operator":
        testapp.login_as(scene["deactivated"])
        scene["deactivated"].is_active = False
        dbsession.flush()
    else:
        testapp.login_as(scene["cast"][actor])


PAGES = (
    "/admin/",
    "/admin/users/",
    "/admin/users/{user}/",
    "/admin/users/{user}/deactivate",
    "/admin/users/{user}/merge",
    "/admin/rooms/",
    "/admin/rooms/{room}/",
    "/admin/rooms/{room}/end-meeting",
    "/admin/rooms/{room}/delete",
)

WRITES = (
    ("/admin/users/{user}/grant-operator", {}),
    ("/admin/users/{user}/revoke-operator", {}),
    ("/admin/users/{user}/deactivate", {"confirm": "yes"}),
    ("/admin/users/{user}/reactivate", {}),
    ("/admin/users/{user}/merge", {"confirm": "yes"}),
    ("/admin/rooms/{room}/accesses", {"email": "operator2@example.org", "role": "member"}),
    ("/admin/rooms/{room}/access-role", {"access_id": "{member_access}", "role": "owner"}),
    ("/admin/rooms/{room}/access-remove", {"access_id": "{member_access}"}),
    ("/admin/rooms/{room}/end-meeting", {"confirm": "yes"}),
    ("/admin/rooms/{room}/delete", {"confirm": "yes"}),
)


@pytest.mark.parametrize("actor", ADMIN_ACTORS)
@pytest.mark.parametrize("path", PAGES)
def test_pages(testapp, dbsession, scene, actor, path, livekit):
    sign_in(testapp, dbsession, scene, actor)
    res = testapp.get(path.format(**scene), status=expected(PAGE, actor))
    if res.status_int == 303:
        assert res.location.startswith("http://localhost/api/v1.0/authenticate/")
    else:
        assert res.content_type == "text/html"


@pytest.mark.parametrize("actor", ADMIN_ACTORS)
@pytest.mark.parametrize(("path", "fields"), WRITES)
def test_writes(testapp, dbsession, scene, actor, path, fields, livekit):
    sign_in(testapp, dbsession, scene, actor)
    token = (testapp.cookies.get("csrftoken") or "").strip('"')
    form = {name: value.format(**scene) for name, value in fields.items()}
    res = testapp.post(
        path.format(**scene), {**form, "csrf_token": token}, status=expected(WRITE, actor)
    )
    if res.status_int == 303:
        assert res.location.startswith("http://localhost/admin/")
    else:
        assert res.content_type == "text/html"


@pytest.mark.parametrize("actor", ADMIN_ACTORS)
def test_the_user_menu_links_to_the_admin_for_operators_only(testapp, dbsession, scene, actor):
    sign_in(testapp, dbsession, scene, actor)
    text = testapp.get("/", status=200).text
    assert ('href="http://localhost/admin/"' in text) is (actor == "operator")


def test_unknown_sections_are_not_found(testapp, cast):
    testapp.login_as(cast.operator)
    testapp.get("/admin/nothing/", status=404)

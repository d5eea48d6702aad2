"""Resource accesses on the JSON API: grants, role changes, removal, lists and bad input.

Every refused request answers a JSON error naming the field and writes nothing.
"""

import json
import uuid

import pytest
from sqlalchemy import select

from meet_web.models import ResourceAccess, Role
from tests.api_checks import BAD_BODIES, UUID, assert_bad_body, assert_error
from tests.conftest import make_room, make_user

ACCESSES = "/api/v1.0/resource-accesses/"


def db_state(dbsession) -> list:
    """Every access as the database has it now."""
    dbsession.expire_all()
    return dbsession.execute(
        select(
            ResourceAccess.id,
            ResourceAccess.resource_id,
            ResourceAccess.user_id,
            ResourceAccess.role,
        ).order_by(ResourceAccess.id)
    ).all()


def access_of(room, user) -> ResourceAccess:
    return next(a for a in room.accesses if a.user_id == user.id)


@pytest.fixture
def newcomer(dbsession):
    return make_user(dbsession, "newcomer")


@pytest.fixture
def as_owner(testapp, cast):
    testapp.login_as(cast.owner)
    return testapp


# -- create ------------------------------------------------------------------


def test_create_defaults_to_member(as_owner, cast, newcomer, dbsession):
    body = {"user": str(newcomer.id), "resource": str(cast.room.id)}
    res = as_owner.post_json(ACCESSES, body, status=201)
    assert res.json["role"] == "member"
    assert set(res.json) == {"id", "user", "resource", "role"}
    dbsession.expire_all()
    access = dbsession.get(ResourceAccess, uuid.UUID(res.json["id"]))
    assert (access.user_id, access.resource_id, access.role) == (
        newcomer.id,
        cast.room.id,
        Role.MEMBER,
    )
    # the room now shows the new member to its managers
    room = as_owner.get(f"/api/v1.0/rooms/{cast.room.slug}/").json
    assert str(newcomer.id) in [a["user"]["id"] for a in room["accesses"]]


def bad_create_bodies():
    user, room = "{user}", "{room}"
    return [
        pytest.param({}, ("user", "resource"), 400, id="empty"),
        pytest.param({"resource": room}, ("user",), 400, id="missing-user"),
        pytest.param({"user": user}, ("resource",), 400, id="missing-resource"),
        pytest.param({"user": "abc", "resource": room}, ("user",), 400, id="user-not-uuid"),
        pytest.param({"user": 12, "resource": room}, ("user",), 400, id="user-number"),
        pytest.param({"user": None, "resource": room}, ("user",), 400, id="user-null"),
        pytest.param({"user": [user], "resource": room}, ("user",), 400, id="user-list"),
        pytest.param({"user": UUID, "resource": room}, ("user",), 400, id="unknown-user"),
        pytest.param({"user": user, "resource": "team-room"}, ("resource",), 400, id="slug"),
        pytest.param({"user": user, "resource": UUID}, ("resource",), 400, id="unknown-room"),
        pytest.param({"user": user, "resource": {}}, ("resource",), 400, id="resource-object"),
        pytest.param({"user": user, "resource": room, "role": "admin"}, ("role",), 400, id="admin"),
        pytest.param(
            {"user": user, "resource": room, "role": "OWNER"}, ("role",), 400, id="upper-role"
        ),
        pytest.param({"user": user, "resource": room, "role": 2}, ("role",), 400, id="role-int"),
        pytest.param(
            {"user": user, "resource": room, "role": None}, ("role",), 400, id="role-null"
        ),
        pytest.param(
            {"user": "{member}", "resource": room, "role": "member"},
            ("user",),
            400,
            id="already-member",
        ),
        pytest.param(
            {"user": "{owner}", "resource": room, "role": "administrator"},
            ("user",),
            400,
            id="already-owner",
        ),
    ]


def fill(body: dict, cast, newcomer) -> dict:
    values = {
        "user": str(newcomer.id),
        "room": str(cast.room.id),
        "member": str(cast.member.id),
        "owner": str(cast.owner.id),
    }
    return {k: v.format(**values) if isinstance(v, str) else v for k, v in body.items()}


@pytest.mark.parametrize(("body", "fields", "status"), bad_create_bodies())
def test_create_refuses_bad_input(as_owner, cast, newcomer, dbsession, body, fields, status):
    before = db_state(dbsession)
    res = as_owner.post_json(ACCESSES, fill(body, cast, newcomer), status=status)
    error = assert_error(res, status, fields[0])
    assert set(fields) <= set(error)
    assert db_state(dbsession) == before


def test_create_on_a_room_not_managed_is_403_with_the_reference_message(
    testapp, cast, newcomer, dbsession
):
    before = db_state(dbsession)
    testapp.login_as(cast.member)
    body = {"user": str(newcomer.id), "resource": str(cast.room.id)}
    res = testapp.post_json(ACCESSES, body, status=403)
    assert assert_error(res, 403)["detail"] == (
        "You must be administrator or owner of a room to add accesses to it."
    )
    assert db_state(dbsession) == before


def test_administrator_granting_owner_gets_the_reference_message(
    testapp, cast, newcomer, dbsession
):
    before = db_state(dbsession)
    testapp.login_as(cast.administrator)
    body = {"user": str(newcomer.id), "resource": str(cast.room.id), "role": "owner"}
    res = testapp.post_json(ACCESSES, body, status=403)
    assert assert_error(res, 403)["detail"] == (
        "Only owners of a room can assign other users as owners."
    )
    assert db_state(dbsession) == before


@pytest.mark.parametrize(("body", "content_type", "message"), BAD_BODIES)
def test_create_refuses_a_body_that_is_not_a_json_object(
    as_owner, dbsession, body, content_type, message
):
    before = db_state(dbsession)
    res = as_owner.post(ACCESSES, body, content_type=content_type, status=400)
    assert_bad_body(res, message)
    assert db_state(dbsession) == before


# -- update ------------------------------------------------------------------


def test_update_ignores_user_and_resource(as_owner, cast, dbsession, newcomer):
    other = make_room(dbsession, "Other Room", cast.owner)
    access = access_of(cast.room, cast.member)
    body = {"role": "administrator", "user": str(newcomer.id), "resource": str(other.id)}
    res = as_owner.put_json(f"{ACCESSES}{access.id}/", body, status=200)
    assert res.json == {
        "id": str(access.id),
        "user": str(cast.member.id),
        "resource": str(cast.room.id),
        "role": "administrator",
    }
    dbsession.expire_all()
    access = dbsession.get(ResourceAccess, access.id)
    assert (access.user_id, access.resource_id) == (cast.member.id, cast.room.id)


def test_patch_without_role_changes_nothing(as_owner, cast, dbsession):
    before = db_state(dbsession)
    access = access_of(cast.room, cast.member)
    res = as_owner.patch_json(f"{ACCESSES}{access.id}/", {}, status=200)
    assert res.json["role"] == "member"
    assert db_state(dbsession) == before


@pytest.mark.parametrize(
    ("actor", "target", "status"),
    [
        ("owner", "owner", 200),
        ("owner", "member", 200),
        ("administrator", "member", 200),
        ("administrator", "administrator", 200),
        # the owner rules hold even when nothing would change
        ("administrator", "owner", 403),
    ],
)
def test_setting_the_same_role(testapp, cast, dbsession, actor, target, status):
    before = db_state(dbsession)
    access = access_of(cast.room, cast[target])
    testapp.login_as(cast[actor])
    testapp.put_json(f"{ACCESSES}{access.id}/", {"role": target}, status=status)
    assert db_state(dbsession) == before


def test_last_owner_cannot_step_down(as_owner, cast, dbsession):
    before = db_state(dbsession)
    access = access_of(cast.room, cast.owner)
    res = as_owner.patch_json(f"{ACCESSES}{access.id}/", {"role": "member"}, status=403)
    assert "owner" in assert_error(res, 403)["detail"]
    res = as_owner.delete(f"{ACCESSES}{access.id}/", status=403)
    assert "owner" in assert_error(res, 403)["detail"]
    assert db_state(dbsession) == before


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("put_json", {}, "role"),
        ("put_json", {"user": UUID}, "role"),
        ("put_json", {"role": "admin"}, "role"),
        ("patch_json", {"role": "admin"}, "role"),
        ("patch_json", {"role": ""}, "role"),
        ("patch_json", {"role": None}, "role"),
        ("patch_json", {"role": 1}, "role"),
        ("patch_json", {"role": ["owner"]}, "role"),
        ("patch_json", {"role": {"name": "owner"}}, "role"),
    ],
)
def test_update_refuses_bad_input(as_owner, cast, dbsession, method, body, field):
    before = db_state(dbsession)
    access = access_of(cast.room, cast.member)
    res = getattr(as_owner, method)(f"{ACCESSES}{access.id}/", body, status=400)
    assert_error(res, 400, field)
    assert db_state(dbsession) == before


@pytest.mark.parametrize(("body", "content_type", "message"), BAD_BODIES)
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_refuses_a_body_that_is_not_a_json_object(
    as_owner, cast, dbsession, method, body, content_type, message
):
    before = db_state(dbsession)
    access = access_of(cast.room, cast.member)
    res = as_owner.request(
        f"{ACCESSES}{access.id}/",
        method=method,
        body=body,
        content_type=content_type,
        expect_errors=True,
    )
    assert_bad_body(res, message)
    assert db_state(dbsession) == before


# -- unknown ids and methods ----------------------------------------------------


@pytest.mark.parametrize("key", [UUID, "not-a-uuid", "0", UUID.replace("-", "")])
@pytest.mark.parametrize("method", ["get", "put_json", "patch_json", "delete"])
def test_unknown_access_is_404(as_owner, cast, dbsession, key, method):
    before = db_state(dbsession)
    url = f"{ACCESSES}{key}/"
    call = getattr(as_owner, method)
    res = (
        call(url, {"role": "member"}, status=404)
        if method.endswith("json")
        else call(url, status=404)
    )
    assert_error(res, 404)
    assert db_state(dbsession) == before


def test_access_found_by_undashed_id(as_owner, cast):
    access = access_of(cast.room, cast.member)
    assert as_owner.get(f"{ACCESSES}{access.id.hex}/").json["id"] == str(access.id)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "", "GET, POST"),
        ("DELETE", "", "GET, POST"),
        ("POST", "{id}/", "DELETE, GET, PATCH, PUT"),
    ],
)
def test_other_methods_are_405(as_owner, cast, dbsession, method, path, allow):
    before = db_state(dbsession)
    access = access_of(cast.room, cast.member)
    res = as_owner.request(
        ACCESSES + path.format(id=access.id),
        method=method,
        body=json.dumps({"role": "owner"}).encode(),
        content_type="application/json",
        expect_errors=True,
    )
    assert_error(res, 405)
    assert res.headers["Allow"] == allow
    assert db_state(dbsession) == before


# -- list and pagination ---------------------------------------------------------


def test_list_spans_every_managed_room_and_only_those(testapp, cast, dbsession):
    mine = make_room(dbsession, "Mine", cast.administrator)  # owner there
    elsewhere = make_room(dbsession, "Elsewhere", cast.stranger)
    elsewhere.accesses.append(ResourceAccess(user=cast.administrator, role=Role.MEMBER))
    dbsession.flush()
    testapp.login_as(cast.administrator)
    res = testapp.get(ACCESSES, status=200).json
    expected = {str(a.id) for a in cast.room.accesses} | {str(a.id) for a in mine.accesses}
    assert {a["id"] for a in res["results"]} == expected
    assert res["count"] == len(expected) == 4


def test_list_pages(as_owner, cast, dbsession):
    for number in range(22):
        user = make_user(dbsession, f"guest{number:02d}")
        cast.room.accesses.append(ResourceAccess(user=user, role=Role.MEMBER))
    dbsession.flush()
    first = as_owner.get(ACCESSES, status=200).json
    assert first["count"] == 25 and len(first["results"]) == 20
    assert first["next"] == f"http://localhost{ACCESSES}?page=2"
    second = as_owner.get(first["next"]).json
    assert len(second["results"]) == 5 and second["next"] is None
    assert second["previous"] == f"http://localhost{ACCESSES}"
    ids = [a["id"] for a in first["results"] + second["results"]]
    assert len(set(ids)) == 25
    assert len(as_owner.get(ACCESSES, {"page_size": 100}).json["results"]) == 25


@pytest.mark.parametrize(
    ("params", "field", "status"),
    [
        ({"page": 0}, "page", 400),
        ({"page": "x"}, "page", 400),
        ({"page_size": 0}, "page_size", 400),
        ({"page_size": 101}, "page_size", 400),
        ({"page_size": "many"}, "page_size", 400),
        ({"page": 2}, "page", 404),
        ({"page": 2, "page_size": 3}, "page", 404),
        ({"page": 10**30}, "page", 404),
    ],
)
def test_list_refuses_bad_paging(as_owner, cast, params, field, status):
    res = as_owner.get(ACCESSES, params, status=status)
    assert_error(res, status, field if status == 400 else None)

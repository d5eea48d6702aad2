"""Users on the JSON API: me, the settings a user may change, search and bad input.

Every refused request answers a JSON error naming the field and writes nothing.
"""

import json

import pytest
from sqlalchemy import select

from meet_web.models import User
from tests.api_checks import BAD_BODIES, UUID, assert_bad_body, assert_error
from tests.conftest import make_user

USERS = "/api/v1.0/users/"


def db_state(dbsession) -> list:
    """Every user's fields the API could write, as the database has them now."""
    dbsession.expire_all()
    return dbsession.execute(
        select(
            User.id,
            User.email,
            User.full_name,
            User.short_name,
            User.timezone,
            User.language,
            User.default_room_access_level,
            User.default_room_configuration,
            User.is_operator,
        ).order_by(User.id)
    ).all()


@pytest.fixture
def me(dbsession, testapp):
    user = make_user(dbsession, "alice")
    testapp.login_as(user)
    return user


def test_me(testapp, me):
    assert testapp.get(f"{USERS}me/").json == {
        "id": str(me.id),
        "email": "alice@example.org",
        "full_name": "Alice Example",
        "short_name": "Alice",
        "timezone": "UTC",
        "language": "en-us",
        "default_room_access_level": None,
        "default_room_configuration": {},
        "guest_waiting_emails": False,
    }


def test_update_settings(testapp, me, dbsession):
    body = {
        "timezone": "Europe/Paris",
        "language": "fr-fr",
        "default_room_access_level": "restricted",
        "default_room_configuration": {"can_publish_sources": ["microphone"]},
    }
    res = testapp.put_json(f"{USERS}{me.id}/", body, status=200)
    assert {k: res.json[k] for k in body} == body
    assert testapp.get(f"{USERS}me/").json == res.json
    res = testapp.patch_json(f"{USERS}{me.id}/", {"default_room_access_level": None}, status=200)
    assert res.json["default_room_access_level"] is None
    assert res.json["timezone"] == "Europe/Paris"
    dbsession.expire_all()
    user = dbsession.get(User, me.id)
    assert (user.timezone, user.language, user.default_room_access_level) == (
        "Europe/Paris",
        "fr-fr",
        None,
    )


def test_update_ignores_read_only_fields(testapp, me, dbsession):
    before = db_state(dbsession)
    body = {
        "id": UUID,
        "email": "mallory@example.org",
        "full_name": "Mallory",
        "short_name": "M",
        "is_operator": True,
        "sub": "mallory",
    }
    res = testapp.put_json(f"{USERS}{me.id}/", body, status=200)
    assert res.json["email"] == "alice@example.org" and res.json["id"] == str(me.id)
    assert db_state(dbsession) == before


BAD_UPDATES = [
    pytest.param({"timezone": "Mars/Olympus"}, "timezone", id="unknown-timezone"),
    pytest.param({"timezone": ""}, "timezone", id="empty-timezone"),
    pytest.param({"timezone": 1}, "timezone", id="number-timezone"),
    pytest.param({"timezone": None}, "timezone", id="null-timezone"),
    pytest.param({"timezone": "x" * 65}, "timezone", id="long-timezone"),
    pytest.param({"timezone": "UTC\x00"}, "timezone", id="nul-timezone"),
    pytest.param({"language": "xx"}, "language", id="unknown-language"),
    pytest.param({"language": "EN-US"}, "language", id="upper-language"),
    pytest.param({"language": ["en-us"]}, "language", id="list-language"),
    pytest.param({"language": "en-us" * 100}, "language", id="long-language"),
    pytest.param(
        {"default_room_access_level": "secret"}, "default_room_access_level", id="bad-level"
    ),
    pytest.param({"default_room_access_level": 3}, "default_room_access_level", id="int-level"),
    pytest.param(
        {"default_room_configuration": []}, "default_room_configuration", id="list-config"
    ),
    pytest.param(
        {"default_room_configuration": None}, "default_room_configuration", id="null-config"
    ),
    pytest.param(
        {"default_room_configuration": {"nope": True}},
        "default_room_configuration",
        id="unknown-config-key",
    ),
    pytest.param(
        {"default_room_configuration": {"can_publish_sources": ["webcam"]}},
        "default_room_configuration",
        id="unknown-source",
    ),
]


@pytest.mark.parametrize("method", ["put_json", "patch_json"])
@pytest.mark.parametrize(("body", "field"), BAD_UPDATES)
def test_update_refuses_bad_input(testapp, me, dbsession, method, body, field):
    before = db_state(dbsession)
    # a valid field next to the bad one is not written either
    res = getattr(testapp, method)(
        f"{USERS}{me.id}/",
        {"language": "fr-fr", **body}
        if field != "language"
        else {"timezone": "Europe/Paris", **body},
        status=400,
    )
    assert set(assert_error(res, 400, field)) == {field}
    assert db_state(dbsession) == before


@pytest.mark.parametrize(("body", "content_type", "message"), BAD_BODIES)
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_refuses_a_body_that_is_not_a_json_object(
    testapp, me, dbsession, method, body, content_type, message
):
    before = db_state(dbsession)
    res = testapp.request(
        f"{USERS}{me.id}/",
        method=method,
        body=body,
        content_type=content_type,
        expect_errors=True,
    )
    assert_bad_body(res, message)
    assert db_state(dbsession) == before


@pytest.mark.parametrize("key", [UUID, "nobody", "0"])
@pytest.mark.parametrize("method", ["put_json", "patch_json"])
def test_unknown_user_is_404(testapp, me, dbsession, key, method):
    before = db_state(dbsession)
    res = getattr(testapp, method)(f"{USERS}{key}/", {"timezone": "UTC"}, status=404)
    assert_error(res, 404)
    assert db_state(dbsession) == before


def test_user_found_by_undashed_id(testapp, me):
    res = testapp.patch_json(f"{USERS}{me.id.hex}/", {"language": "fr-fr"}, status=200)
    assert res.json["id"] == str(me.id)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "", "GET"),
        # POST has a view (which answers 405), so it is listed too
        ("PUT", "", "GET, POST"),
        ("DELETE", "", "GET, POST"),
        ("GET", "{id}/", "PUT, PATCH"),
        ("DELETE", "{id}/", "PUT, PATCH"),
        ("POST", "{id}/", "PUT, PATCH"),
        ("PUT", "me/", "GET"),
        ("DELETE", "me/", "GET"),
    ],
)
def test_other_methods_are_405(testapp, me, dbsession, method, path, allow):
    before = db_state(dbsession)
    res = testapp.request(
        USERS + path.format(id=me.id),
        method=method,
        body=json.dumps({"email": "x@example.org"}).encode(),
        content_type="application/json",
        expect_errors=True,
    )
    assert_error(res, 405)
    assert res.headers["Allow"] == allow
    assert db_state(dbsession) == before


@pytest.mark.parametrize(
    ("params", "field", "status"),
    [
        ({"page": 0}, "page", 400),
        ({"page": "x"}, "page", 400),
        ({"page_size": 0}, "page_size", 400),
        ({"page_size": 101}, "page_size", 400),
        ({"page": 2}, "page", 404),
    ],
)
def test_list_refuses_bad_paging(testapp, me, params, field, status):
    res = testapp.get(USERS, params, status=status)
    assert_error(res, status, field if status == 400 else None)


# -- search, with `users.allow_listing` on ----------------------------------------


@pytest.fixture
def listing(testapp_with, me):
    """An app that lists users, on this test's connection, signed in as `me`."""
    client = testapp_with({"users.allow_listing": "true"})
    client.login_as(me)
    return client


@pytest.fixture
def people(dbsession):
    users = [make_user(dbsession, f"person{n:02d}") for n in range(60)]
    users.append(make_user(dbsession, "bob_smith"))
    users.append(make_user(dbsession, "bobxsmith"))
    return users


def test_search_when_listing_is_allowed(listing, people):
    res = listing.get(USERS, {"q": "PERSON0"}, status=200).json
    assert res["count"] == 10
    assert [u["email"] for u in res["results"]] == [f"person0{n}@example.org" for n in range(10)]
    assert set(res["results"][0]) == {
        "id",
        "email",
        "full_name",
        "short_name",
        "timezone",
        "language",
        "default_room_access_level",
        "default_room_configuration",
    }


def test_search_needs_a_query(listing, people):
    for params in ({}, {"q": ""}, {"q": "   "}, {"q": "\x00"}):
        assert listing.get(USERS, params).json["results"] == []


def test_search_treats_wildcards_literally(listing, people):
    emails = [u["email"] for u in listing.get(USERS, {"q": "bob_"}).json["results"]]
    assert emails == ["bob_smith@example.org"]
    assert listing.get(USERS, {"q": "%"}).json["count"] == 0


def test_search_shows_at_most_50_users(listing, people):
    first = listing.get(USERS, {"q": "person", "page_size": 20}).json
    assert first["count"] == 50
    third = listing.get(first["next"]).json
    third = listing.get(third["next"]).json
    assert len(third["results"]) == 10 and third["next"] is None
    assert third["results"][-1]["email"] == "person49@example.org"
    listing.get(USERS, {"q": "person", "page_size": 20, "page": 4}, status=404)
    listing.get(USERS, {"q": "person", "page": 10**30}, status=404)
    every = listing.get(USERS, {"q": "person", "page_size": 100}).json
    assert len(every["results"]) == 50


def test_search_still_needs_a_login(listing, people):
    listing.reset()
    assert_error(listing.get(USERS, {"q": "person"}, status=401), 401)

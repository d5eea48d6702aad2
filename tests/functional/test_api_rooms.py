"""Rooms on the JSON API: creation, update, lookup, pagination and bad input.

Every refused request answers a JSON error naming the field and writes nothing.
"""

import json

import pytest
from sqlalchemy import select

from meet_web.models import AccessLevel, ResourceAccess, Room
from tests.api_checks import BAD_BODIES, UUID, assert_bad_body, assert_error
from tests.conftest import make_room, make_user

ROOMS = "/api/v1.0/rooms/"


def db_state(dbsession) -> tuple:
    """Every room and access as the database has them now."""
    dbsession.expire_all()
    rooms = dbsession.execute(
        select(
            Room.id, Room.name, Room.slug, Room.access_level, Room.configuration, Room.pin_code
        ).order_by(Room.id)
    ).all()
    accesses = dbsession.execute(
        select(ResourceAccess.resource_id, ResourceAccess.user_id, ResourceAccess.role).order_by(
            ResourceAccess.id
        )
    ).all()
    return rooms, accesses


@pytest.fixture
def signed_in(testapp, cast):
    """The cast's owner, signed in."""
    testapp.login_as(cast.owner)
    return testapp


# -- create ------------------------------------------------------------------


def test_create_makes_the_caller_owner(signed_in, cast, dbsession):
    res = signed_in.post_json(ROOMS, {"name": "  Réunion d'équipe  "}, status=201)
    assert res.json["name"] == "Réunion d'équipe"
    assert res.json["slug"] == "reunion-dequipe"
    assert res.json["access_level"] == "public"
    assert res.json["configuration"] == {}
    assert res.json["is_administrable"] is True
    assert [a["role"] for a in res.json["accesses"]] == ["owner"]
    room = dbsession.scalars(select(Room).where(Room.slug == "reunion-dequipe")).one()
    assert str(room.id) == res.json["id"]
    assert [(a.user_id, a.role) for a in room.accesses] == [(cast.owner.id, "owner")]


def test_create_with_level_and_configuration(signed_in):
    body = {
        "name": "Board",
        "access_level": "restricted",
        "configuration": {"can_publish_sources": ["camera", "camera"], "everyone_can_mute": False},
    }
    res = signed_in.post_json(ROOMS, body, status=201)
    assert res.json["access_level"] == "restricted"
    assert res.json["configuration"] == {
        "can_publish_sources": ["camera"],
        "everyone_can_mute": False,
    }


def test_create_uses_the_users_defaults(testapp, dbsession):
    user = make_user(
        dbsession,
        "defaults",
        default_room_access_level=AccessLevel.TRUSTED,
        default_room_configuration={"everyone_can_mute": False},
    )
    testapp.login_as(user)
    res = testapp.post_json(ROOMS, {"name": "Mine"}, status=201)
    assert res.json["access_level"] == "trusted"
    assert res.json["configuration"] == {"everyone_can_mute": False}
    res = testapp.post_json(
        ROOMS, {"name": "Other", "configuration": {}, "access_level": "public"}, status=201
    )
    assert res.json["access_level"] == "public"
    assert res.json["configuration"] == {"everyone_can_mute": False}


def test_create_ignores_read_only_fields(signed_in):
    body = {"name": "Plain", "slug": "fancy", "id": UUID, "pin_code": "1234", "accesses": []}
    res = signed_in.post_json(ROOMS, body, status=201)
    assert res.json["slug"] == "plain"
    assert res.json["id"] != UUID
    assert res.json["pin_code"] is None


OVERSIZED_NAME = "x" * 501
LONG_SLUG_NAME = " ".join(["abcdefghi"] * 11)  # 109 characters, slug of 109


BAD_CREATE_BODIES = [
    pytest.param({}, "name", id="missing-name"),
    pytest.param({"access_level": "public"}, "name", id="only-level"),
    pytest.param({"name": ""}, "name", id="empty-name"),
    pytest.param({"name": "   "}, "name", id="blank-name"),
    pytest.param({"name": 12}, "name", id="number-name"),
    pytest.param({"name": None}, "name", id="null-name"),
    pytest.param({"name": ["a"]}, "name", id="list-name"),
    pytest.param({"name": {"a": 1}}, "name", id="object-name"),
    pytest.param({"name": "!!! ???"}, "name", id="no-letter-name"),
    pytest.param({"name": "🎉 🎈"}, "name", id="emoji-name"),
    pytest.param({"name": "a\x00b"}, "name", id="nul-name"),
    pytest.param({"name": OVERSIZED_NAME}, "name", id="oversized-name"),
    pytest.param({"name": LONG_SLUG_NAME}, "name", id="slug-over-100"),
    pytest.param({"name": UUID}, "name", id="uuid-name"),
    pytest.param({"name": UUID.replace("-", "")}, "name", id="hex-uuid-name"),
    pytest.param({"name": UUID.upper()}, "name", id="upper-uuid-name"),
    pytest.param({"name": "{" + UUID + "}"}, "name", id="braced-uuid-name"),
    pytest.param({"name": "rooms"}, "name", id="reserved-rooms"),
    pytest.param({"name": "API"}, "name", id="reserved-api"),
    pytest.param({"name": "Admin!"}, "name", id="reserved-admin"),
    pytest.param({"name": "static"}, "name", id="reserved-static"),
    pytest.param({"name": "Team Room"}, "slug", id="duplicate-slug"),
    pytest.param({"name": "TEAM-room"}, "slug", id="duplicate-slug-other-spelling"),
    pytest.param({"name": "N", "access_level": "secret"}, "access_level", id="unknown-level"),
    pytest.param({"name": "N", "access_level": "PUBLIC"}, "access_level", id="upper-level"),
    pytest.param({"name": "N", "access_level": 1}, "access_level", id="number-level"),
    pytest.param({"name": "N", "access_level": None}, "access_level", id="null-level"),
    pytest.param({"name": "N", "access_level": ["public"]}, "access_level", id="list-level"),
    pytest.param({"name": "N", "configuration": "x"}, "configuration", id="string-config"),
    pytest.param({"name": "N", "configuration": []}, "configuration", id="list-config"),
    pytest.param({"name": "N", "configuration": None}, "configuration", id="null-config"),
    pytest.param({"name": "N", "configuration": {"x": 1}}, "configuration", id="unknown-key"),
    pytest.param(
        {"name": "N", "configuration": {"can_publish_sources": ["CAMERA"]}},
        "configuration",
        id="unknown-source",
    ),
    pytest.param(
        {"name": "N", "configuration": {"can_publish_sources": "camera"}},
        "configuration",
        id="sources-not-list",
    ),
    pytest.param(
        {"name": "N", "configuration": {"everyone_can_mute": "yes"}},
        "configuration",
        id="mute-not-bool",
    ),
]


@pytest.mark.parametrize(("body", "field"), BAD_CREATE_BODIES)
def test_create_refuses_bad_input(signed_in, cast, dbsession, body, field):
    before = db_state(dbsession)
    res = signed_in.post_json(ROOMS, body, status=400)
    assert_error(res, 400, field)
    assert db_state(dbsession) == before


def test_create_names_every_bad_field(signed_in):
    res = signed_in.post_json(ROOMS, {"access_level": "x", "configuration": 1}, status=400)
    assert set(res.json) == {"name", "access_level", "configuration"}


def test_create_slug_length_boundary(signed_in, dbsession):
    res = signed_in.post_json(ROOMS, {"name": "a" * 100}, status=201)
    assert len(res.json["slug"]) == 100
    before = db_state(dbsession)
    assert_error(signed_in.post_json(ROOMS, {"name": "b" * 101}, status=400), 400, "name")
    assert db_state(dbsession) == before


def test_create_accepts_a_500_character_name_with_a_short_slug(signed_in):
    name = "Room " + "!" * 495
    res = signed_in.post_json(ROOMS, {"name": name}, status=201)
    assert res.json["name"] == name and res.json["slug"] == "room"


@pytest.mark.parametrize(("body", "content_type", "message"), BAD_BODIES)
def test_create_refuses_a_body_that_is_not_a_json_object(
    signed_in, dbsession, body, content_type, message
):
    before = db_state(dbsession)
    res = signed_in.post(ROOMS, body, content_type=content_type, status=400)
    assert_bad_body(res, message)
    assert db_state(dbsession) == before


def test_create_without_csrf_token_writes_nothing(signed_in, dbsession):
    before = db_state(dbsession)
    res = signed_in.post_json(
        ROOMS, {"name": "Sneaky"}, headers={"X-CSRF-Token": "forged"}, status=403
    )
    assert assert_error(res, 403)["detail"] == "CSRF Failed: CSRF token missing or incorrect."
    assert db_state(dbsession) == before


def test_anonymous_create_writes_nothing(testapp, cast, dbsession):
    before = db_state(dbsession)
    assert_error(testapp.post_json(ROOMS, {"name": "Anon"}, status=401), 401)
    assert db_state(dbsession) == before


# -- retrieve ------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["team-room", "Team%20Room", "TEAM-ROOM", "team-room/", "{id}", "{hex}", "{upper}"],
)
def test_retrieve_by_id_or_slug(testapp, cast, key):
    room_id = cast.room.id
    key = key.format(id=room_id, hex=room_id.hex, upper=str(room_id).upper())
    res = testapp.get(f"{ROOMS}{key}", status=200)
    assert res.json["id"] == str(room_id)


@pytest.mark.parametrize("key", ["nowhere", UUID, "!!!", "rooms", "0"])
@pytest.mark.parametrize("method", ["get", "put_json", "patch_json", "delete"])
def test_unknown_room_is_404(signed_in, cast, dbsession, key, method):
    before = db_state(dbsession)
    call = getattr(signed_in, method)
    url = f"{ROOMS}{key}/"
    res = call(url, {"name": "X"}, status=404) if method.endswith("json") else call(url, status=404)
    assert_error(res, 404)
    assert db_state(dbsession) == before


# -- update ------------------------------------------------------------------


def test_rename_changes_the_slug(signed_in, cast, dbsession):
    res = signed_in.patch_json(f"{ROOMS}team-room/", {"name": "Crew Room"}, status=200)
    assert res.json["slug"] == "crew-room"
    signed_in.get(f"{ROOMS}team-room/", status=404)
    assert signed_in.get(f"{ROOMS}crew-room/").json["id"] == str(cast.room.id)


def test_rename_to_its_own_slug_is_allowed(signed_in, cast):
    res = signed_in.put_json(f"{ROOMS}team-room/", {"name": "TEAM ROOM"}, status=200)
    assert res.json["name"] == "TEAM ROOM" and res.json["slug"] == "team-room"


def test_update_ignores_read_only_fields(signed_in, cast, dbsession):
    body = {"name": "Team Room", "slug": "other", "pin_code": "999999", "id": UUID}
    res = signed_in.put_json(f"{ROOMS}team-room/", body, status=200)
    assert res.json["slug"] == "team-room" and res.json["id"] == str(cast.room.id)
    dbsession.expire_all()
    assert dbsession.get(Room, cast.room.id).pin_code is None


def test_patch_changes_only_what_is_given(signed_in, cast, dbsession):
    signed_in.patch_json(
        f"{ROOMS}team-room/", {"configuration": {"everyone_can_mute": False}}, status=200
    )
    res = signed_in.patch_json(f"{ROOMS}team-room/", {}, status=200)
    assert res.json["name"] == "Team Room"
    assert res.json["access_level"] == "public"
    assert res.json["configuration"] == {"everyone_can_mute": False}


BAD_UPDATE_BODIES = [
    pytest.param("put_json", {}, "name", id="put-missing-name"),
    pytest.param("put_json", {"access_level": "trusted"}, "name", id="put-only-level"),
    *[
        pytest.param(method, p.values[0], p.values[1], id=f"{method[:-5]}-{p.id}")
        for method in ("put_json", "patch_json")
        for p in BAD_CREATE_BODIES
        if p.values[0].get("name") is not None and not p.id.startswith("duplicate-slug")
    ],
    pytest.param("patch_json", {"name": None}, "name", id="patch-null-name"),
    pytest.param("patch_json", {"name": "Other Room"}, "slug", id="patch-other-rooms-slug"),
    pytest.param("put_json", {"name": "other-room"}, "slug", id="put-other-rooms-slug"),
]


@pytest.mark.parametrize(("method", "body", "field"), BAD_UPDATE_BODIES)
def test_update_refuses_bad_input(signed_in, cast, dbsession, method, body, field):
    make_room(dbsession, "Other Room", cast.owner)
    before = db_state(dbsession)
    res = getattr(signed_in, method)(f"{ROOMS}team-room/", body, status=400)
    assert_error(res, 400, field)
    assert db_state(dbsession) == before


@pytest.mark.parametrize(("body", "content_type", "message"), BAD_BODIES)
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_refuses_a_body_that_is_not_a_json_object(
    signed_in, cast, dbsession, method, body, content_type, message
):
    before = db_state(dbsession)
    res = signed_in.request(
        f"{ROOMS}team-room/",
        method=method,
        body=body,
        content_type=content_type,
        expect_errors=True,
    )
    assert_bad_body(res, message)
    assert db_state(dbsession) == before


# -- delete ------------------------------------------------------------------


def test_delete_removes_the_room_and_its_accesses(signed_in, cast, dbsession):
    room_id = cast.room.id
    other = make_room(dbsession, "Other Room", cast.owner)
    signed_in.delete(f"{ROOMS}{room_id}/", status=204)
    dbsession.expire_all()
    assert dbsession.get(Room, room_id) is None
    assert dbsession.scalars(select(ResourceAccess.resource_id)).all() == [other.id]


# -- methods -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "", "GET, POST"),
        ("PATCH", "", "GET, POST"),
        ("DELETE", "", "GET, POST"),
        ("POST", "team-room/", "DELETE, GET, PATCH, PUT"),
    ],
)
def test_other_methods_are_405(signed_in, cast, dbsession, method, path, allow):
    before = db_state(dbsession)
    res = signed_in.request(
        f"{ROOMS}{path}",
        method=method,
        body=json.dumps({"name": "x"}).encode(),
        content_type="application/json",
        expect_errors=True,
    )
    assert_error(res, 405)
    assert res.headers["Allow"] == allow
    assert db_state(dbsession) == before


# -- list and pagination ---------------------------------------------------------


@pytest.fixture
def many_rooms(dbsession, cast):
    """25 more rooms of the owner (26 with the cast's), and one of somebody else."""
    for number in range(25):
        make_room(dbsession, f"Room {number:02d}", cast.owner)
    make_room(dbsession, "Not Mine", cast.stranger)
    return 26


def test_list_pages(signed_in, many_rooms):
    first = signed_in.get(ROOMS, status=200).json
    assert first["count"] == many_rooms
    assert len(first["results"]) == 20
    assert first["previous"] is None
    assert first["next"] == f"http://localhost{ROOMS}?page=2"
    second = signed_in.get(first["next"], status=200).json
    assert [r["slug"] for r in second["results"]] == [
        "room-20",
        "room-21",
        "room-22",
        "room-23",
        "room-24",
        "team-room",
    ]
    assert second["next"] is None
    assert second["previous"] == f"http://localhost{ROOMS}"
    names = [r["name"] for r in first["results"] + second["results"]]
    assert names == sorted(names)
    assert "not-mine" not in [r["slug"] for r in first["results"] + second["results"]]


def test_list_page_size(signed_in, many_rooms):
    res = signed_in.get(ROOMS, {"page_size": 10, "page": 3}, status=200).json
    assert [r["slug"] for r in res["results"]] == [
        "room-20",
        "room-21",
        "room-22",
        "room-23",
        "room-24",
        "team-room",
    ]
    assert res["previous"] == f"http://localhost{ROOMS}?page=2&page_size=10"
    assert res["next"] is None
    res = signed_in.get(ROOMS, {"page_size": 10, "page": 2, "q": "x"}, status=200).json
    assert res["previous"] == f"http://localhost{ROOMS}?page_size=10&q=x"
    assert res["next"] == f"http://localhost{ROOMS}?page=3&page_size=10&q=x"
    res = signed_in.get(ROOMS, {"page_size": 100}, status=200).json
    assert len(res["results"]) == many_rooms and res["next"] is None


def test_list_without_rooms_is_one_empty_page(testapp, dbsession):
    testapp.login_as(make_user(dbsession, "lonely"))
    expected = {"count": 0, "next": None, "previous": None, "results": []}
    assert testapp.get(ROOMS, status=200).json == expected
    assert testapp.get(ROOMS, {"page": 1, "page_size": 1}, status=200).json == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "abc"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page": ""}, "page"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": -5}, "page_size"),
        ({"page_size": 101}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"page_size": 10**30}, "page_size"),
    ],
)
@pytest.mark.parametrize("actor", ["anonymous", "owner"])
def test_list_refuses_bad_paging(testapp, cast, actor, params, field):
    testapp.login_as(cast[actor])
    assert_error(testapp.get(ROOMS, params, status=400), 400, field)


@pytest.mark.parametrize(
    ("params", "actor"),
    [
        ({"page": 3}, "owner"),
        ({"page": 2, "page_size": 26}, "owner"),
        ({"page": 10**6}, "owner"),
        ({"page": 10**30}, "owner"),
        ({"page": 2}, "anonymous"),
        ({"page": 2}, "stranger"),
    ],
)
def test_list_page_past_the_last_is_404(testapp, cast, many_rooms, params, actor):
    testapp.login_as(cast[actor])
    res = testapp.get(ROOMS, params, status=404)
    assert assert_error(res, 404)["detail"] == "Invalid page."

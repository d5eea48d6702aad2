"""Actor matrices for the rooms endpoints of the JSON API (reference §2.2).

The operator holds no role on the cast's room: on the JSON API it is a stranger.
"""

import base64
import json

import pytest
from sqlalchemy import func, select

from meet_web.models import AccessLevel, ResourceAccess, Room
from tests.conftest import ACTORS
from tests.permissions.matrix import JOINS_DIRECTLY, by

ROOMS = "/api/v1.0/rooms/"


def room_url(room, key: str) -> str:
    return f"{ROOMS}{room.slug if key == 'slug' else room.id}/"


LIST = by(anonymous=200, stranger=200, member=200, administrator=200, owner=200, operator=200)
CREATE = by(anonymous=401, stranger=201, member=201, administrator=201, owner=201, operator=201)
RETRIEVE = by(anonymous=200, stranger=200, member=200, administrator=200, owner=200, operator=200)
UPDATE = by(anonymous=401, stranger=403, member=403, administrator=200, owner=200, operator=403)
DELETE = by(anonymous=401, stranger=403, member=403, administrator=403, owner=204, operator=403)


@pytest.mark.parametrize("actor", ACTORS)
def test_list(testapp, cast, actor):
    testapp.login_as(cast[actor])
    res = testapp.get(ROOMS, status=LIST[actor])
    slugs = [room["slug"] for room in res.json["results"]]
    has_role = actor in ("member", "administrator", "owner")
    assert slugs == (["team-room"] if has_role else [])
    assert res.json["count"] == len(slugs)


@pytest.mark.parametrize("actor", ACTORS)
def test_create(testapp, cast, dbsession, actor):
    testapp.login_as(cast[actor])
    res = testapp.post_json(ROOMS, {"name": "Fresh Room"}, status=CREATE[actor])
    dbsession.expire_all()
    room = dbsession.scalars(select(Room).where(Room.slug == "fresh-room")).one_or_none()
    if CREATE[actor] == 201:
        assert res.json["slug"] == "fresh-room"
        assert [(a.user_id, a.role) for a in room.accesses] == [(cast[actor].id, "owner")]
    else:
        assert room is None


@pytest.mark.parametrize("key", ["slug", "id"])
@pytest.mark.parametrize("actor", ACTORS)
def test_retrieve(testapp, cast, actor, key):
    testapp.login_as(cast[actor])
    res = testapp.get(room_url(cast.room, key), status=RETRIEVE[actor])
    assert res.json["id"] == str(cast.room.id)


@pytest.mark.parametrize("method", ["put_json", "patch_json"])
@pytest.mark.parametrize("key", ["slug", "id"])
@pytest.mark.parametrize("actor", ACTORS)
def test_update(testapp, cast, dbsession, actor, key, method):
    testapp.login_as(cast[actor])
    url = room_url(cast.room, key)
    body = {"name": "Team Room", "access_level": "trusted"}
    getattr(testapp, method)(url, body, status=UPDATE[actor])
    dbsession.expire_all()
    expected = "trusted" if UPDATE[actor] == 200 else "public"
    assert dbsession.get(Room, cast.room.id).access_level == expected


@pytest.mark.parametrize("key", ["slug", "id"])
@pytest.mark.parametrize("actor", ACTORS)
def test_delete(testapp, cast, dbsession, actor, key):
    room_id = cast.room.id
    testapp.login_as(cast[actor])
    testapp.delete(room_url(cast.room, key), status=DELETE[actor])
    dbsession.expire_all()
    room = dbsession.get(Room, room_id)
    accesses = dbsession.scalar(
        select(func.count())
        .select_from(ResourceAccess)
        .where(ResourceAccess.resource_id == room_id)
    )
    if DELETE[actor] == 204:
        assert room is None and accesses == 0
    else:
        assert room is not None and accesses == 3


# Who sees what in GET /rooms/{id}/: `accesses` for administrators and owners only;
# `pin_code` for whoever may join without the lobby (public: everyone; trusted: signed-in
# people; restricted: anyone with a role).
SEES_ACCESSES = by(
    anonymous=False, stranger=False, member=False, administrator=True, owner=True, operator=False
)
SEES_PIN = JOINS_DIRECTLY


@pytest.mark.parametrize("level", list(AccessLevel))
@pytest.mark.parametrize("actor", ACTORS)
def test_retrieve_fields_by_access_level(testapp, cast, dbsession, actor, level):
    cast.room.access_level = level
    cast.room.pin_code = "0123456789"
    dbsession.flush()
    testapp.login_as(cast[actor])
    data = testapp.get(room_url(cast.room, "slug"), status=200).json
    assert {"id", "name", "slug", "configuration", "access_level"} <= set(data)
    assert data["access_level"] == level
    assert data["is_administrable"] is SEES_ACCESSES[actor]
    if SEES_PIN[level][actor]:
        assert data["pin_code"] == "0123456789"
    else:
        assert "pin_code" not in data
    if SEES_ACCESSES[actor]:
        assert sorted(a["role"] for a in data["accesses"]) == [
            "administrator",
            "member",
            "owner",
        ]
        member = next(a for a in data["accesses"] if a["role"] == "member")
        assert member["user"]["id"] == str(cast.member.id)
        assert member["user"]["email"] == "member@example.org"
    else:
        assert "accesses" not in data
    # The LiveKit block goes with the PIN: to those who may join without the lobby.
    assert ("livekit" in data) is SEES_PIN[level][actor]
    if "livekit" in data:
        assert data["livekit"]["room"] == str(cast.room.id)


@pytest.mark.parametrize("actor", ACTORS)
def test_list_shows_fields_as_retrieve(testapp, cast, dbsession, actor):
    """Items of the list follow the same visibility rules as the single room."""
    cast.room.access_level = AccessLevel.RESTRICTED
    cast.room.pin_code = "0123456789"
    dbsession.flush()
    testapp.login_as(cast[actor])
    items = testapp.get(ROOMS).json["results"]
    for item in items:
        assert _timeless(item) == _timeless(testapp.get(room_url(cast.room, "id")).json)


def _timeless(room: dict) -> dict:
    """`room` with its LiveKit token as the token's claims but its times: two requests
    a second apart issue tokens that differ in those alone."""
    livekit = room.get("livekit")
    if livekit is None:
        return room
    payload = livekit["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    for name in ("nbf", "exp", "iat"):
        claims.pop(name, None)
    return {**room, "livekit": {**livekit, "token": claims}}

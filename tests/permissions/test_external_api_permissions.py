"""Actor matrices for the external API (reference §2.7) and the add-ons' exchange (§2.5).

The external API knows no sessions, only delegated tokens, so its actors are:
- `no_token` (the matrices' anonymous), `bad_token` (signed with another key) and
  `expired_token`: 401;
- `no_scope`: a token for the room's owner that lacks the endpoint's scope: 403;
- `stranger`, `member`, `administrator`, `owner`: a token with every scope, acting for
  that user of the cast's room;
- `addon`: an add-on's token for the owner (scope rooms:create only);
- `operator`: an operator's session and no token: 401 (cookies count for nothing here).
"""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from sqlalchemy import func, select

from meet_web.models import ResourceAccess, Room
from tests.conftest import (
    ACTORS,
    ADDONS_TOKEN_KEY,
    ALL_SCOPES,
    APPLICATION_JWT_KEY,
    CLIENT_SECRET,
    bearer,
    make_application,
)
from tests.permissions.matrix import by

API = "/external-api/v1.0"
ROOMS = f"{API}/rooms/"
EXTERNAL_ACTORS = (
    "no_token",
    "bad_token",
    "expired_token",
    "no_scope",
    "stranger",
    "member",
    "administrator",
    "owner",
    "addon",
    "operator",
)


def ext(**statuses) -> dict:
    """One expectation per actor of the external API; naming every actor is required."""
    assert set(statuses) == set(EXTERNAL_ACTORS), "a matrix names every actor"
    return statuses


REFUSED = {"no_token": 401, "bad_token": 401, "expired_token": 401, "operator": 401}
LIST = ext(
    **REFUSED, no_scope=403, stranger=200, member=200, administrator=200, owner=200, addon=403
)
CREATE = ext(
    **REFUSED, no_scope=403, stranger=201, member=201, administrator=201, owner=201, addon=201
)
RETRIEVE = ext(
    **REFUSED, no_scope=403, stranger=403, member=200, administrator=200, owner=200, addon=403
)
UPDATE = ext(
    **REFUSED, no_scope=403, stranger=403, member=403, administrator=200, owner=200, addon=403
)
DELETE = ext(
    **REFUSED, no_scope=403, stranger=403, member=403, administrator=403, owner=204, addon=403
)
SCOPE_OF = {
    "list": "rooms:list",
    "create": "rooms:create",
    "retrieve": "rooms:retrieve",
    "update": "rooms:update",
    "delete": "rooms:delete",
}


def mint(claims: dict, key: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": "lasuite-meet", "iat": now, "exp": now + 600, **claims}, key)


@pytest.fixture
def client(external_api):
    return external_api()


@pytest.fixture
def calendar(dbsession):
    return make_application(dbsession)


@pytest.fixture
def act(client, cast, dbsession, calendar):
    """Sets the client up as `actor` for an endpoint needing `scope`; returns its headers."""

    def app_token(user, scopes, **claims):
        return mint(
            {
                "user_id": str(user.id),
                "client_id": calendar.client_id,
                "delegated": True,
                "scope": " ".join(scopes),
                **claims,
            },
            APPLICATION_JWT_KEY,
        )

    def as_actor(actor: str, scope: str) -> dict:
        client.reset()
        if actor == "no_token":
            return {}
        if actor == "operator":
            client.login_as(cast.operator)
            return {}
        if actor == "bad_token":
            return bearer(
                mint({"user_id": str(cast.owner.id)}, "another-key-0123456789-0123456789-abc")
            )
        if actor == "expired_token":
            return bearer(app_token(cast.owner, ALL_SCOPES, exp=int(time.time()) - 5))
        if actor == "no_scope":
            return bearer(app_token(cast.owner, [s for s in ALL_SCOPES if s != scope]))
        if actor == "addon":
            claims = {"aud": "addons", "user_id": str(cast.owner.id), "scope": "rooms:create"}
            return bearer(mint(claims, ADDONS_TOKEN_KEY))
        return bearer(app_token(cast[actor], ALL_SCOPES))

    return as_actor


def rooms_count(dbsession) -> int:
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(Room))


@pytest.mark.parametrize("actor", EXTERNAL_ACTORS)
def test_list(client, act, cast, actor):
    res = client.get(ROOMS, headers=act(actor, SCOPE_OF["list"]), status=LIST[actor])
    if LIST[actor] == 200:
        slugs = [room["slug"] for room in res.json["results"]]
        assert slugs == ([] if actor == "stranger" else ["team-room"])


@pytest.mark.parametrize("actor", EXTERNAL_ACTORS)
def test_create(client, act, cast, dbsession, actor):
    before = rooms_count(dbsession)
    res = client.post_json(ROOMS, {}, headers=act(actor, SCOPE_OF["create"]), status=CREATE[actor])
    if CREATE[actor] == 201:
        room = dbsession.get(Room, uuid.UUID(res.json["id"]))
        user = cast.owner if actor == "addon" else cast[actor]
        assert [(a.user_id, a.role) for a in room.accesses] == [(user.id, "owner")]
    else:
        assert rooms_count(dbsession) == before


@pytest.mark.parametrize("key", ["id", "slug"])
@pytest.mark.parametrize("actor", EXTERNAL_ACTORS)
def test_retrieve(client, act, cast, actor, key):
    ref = cast.room.slug if key == "slug" else cast.room.id
    res = client.get(
        f"{ROOMS}{ref}/", headers=act(actor, SCOPE_OF["retrieve"]), status=RETRIEVE[actor]
    )
    if RETRIEVE[actor] == 200:
        assert res.json["id"] == str(cast.room.id)


@pytest.mark.parametrize("method", ["put_json", "patch_json"])
@pytest.mark.parametrize("actor", EXTERNAL_ACTORS)
def test_update(client, act, cast, dbsession, actor, method):
    getattr(client, method)(
        f"{ROOMS}{cast.room.id}/",
        {"access_level": "restricted"},
        headers=act(actor, SCOPE_OF["update"]),
        status=UPDATE[actor],
    )
    dbsession.expire_all()
    expected = "restricted" if UPDATE[actor] == 200 else "public"
    assert dbsession.get(Room, cast.room.id).access_level == expected


@pytest.mark.parametrize("actor", EXTERNAL_ACTORS)
def test_delete(client, act, cast, dbsession, actor):
    room_id = cast.room.id
    client.delete(
        f"{ROOMS}{room_id}/", headers=act(actor, SCOPE_OF["delete"]), status=DELETE[actor]
    )
    dbsession.expire_all()
    assert (dbsession.get(Room, room_id) is None) == (DELETE[actor] == 204)
    if DELETE[actor] != 204:
        accesses = select(func.count()).where(ResourceAccess.resource_id == room_id)
        assert dbsession.scalar(accesses) == 3


# A room that does not exist: the scope decides between 403 and 404, never the role.
MISSING = ext(
    **REFUSED, no_scope=403, stranger=404, member=404, administrator=404, owner=404, addon=403
)


@pytest.mark.parametrize("actor", EXTERNAL_ACTORS)
def test_missing_room(client, act, actor):
    url = f"{ROOMS}no-such-room/"
    client.get(url, headers=act(actor, SCOPE_OF["retrieve"]), status=MISSING[actor])
    client.patch_json(url, {}, headers=act(actor, SCOPE_OF["update"]), status=MISSING[actor])
    client.delete(url, headers=act(actor, SCOPE_OF["delete"]), status=MISSING[actor])


# -- the token endpoint and the document: credentials in the body, or nothing ------------

EVERYONE = by(anonymous=200, stranger=200, member=200, administrator=200, owner=200, operator=200)


@pytest.mark.parametrize("actor", ACTORS)
def test_token_endpoint(client, cast, calendar, actor):
    """Whoever calls, signed in or not, the client credentials alone decide."""
    client.login_as(cast[actor])
    body = {
        "client_id": calendar.client_id,
        "client_secret": CLIENT_SECRET,
        "grant_type": "client_credentials",
        "scope": cast.member.email,
    }
    client.post_json(f"{API}/application/token/", body, status=EVERYONE[actor])


@pytest.mark.parametrize("actor", ACTORS)
def test_document(client, cast, actor):
    client.login_as(cast[actor])
    client.get(f"{API}/openapi.json", status=EVERYONE[actor])


# -- the add-ons' exchange (on the JSON API: the site's six actors) ---------------------

SESSIONS = "/api/v1.0/addons/sessions"
INIT = by(anonymous=201, stranger=201, member=201, administrator=201, owner=201, operator=201)
POLL = by(anonymous=202, stranger=202, member=202, administrator=202, owner=202, operator=202)
EXCHANGE = by(anonymous=401, stranger=200, member=200, administrator=200, owner=200, operator=200)


@pytest.mark.parametrize("actor", ACTORS)
def test_addons_init_and_poll(client, cast, actor):
    client.login_as(cast[actor])
    started = client.post(f"{SESSIONS}/init/", status=INIT[actor]).json
    headers = {"X-CSRFToken": started["csrf_token"]}
    client.post(f"{SESSIONS}/poll/", headers=headers, status=POLL[actor])


@pytest.mark.parametrize("actor", ACTORS)
def test_addons_exchange(external_api, client, cast, actor):
    add_in = external_api()
    started = add_in.post(f"{SESSIONS}/init/", status=201).json
    client.login_as(cast[actor])
    client.post_json(
        f"{SESSIONS}/exchange/",
        {"transit_token": started["transit_token"]},
        status=EXCHANGE[actor],
    )
    headers = {"X-CSRFToken": started["csrf_token"]}
    add_in.post(f"{SESSIONS}/poll/", headers=headers, status=200 if actor != "anonymous" else 202)

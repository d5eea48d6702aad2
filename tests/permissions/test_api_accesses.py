"""Actor matrices for the resource-accesses endpoints of the JSON API (reference §2.3).

Owner rules: only owners grant `owner`; an owner's access is changed or deleted only by
that owner; a room never loses its last owner. The operator holds no role on the cast's
room: on the JSON API it is a stranger.
"""

import pytest
from sqlalchemy import select

from meet_web.models import ResourceAccess, Role
from tests.conftest import ACTORS, make_user
from tests.permissions.matrix import by

ACCESSES = "/api/v1.0/resource-accesses/"


def access_of(room, user) -> ResourceAccess:
    return next(a for a in room.accesses if a.user_id == user.id)


def roles(dbsession, room) -> dict:
    """user id -> role of every access of the room, as the database has them now."""
    dbsession.expire_all()
    rows = dbsession.execute(
        select(ResourceAccess.user_id, ResourceAccess.role).where(
            ResourceAccess.resource_id == room.id
        )
    )
    return {user_id: role for user_id, role in rows}


@pytest.fixture
def newcomer(dbsession):
    return make_user(dbsession, "newcomer")


@pytest.fixture
def co_owner(dbsession, cast):
    """A second owner of the cast's room."""
    user = make_user(dbsession, "coowner")
    cast.room.accesses.append(ResourceAccess(user=user, role=Role.OWNER))
    dbsession.flush()
    return user


LIST = by(anonymous=401, stranger=200, member=200, administrator=200, owner=200, operator=200)
SEES_ROOM_ACCESSES = by(
    anonymous=False, stranger=False, member=False, administrator=True, owner=True, operator=False
)


@pytest.mark.parametrize("actor", ACTORS)
def test_list(testapp, cast, actor):
    testapp.login_as(cast[actor])
    res = testapp.get(ACCESSES, status=LIST[actor])
    if LIST[actor] != 200:
        return
    ids = sorted(a["id"] for a in res.json["results"])
    expected = sorted(str(a.id) for a in cast.room.accesses) if SEES_ROOM_ACCESSES[actor] else []
    assert ids == expected
    assert res.json["count"] == len(expected)


RETRIEVE = by(anonymous=401, stranger=403, member=403, administrator=200, owner=200, operator=403)


@pytest.mark.parametrize("target", ["member", "administrator", "owner"])
@pytest.mark.parametrize("actor", ACTORS)
def test_retrieve(testapp, cast, actor, target):
    access = access_of(cast.room, cast[target])
    testapp.login_as(cast[actor])
    res = testapp.get(f"{ACCESSES}{access.id}/", status=RETRIEVE[actor])
    if RETRIEVE[actor] == 200:
        assert res.json == {
            "id": str(access.id),
            "user": str(cast[target].id),
            "resource": str(cast.room.id),
            "role": target,
        }


CREATE = {
    "member": by(
        anonymous=401, stranger=403, member=403, administrator=201, owner=201, operator=403
    ),
    "administrator": by(
        anonymous=401, stranger=403, member=403, administrator=201, owner=201, operator=403
    ),
    # only owners grant owner
    "owner": by(
        anonymous=401, stranger=403, member=403, administrator=403, owner=201, operator=403
    ),
}


@pytest.mark.parametrize("role", ["member", "administrator", "owner"])
@pytest.mark.parametrize("actor", ACTORS)
def test_create(testapp, cast, dbsession, newcomer, actor, role):
    before = roles(dbsession, cast.room)
    testapp.login_as(cast[actor])
    body = {"user": str(newcomer.id), "resource": str(cast.room.id), "role": role}
    res = testapp.post_json(ACCESSES, body, status=CREATE[role][actor])
    after = roles(dbsession, cast.room)
    if CREATE[role][actor] == 201:
        assert after == {**before, newcomer.id: role}
        assert res.json["role"] == role and res.json["user"] == str(newcomer.id)
    else:
        assert after == before


# Changing the role of the member's access (to administrator) and the owner's (to
# administrator). An owner's access is changed only by that owner, and never when it
# would leave the room without an owner.
UPDATE = {
    "member": by(
        anonymous=401, stranger=403, member=403, administrator=200, owner=200, operator=403
    ),
    "owner": by(
        anonymous=401, stranger=403, member=403, administrator=403, owner=403, operator=403
    ),
}


@pytest.mark.parametrize("method", ["put_json", "patch_json"])
@pytest.mark.parametrize("target", ["member", "owner"])
@pytest.mark.parametrize("actor", ACTORS)
def test_update(testapp, cast, dbsession, actor, target, method):
    access = access_of(cast.room, cast[target])
    before = roles(dbsession, cast.room)
    testapp.login_as(cast[actor])
    url = f"{ACCESSES}{access.id}/"
    getattr(testapp, method)(url, {"role": "administrator"}, status=UPDATE[target][actor])
    after = roles(dbsession, cast.room)
    if UPDATE[target][actor] == 200:
        assert after == {**before, cast[target].id: "administrator"}
    else:
        assert after == before


# With a second owner: the owner may step down, but still may not touch the co-owner.
UPDATE_WITH_CO_OWNER = {
    "self": by(anonymous=401, stranger=403, member=403, administrator=403, owner=200, operator=403),
    "co_owner": by(
        anonymous=401, stranger=403, member=403, administrator=403, owner=403, operator=403
    ),
}


@pytest.mark.parametrize("target", ["self", "co_owner"])
@pytest.mark.parametrize("actor", ACTORS)
def test_update_owner_with_co_owner(testapp, cast, dbsession, co_owner, actor, target):
    target_user = cast.owner if target == "self" else co_owner
    access = access_of(cast.room, target_user)
    before = roles(dbsession, cast.room)
    testapp.login_as(cast[actor])
    testapp.patch_json(
        f"{ACCESSES}{access.id}/",
        {"role": "member"},
        status=UPDATE_WITH_CO_OWNER[target][actor],
    )
    after = roles(dbsession, cast.room)
    if UPDATE_WITH_CO_OWNER[target][actor] == 200:
        assert after == {**before, target_user.id: "member"}
    else:
        assert after == before


# Promoting the member to owner: only owners grant owner.
PROMOTE_TO_OWNER = by(
    anonymous=401, stranger=403, member=403, administrator=403, owner=200, operator=403
)


@pytest.mark.parametrize("actor", ACTORS)
def test_promote_to_owner(testapp, cast, dbsession, actor):
    access = access_of(cast.room, cast.member)
    before = roles(dbsession, cast.room)
    testapp.login_as(cast[actor])
    testapp.patch_json(f"{ACCESSES}{access.id}/", {"role": "owner"}, status=PROMOTE_TO_OWNER[actor])
    after = roles(dbsession, cast.room)
    if PROMOTE_TO_OWNER[actor] == 200:
        assert after == {**before, cast.member.id: "owner"}
    else:
        assert after == before


DELETE = {
    "member": by(
        anonymous=401, stranger=403, member=403, administrator=204, owner=204, operator=403
    ),
    "administrator": by(
        anonymous=401, stranger=403, member=403, administrator=204, owner=204, operator=403
    ),
    # the last owner: never
    "owner": by(
        anonymous=401, stranger=403, member=403, administrator=403, owner=403, operator=403
    ),
}


@pytest.mark.parametrize("target", ["member", "administrator", "owner"])
@pytest.mark.parametrize("actor", ACTORS)
def test_delete(testapp, cast, dbsession, actor, target):
    access = access_of(cast.room, cast[target])
    before = roles(dbsession, cast.room)
    testapp.login_as(cast[actor])
    testapp.delete(f"{ACCESSES}{access.id}/", status=DELETE[target][actor])
    after = roles(dbsession, cast.room)
    if DELETE[target][actor] == 204:
        assert after == {k: v for k, v in before.items() if k != cast[target].id}
    else:
        assert after == before


DELETE_WITH_CO_OWNER = {
    "self": by(anonymous=401, stranger=403, member=403, administrator=403, owner=204, operator=403),
    "co_owner": by(
        anonymous=401, stranger=403, member=403, administrator=403, owner=403, operator=403
    ),
}


@pytest.mark.parametrize("target", ["self", "co_owner"])
@pytest.mark.parametrize("actor", ACTORS)
def test_delete_owner_with_co_owner(testapp, cast, dbsession, co_owner, actor, target):
    target_user = cast.owner if target == "self" else co_owner
    access = access_of(cast.room, target_user)
    before = roles(dbsession, cast.room)
    testapp.login_as(cast[actor])
    testapp.delete(f"{ACCESSES}{access.id}/", status=DELETE_WITH_CO_OWNER[target][actor])
    after = roles(dbsession, cast.room)
    if DELETE_WITH_CO_OWNER[target][actor] == 204:
        assert after == {k: v for k, v in before.items() if k != target_user.id}
    else:
        assert after == before

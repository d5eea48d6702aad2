"""Concurrent requests on committed state, from real threads:

- on SQLite (the `make run` default), concurrent creations of one room name give one
  201 and 400s, never a 500 "database is locked";
- on PostgreSQL, two owners stepping down at the same moment leave an owner.

Each test builds an app of its own with `testing.shared_connection` off, so requests
commit for real; its rows live in a database of its own (SQLite) or are deleted after.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, delete, func, select
from sqlalchemy.orm import Session

from meet_web import main
from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from tests.conftest import MeetTestApp, migrate

pytestmark = pytest.mark.multiprocess

POSTGRESQL = (os.environ.get("MEET_TEST_DATABASE_URL") or "").startswith("postgresql")


def committed_app(settings: dict, **overrides):
    return main({}, **{**settings, "testing.shared_connection": "false", **overrides})


def signed_in(app, oidc_provider, login: str) -> dict:
    """The cookies of a real sign-in as `login` (the user is created if new)."""
    client = MeetTestApp(app, extra_environ={"HTTP_HOST": "localhost"}, oidc_provider=oidc_provider)
    client.login(login)
    return dict(client.cookies)


def browser(app, oidc_provider, cookies: dict) -> MeetTestApp:
    client = MeetTestApp(app, extra_environ={"HTTP_HOST": "localhost"}, oidc_provider=oidc_provider)
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


def at_once(*calls: Callable[[], object]) -> list:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # reported in the results, for the test to show
            results[index] = exc

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def outcomes(results: list) -> list:
    """The statuses, sorted; an exception that escaped the app stays itself."""
    return sorted((getattr(r, "status_int", r) for r in results), key=str)


# -- SQLite: concurrent creations -------------------------------------------------------


@pytest.fixture
def sqlite_app(settings, tmp_path, app):
    url = f"sqlite:///{tmp_path / 'races.sqlite'}"
    migrate(url)
    racing = committed_app(settings, **{"sqlalchemy.url": url})
    yield racing
    racing.registry["dbengine"].dispose()


def test_concurrent_creations_on_sqlite(sqlite_app, oidc_provider):
    cookies = signed_in(sqlite_app, oidc_provider, "racer")
    for round_ in range(3):
        name = f"Race Room {round_}"
        clients = [browser(sqlite_app, oidc_provider, cookies) for _ in range(8)]
        results = at_once(
            *[
                lambda c=c, name=name: c.post_json(
                    "/api/v1.0/rooms/", {"name": name}, expect_errors=True
                )
                for c in clients
            ]
        )
        statuses = outcomes(results)
        assert statuses == [201] + [400] * 7, [getattr(r, "text", r) for r in results]
        for res in results:
            if res.status_int == 400:
                assert "Room with this Slug already exists." in res.text
    with Session(sqlite_app.registry["dbengine"]) as session:
        assert session.scalar(select(func.count()).select_from(Room)) == 3


# -- PostgreSQL: the last owner ---------------------------------------------------------


@pytest.fixture
def pg_app(settings, app):
    if not POSTGRESQL:
        pytest.skip("needs MEET_TEST_DATABASE_URL on PostgreSQL: SQLite serializes writes")
    racing = committed_app(settings)
    yield racing
    racing.registry["dbengine"].dispose()


@pytest.fixture
def two_owners(pg_app, settings, oidc_provider):
    """Two signed-in users, committed; `room()` commits a room they both own."""
    engine = create_engine(settings["sqlalchemy.url"])
    tag = uuid.uuid4().hex[:8]
    logins = [f"race-owner-{tag}-{n}" for n in (1, 2)]
    cookies = [signed_in(pg_app, oidc_provider, login) for login in logins]
    with Session(engine) as session:
        users = [session.scalars(select(User).where(User.sub == lg)).one().id for lg in logins]
    rooms: list[uuid.UUID] = []

    def room() -> tuple[uuid.UUID, list[uuid.UUID]]:
        with Session(engine) as session:
            made = Room(
                name=f"Race {tag} {len(rooms)}",
                slug=f"race-{tag}-{len(rooms)}",
                access_level=AccessLevel.RESTRICTED,
            )
            accesses = [ResourceAccess(user_id=u, role=Role.OWNER) for u in users]
            made.accesses.extend(accesses)
            session.add(made)
            session.commit()
            rooms.append(made.id)
            return made.id, [a.id for a in accesses]

    try:
        yield cookies, room, engine
    finally:
        with Session(engine) as session:
            session.execute(delete(ResourceAccess).where(ResourceAccess.resource_id.in_(rooms)))
            session.execute(delete(Room).where(Room.id.in_(rooms)))
            session.execute(delete(User).where(User.id.in_(users)))
            session.commit()
        engine.dispose()


def owners_of(engine, room_id) -> int:
    with Session(engine) as session:
        return session.scalar(
            select(func.count())
            .select_from(ResourceAccess)
            .where(ResourceAccess.resource_id == room_id, ResourceAccess.role == Role.OWNER)
        )


@pytest.mark.parametrize("how", ["demote", "delete", "one of each"])
def test_two_owners_stepping_down_at_once_leave_an_owner(pg_app, oidc_provider, two_owners, how):
    cookies, make_room, engine = two_owners
    for _ in range(8):
        room_id, access_ids = make_room()
        clients = [browser(pg_app, oidc_provider, c) for c in cookies]

        def step_down(client, access_id, demote):
            path = f"/api/v1.0/resource-accesses/{access_id}/"
            if demote:
                return client.patch_json(path, {"role": "member"}, expect_errors=True)
            return client.delete(path, expect_errors=True)

        demotes = {"demote": (True, True), "delete": (False, False), "one of each": (True, False)}
        results = at_once(
            *[
                lambda c=c, a=a, d=d: step_down(c, a, d)
                for c, a, d in zip(clients, access_ids, demotes[how], strict=True)
            ]
        )
        statuses = outcomes(results)
        assert owners_of(engine, room_id) >= 1, statuses
        assert statuses.count(403) == 1, statuses
        assert set(statuses) - {403} <= {200, 204}, statuses
        for res in results:
            if res.status_int == 403:
                assert res.json["detail"] == "A room must keep at least one owner."


# -- the first tokens of a new subject ---------------------------------------------------


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_first_tokens_of_a_subject_at_once_make_one_user(
    settings, tmp_path, app, oidc_provider, database
):
    """Integrations' calls with the provider's tokens of a person never seen here yet:
    one account is made, and every call is answered as that person's."""
    from tests.conftest import EXTERNAL_API_SETTINGS

    if database == "postgresql" and not POSTGRESQL:
        pytest.skip("needs MEET_TEST_DATABASE_URL on PostgreSQL")
    overrides = {
        **EXTERNAL_API_SETTINGS,
        "resource_server.enabled": "true",
        "resource_server.allowed_audiences": "integration",
    }
    if database == "sqlite":
        overrides["sqlalchemy.url"] = f"sqlite:///{tmp_path / 'races.sqlite'}"
        migrate(overrides["sqlalchemy.url"])
    racing = committed_app(settings, **overrides)
    engine = racing.registry["dbengine"]
    subs = []
    try:
        for _ in range(3):
            sub = f"rs-racer-{uuid.uuid4().hex[:8]}"
            subs.append(sub)
            scope = "openid lasuite_meet rooms:list"
            tokens = [oidc_provider.integration_token(sub, scope) for _ in range(4)]
            clients = [
                MeetTestApp(racing, extra_environ={"HTTP_HOST": "localhost"}) for _ in tokens
            ]
            results = at_once(
                *[
                    lambda c=c, t=t: c.get(
                        "/external-api/v1.0/rooms/",
                        headers={"Authorization": f"Bearer {t}"},
                        expect_errors=True,
                    )
                    for c, t in zip(clients, tokens, strict=True)
                ]
            )
            assert outcomes(results) == [200] * 4, [getattr(r, "text", r) for r in results]
            with Session(engine) as session:
                count = select(func.count()).select_from(User).where(User.sub == sub)
                assert session.scalar(count) == 1
    finally:
        with Session(engine) as session:
            session.execute(delete(User).where(User.sub.in_(subs)))
            session.commit()
        engine.dispose()

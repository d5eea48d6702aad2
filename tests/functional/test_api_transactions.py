"""Self-test of the test bed: with `testing.shared_connection`, pyramid_tm still commits
or aborts every request, only against a savepoint of the test's transaction.

A probe app (the real app plus a few views that write a row, then fail in different
ways) proves that a failing request leaves nothing behind, so the "nothing written"
assertions of the API tests mean something.
"""

import pytest
from pyramid.config import Configurator
from pyramid.security import NO_PERMISSION_REQUIRED
from sqlalchemy import func, select, update

from meet_web import main
from meet_web.db import SHARED_CONNECTION_KEY
from meet_web.models import AccessLevel, Room
from meet_web.validation import ValidationError
from tests.conftest import MeetTestApp

PROBE = "/api/probe/"


def add_room(request, name: str) -> Room:
    room = Room(name=name, slug=name, access_level=AccessLevel.PUBLIC, configuration={})
    request.dbsession.add(room)
    request.dbsession.flush()
    return room


def write_then_raise(request):
    add_room(request, "probe-raise")
    raise ValidationError({"name": "The probe always fails."})


def write_in_savepoint_then_raise(request):
    with request.dbsession.begin_nested():
        add_room(request, "probe-savepoint")
    raise ValidationError({"name": "The probe always fails."})


def write_then_return_an_error(request):
    add_room(request, "probe-returned")
    request.response.status = 409  # returned, not raised: the commit veto aborts
    return {"detail": "conflict"}


def write_then_crash(request):
    add_room(request, "probe-crash")
    raise RuntimeError("probe crash")


def write_and_succeed(request):
    return {"id": str(add_room(request, "probe-ok").id)}


def clash_until_last_attempt(request):
    """Writes a row on every attempt; all but the last also hit the unique slug index."""
    add_room(request, f"probe-attempt-{request.environ['retry.attempt']}")
    if request.environ["retry.attempt"] < request.environ["retry.attempts"] - 1:
        add_room(request, "team-room")  # the cast's slug: IntegrityError, retried
    return {"attempt": request.environ["retry.attempt"]}


def write_with_an_orm_statement(request):
    """An ORM-enabled UPDATE: no object is flushed, yet the transaction must commit."""
    request.dbsession.execute(
        update(Room).where(Room.slug == "team-room").values(name="Probe Renamed")
    )
    return {}


def write_then_commit_alone(request):
    """A view may not commit the request's session itself: only pyramid_tm does."""
    add_room(request, "probe-commit")
    request.dbsession.commit()
    return {}


PROBES = {
    "statement": write_with_an_orm_statement,
    "commit": write_then_commit_alone,
    "raise": write_then_raise,
    "savepoint": write_in_savepoint_then_raise,
    "returned": write_then_return_an_error,
    "crash": write_then_crash,
    "ok": write_and_succeed,
    "retry": clash_until_last_attempt,
}


@pytest.fixture(scope="module")
def probe_app(app, settings):
    """The real app, built again, with the probe views added to its registry."""
    router = main({}, **settings)
    config = Configurator(registry=router.registry)
    for action, view in PROBES.items():
        route = f"probe-{action}"
        config.add_route(route, PROBE + action)
        config.add_view(
            view,
            route_name=route,
            request_method="POST",
            renderer="json",
            permission=NO_PERMISSION_REQUIRED,
        )
    config.commit()
    return router


@pytest.fixture
def probe(probe_app, connection):
    return MeetTestApp(
        probe_app, extra_environ={SHARED_CONNECTION_KEY: connection, "HTTP_HOST": "localhost"}
    )


def probe_rooms(dbsession) -> list[str]:
    dbsession.expire_all()
    return list(dbsession.scalars(select(Room.slug).where(Room.slug.like("probe-%"))))


def test_a_successful_request_commits_into_the_test_transaction(probe, dbsession):
    res = probe.post(PROBE + "ok", status=200)
    assert probe_rooms(dbsession) == ["probe-ok"]
    assert (
        str(dbsession.scalars(select(Room.id).where(Room.slug == "probe-ok")).one())
        == (res.json["id"])
    )


@pytest.mark.parametrize(
    ("action", "status"), [("raise", 400), ("savepoint", 400), ("returned", 409)]
)
def test_a_failing_request_leaves_no_row(probe, dbsession, action, status):
    probe.post(PROBE + action, status=status)
    assert probe_rooms(dbsession) == []
    # the test's own transaction is still usable afterwards
    probe.post(PROBE + "ok", status=200)
    assert probe_rooms(dbsession) == ["probe-ok"]


def test_a_crashing_request_leaves_no_row(probe, dbsession, caplog):
    res = probe.post(PROBE + "crash", status=500)
    assert res.json == {"detail": "A server error occurred."}
    assert "probe crash" in caplog.text  # the trace goes to the log, not to the caller
    assert "probe crash" not in res.text
    assert probe_rooms(dbsession) == []
    probe.post(PROBE + "ok", status=200)
    assert probe_rooms(dbsession) == ["probe-ok"]


def test_a_retried_request_keeps_only_the_last_attempt(probe, cast, dbsession):
    res = probe.post(PROBE + "retry", status=200)
    assert res.json == {"attempt": 2}
    assert probe_rooms(dbsession) == ["probe-attempt-2"]


def test_a_real_refused_request_leaves_no_row(testapp, cast, dbsession):
    """The API's own failure path: a refused duplicate creates neither room nor access."""
    testapp.login_as(cast.owner)
    count = dbsession.scalar(select(func.count()).select_from(Room))
    testapp.post_json("/api/v1.0/rooms/", {"name": "Team Room"}, status=400)
    dbsession.expire_all()
    assert dbsession.scalar(select(func.count()).select_from(Room)) == count


def test_an_orm_write_statement_commits(probe, cast, dbsession):
    probe.post(PROBE + "statement", status=200)
    dbsession.expire_all()
    assert dbsession.scalar(select(Room.name).where(Room.slug == "team-room")) == "Probe Renamed"


def test_a_view_committing_its_session_itself_fails_and_leaves_no_row(probe, dbsession, caplog):
    res = probe.post(PROBE + "commit", status=500)
    assert res.json == {"detail": "A server error occurred."}
    assert "Transaction must be committed using the transaction manager" in caplog.text
    assert probe_rooms(dbsession) == []


def test_sessions_outside_requests_join_no_transaction(probe_app):
    """Scripts and worker threads commit their own sessions (dbsession_factory)."""
    session = probe_app.registry["dbsession_factory"]()
    try:
        assert session.scalar(select(func.count()).select_from(Room)) is not None
        session.commit()  # no transaction manager to refuse it
    finally:
        session.close()

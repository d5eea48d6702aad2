"""A dependency down: the cache (Redis) or the database. Every endpoint answers a clear
503 (JSON under the API, a page elsewhere) with Retry-After, and nothing is written.
LiveKit faults are in test_participants.py and test_lobby.py."""

import pytest
from sqlalchemy import func, select

from meet_web.models import AccessLevel, Room
from meet_web.views.faults import SERVICE_DOWN

CLOSED_PORT = 1  # nothing listens there

REDIS_DOWN = {
    "cache.backend": "dogpile.cache.redis",
    "cache.arguments.url": f"redis://127.0.0.1:{CLOSED_PORT}/0",
    "cache.arguments.socket_connect_timeout": "0.5",
}
DATABASE_DOWN = {
    "sqlalchemy.url": f"postgresql+psycopg://postgres@127.0.0.1:{CLOSED_PORT}/test",
    "testing.shared_connection": "false",
}


def room_count(dbsession) -> int:
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(Room))


def assert_unavailable(res) -> None:
    assert res.status_int == 503
    assert res.headers["Retry-After"] == "5"
    if res.content_type == "application/json":
        assert res.json == {"detail": SERVICE_DOWN}
    else:
        assert "Service Unavailable" in res.text
        assert "Traceback" not in res.text


@pytest.fixture
def redis_down(testapp, testapp_with, cast):
    # sign in where the cache works; the session cookie is valid on the other app too
    testapp.login_as(cast.owner)
    return testapp_with(REDIS_DOWN)


def test_knock_with_the_cache_down(redis_down, cast, dbsession):
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    redis_down.reset()
    res = redis_down.post_json(
        f"/api/v1.0/rooms/{cast.room.id}/request-entry/", {"username": "Guest"}, status=503
    )
    assert_unavailable(res)


def test_signed_in_requests_with_the_cache_down(redis_down, cast, dbsession):
    """The session check reads the revocation list: no answer, no access (fails closed)."""
    before = room_count(dbsession)
    redis_down.login_as(cast.owner)
    assert_unavailable(redis_down.post_json("/api/v1.0/rooms/", {"name": "New"}, status=503))
    assert_unavailable(redis_down.get(f"/api/v1.0/rooms/{cast.room.id}/", status=503))
    assert_unavailable(redis_down.get(f"/{cast.room.slug}", status=503))
    assert room_count(dbsession) == before


def test_heartbeat_reports_the_cache(redis_down):
    res = redis_down.get("/__heartbeat__", status=503)
    assert res.json["cache"] == "error"


@pytest.fixture
def database_down(testapp_with):
    return testapp_with(DATABASE_DOWN)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1.0/rooms/some-room/",
        "/api/v1.0/rooms/123e4567-e89b-12d3-a456-426614174000/",
        "/some-room",
    ],
)
def test_reads_with_the_database_down(database_down, path):
    assert_unavailable(database_down.get(path, status=503))


def test_what_needs_no_database_still_answers(database_down):
    assert database_down.get("/api/v1.0/config/").json["LANGUAGE_CODE"]
    assert database_down.get("/__lbheartbeat__", status=200)


def test_heartbeat_reports_the_database(database_down):
    assert database_down.get("/__heartbeat__", status=503).json["database"] == "error"


def test_a_database_restart_is_invisible(testapp_with, connection, settings):
    """Dead pooled connections (a PostgreSQL restart) cost one retried attempt, not an
    error: the request is answered as if nothing happened."""
    if connection.dialect.name != "postgresql":
        pytest.skip("terminates PostgreSQL backends")
    url = settings["sqlalchemy.url"]
    url += ("&" if "?" in url else "?") + "application_name=meet-restart-test"
    client = testapp_with({"testing.shared_connection": "false", "sqlalchemy.url": url})
    missing = "/api/v1.0/rooms/nowhere-at-all/"
    client.get(missing, status=404)  # the pool now holds a live connection
    connection.exec_driver_sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'meet-restart-test'"
    )
    res = client.get(missing, status=404)
    assert res.json == {"detail": "No Room matches the given query."}

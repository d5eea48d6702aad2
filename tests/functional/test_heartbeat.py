"""GET /__heartbeat__: each dependency the configuration uses (database, cache, LiveKit,
S3 when recordings or files are on, SMTP when a relay is set), with its latency; 200
when all answer, 503 naming the one that does not. /__lbheartbeat__ stays trivial."""

import pytest

from tests.conftest import ACTORS, RECORDINGS_BUCKET
from tests.functional.test_faults import DATABASE_DOWN, REDIS_DOWN

CLOSED_PORT = "1"  # nothing listens there


def s3_settings(s3, **overrides) -> dict:
    return {
        "files.enabled": "true",
        "s3.endpoint_url": s3.endpoint_url,
        "s3.bucket": RECORDINGS_BUCKET,
        "s3.access_key_id": "testing",
        "s3.secret_access_key": "testing",
        **overrides,
    }


def assert_only_down(body: dict, down: str | None, expected: set[str]) -> None:
    checks = {name for name in body if name not in ("latency_ms", "errors")}
    assert checks == expected
    for name in expected:
        assert body[name] == ("error" if name == down else "ok"), name
        assert isinstance(body["latency_ms"][name], int | float)
        assert body["latency_ms"][name] >= 0
    assert set(body["errors"]) == ({down} if down else set())


def test_all_up(testapp, livekit):
    body = testapp.get("/__heartbeat__", status=200).json
    assert_only_down(body, None, {"database", "cache", "livekit"})


def test_with_every_dependency(testapp_with, livekit, s3, smtp):
    s3.create_bucket(RECORDINGS_BUCKET)
    client = testapp_with(s3_settings(s3, **{"mail.host": smtp.host, "mail.port": str(smtp.port)}))
    body = client.get("/__heartbeat__", status=200).json
    assert_only_down(body, None, {"database", "cache", "livekit", "s3", "smtp"})


def test_livekit_down(testapp, livekit):
    livekit.refuse_connections()
    try:
        body = testapp.get("/__heartbeat__", status=503).json
    finally:
        livekit.accept_connections()
    assert_only_down(body, "livekit", {"database", "cache", "livekit"})
    assert "unreachable" in body["errors"]["livekit"]


def test_livekit_failing(testapp, livekit):
    livekit.fail("ListRooms", "internal")
    body = testapp.get("/__heartbeat__", status=503).json
    assert_only_down(body, "livekit", {"database", "cache", "livekit"})


def test_cache_down(testapp_with, livekit):
    body = testapp_with(REDIS_DOWN).get("/__heartbeat__", status=503).json
    assert_only_down(body, "cache", {"database", "cache", "livekit"})


def test_database_down(testapp_with, livekit):
    body = testapp_with(DATABASE_DOWN).get("/__heartbeat__", status=503).json
    assert_only_down(body, "database", {"database", "cache", "livekit"})
    assert "postgres" not in body["errors"]["database"]  # no connection details


def test_s3_down(testapp_with, livekit, s3):
    client = testapp_with(s3_settings(s3, **{"s3.endpoint_url": f"http://127.0.0.1:{CLOSED_PORT}"}))
    body = client.get("/__heartbeat__", status=503).json
    assert_only_down(body, "s3", {"database", "cache", "livekit", "s3"})


def test_s3_bucket_missing(testapp_with, livekit, s3):
    body = testapp_with(s3_settings(s3)).get("/__heartbeat__", status=503).json
    assert_only_down(body, "s3", {"database", "cache", "livekit", "s3"})


def test_smtp_down(testapp_with, livekit):
    client = testapp_with({"mail.host": "127.0.0.1", "mail.port": CLOSED_PORT})
    body = client.get("/__heartbeat__", status=503).json
    assert_only_down(body, "smtp", {"database", "cache", "livekit", "smtp"})


def test_lbheartbeat_needs_nothing(testapp_with, livekit):
    livekit.refuse_connections()
    try:
        for down in (DATABASE_DOWN, REDIS_DOWN):
            assert testapp_with(down).get("/__lbheartbeat__").json == {"status": "ok"}
    finally:
        livekit.accept_connections()


@pytest.mark.parametrize("actor", ACTORS)
def test_public_for_every_actor(testapp, livekit, cast, actor):
    testapp.login_as(cast[actor])
    testapp.get("/__heartbeat__", status=200)
    testapp.get("/__lbheartbeat__", status=200)

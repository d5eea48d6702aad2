from tests.conftest import ACTORS


def test_lbheartbeat(testapp):
    assert testapp.get("/__lbheartbeat__").json == {"status": "ok"}


def test_heartbeat_reports_each_part(testapp, livekit):
    assert testapp.get("/__heartbeat__").json == {"database": "ok", "cache": "ok", "livekit": "ok"}


def test_heartbeat_with_livekit_down_still_serves(testapp, livekit):
    livekit.refuse_connections()
    body = testapp.get("/__heartbeat__", status=200).json
    assert body["livekit"].startswith("unavailable")


def test_health_is_public(testapp, cast):
    for actor in ACTORS:
        testapp.login_as(cast[actor])
        testapp.get("/__lbheartbeat__", status=200)

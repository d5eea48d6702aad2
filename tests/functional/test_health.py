from tests.conftest import ACTORS


def test_lbheartbeat(testapp):
    assert testapp.get("/__lbheartbeat__").json == {"status": "ok"}


# /__heartbeat__, dependency by dependency: test_heartbeat.py


def test_health_is_public(testapp, cast):
    for actor in ACTORS:
        testapp.login_as(cast[actor])
        testapp.get("/__lbheartbeat__", status=200)

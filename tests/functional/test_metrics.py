"""GET /metrics: who may scrape it (a bearer token, an allow-listed address; a 404 for
anyone else) and what it counts (requests by route, LiveKit calls and their failures,
mail failures, webhook events by type, lobby waiters)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ACTORS

TOKEN = "metrics-token-0123456789abcdef"
METRICS = {"metrics.token": TOKEN}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def scraped(testapp_with):
    return testapp_with(METRICS)


def samples(client) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of one scrape."""
    res = client.get("/metrics", headers=AUTH, status=200)
    assert res.content_type == "text/plain"
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(res.text)
        for s in family.samples
    }


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


# -- who may scrape ----------------------------------------------------------------------


def test_off_by_default(testapp):
    testapp.get("/metrics", status=404)
    testapp.get("/metrics", headers=AUTH, status=404)


def test_no_token_is_a_404_page(scraped):
    res = scraped.get("/metrics", status=404)
    assert res.content_type == "text/html"
    assert "meet_http_requests_total" not in res.text


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer ",
    ],
)
def test_a_wrong_token_is_a_404(scraped, authorization):
    scraped.get("/metrics", headers={"Authorization": authorization}, status=404)


def test_the_token_opens_it(scraped):
    res = scraped.get("/metrics", headers=AUTH, status=200)
    assert "meet_http_requests_total" in res.text
    assert res.headers["Cache-Control"] == "no-store"


def test_a_session_is_no_credential(scraped, cast):
    """Not even an operator's: monitoring is not a person."""
    for actor in ACTORS:
        scraped.login_as(cast[actor])
        scraped.get("/metrics", status=404)


@pytest.mark.parametrize(
    ("allowed", "address", "status"),
    [
        ("10.0.0.0/8", "10.1.2.3", 200),
        ("10.0.0.0/8 192.168.1.7", "192.168.1.7", 200),
        ("10.0.0.0/8", "11.0.0.1", 404),
        ("fd00::/8", "fd00::1", 200),
        ("fd00::/8", "10.1.2.3", 404),
    ],
)
def test_allow_listed_addresses(testapp_with, allowed, address, status):
    client = testapp_with({"metrics.allowed_addresses": allowed})
    client.get("/metrics", extra_environ={"REMOTE_ADDR": address}, status=status)


def test_a_bad_allow_list_stops_start_up(settings):
    from meet_web import main
    from meet_web.settings import SettingsError

    with pytest.raises(SettingsError, match=r"metrics\.allowed_addresses"):
        main({}, **{**settings, "metrics.allowed_addresses": "10.0.0.0/33"})


def test_writes_are_refused(scraped):
    scraped.post("/metrics", headers=AUTH, status=404)


# -- what it counts ----------------------------------------------------------------------


def test_requests_are_counted_by_route(scraped):
    route = "api:ApiRoot:config"
    before = samples(scraped)
    for _ in range(3):
        scraped.get("/api/v1.0/config/")
    after = samples(scraped)
    labels = {"route": route, "method": "GET", "status": "2xx"}
    assert value(after, "meet_http_requests_total", **labels) == (
        value(before, "meet_http_requests_total", **labels) + 3
    )
    count = "meet_http_request_duration_seconds_count"
    assert value(after, count, route=route) == value(before, count, route=route) + 3


def test_made_up_paths_share_one_label(scraped):
    before = samples(scraped)
    for path in ("/api/v1.0/nothing-1/", "/api/v1.0/rooms/x/nothing-2/", "/no/such/page"):
        scraped.get(path, status=404)
    after = samples(scraped)
    labels = {"route": "not_found", "method": "GET", "status": "4xx"}
    assert value(after, "meet_http_requests_total", **labels) == (
        value(before, "meet_http_requests_total", **labels) + 3
    )
    assert not any("nothing" in str(key) for key in after)


def test_livekit_calls_and_their_errors(scraped, livekit):
    before = samples(scraped)
    scraped.get("/__heartbeat__")  # one ListRooms call
    livekit.fail("ListRooms", "internal")
    scraped.get("/__heartbeat__", status=503)
    livekit.refuse_connections()
    try:
        scraped.get("/__heartbeat__", status=503)
    finally:
        livekit.accept_connections()
    after = samples(scraped)
    count = "meet_livekit_call_duration_seconds_count"
    assert value(after, count, call="list rooms") == value(before, count, call="list rooms") + 3
    errors = "meet_livekit_call_errors_total"
    for kind in ("error", "unreachable"):
        labels = {"call": "list rooms", "kind": kind}
        assert value(after, errors, **labels) == value(before, errors, **labels) + 1


def test_mail_failures(testapp_with, smtp):
    from meet_web.services.mail import Mailer
    from tests.conftest import app_service

    client = testapp_with({**METRICS, "mail.host": smtp.host, "mail.port": "1"})
    mailer = app_service(client.app, Mailer)
    before = samples(client)
    message = EmailMessage()
    message["Subject"], message["To"] = "Hello", "test@example.org"
    message.set_content("text")
    assert mailer.send_quietly(message) is False
    after = samples(client)
    assert value(after, "meet_mail_failures_total") == value(before, "meet_mail_failures_total") + 1


def test_webhook_events_by_type(scraped, livekit):
    from tests.functional.test_webhooks import post

    before = samples(scraped)
    post(scraped, livekit, livekit.event("participant_joined", room="r1", identity="a"))
    post(scraped, livekit, livekit.event("participant_joined", room="r1", identity="b"))
    post(scraped, livekit, livekit.event("room_finished", room="r1"))
    post(scraped, livekit, {"event": "made_up", "room": {"name": "r1"}})
    after = samples(scraped)
    name = "meet_livekit_webhook_events_total"
    for event, more in (("participant_joined", 2), ("room_finished", 1), ("other", 1)):
        assert value(after, name, event=event) == value(before, name, event=event) + more


def test_unsigned_webhooks_are_not_counted(scraped, livekit):
    from tests.functional.test_webhooks import URL

    before = samples(scraped)
    body, _ = livekit.webhook_request(livekit.event("room_started", room="x"))
    scraped.post(URL, body, headers={"Authorization": "Bearer forged"}, status=400)
    after = samples(scraped)
    name = "meet_livekit_webhook_events_total"
    assert value(after, name, event="room_started") == value(before, name, event="room_started")


def test_lobby_waiters_are_read_at_scrape_time(scraped, testapp_with, restricted):
    from tests.functional.test_lobby import knock

    assert value(samples(scraped), "meet_lobby_waiters") == 0
    for name in ("Ann", "Bob"):
        knock(testapp_with(METRICS), restricted, name)  # each its own browser
    assert value(samples(scraped), "meet_lobby_waiters") == 2

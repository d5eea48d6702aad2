"""Two app processes sharing one PROMETHEUS_MULTIPROC_DIR (as gunicorn workers do):
a scrape of either reports the totals of both."""

from __future__ import annotations

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.multiprocess.test_two_processes import TIMEOUT, app_process

pytestmark = pytest.mark.multiprocess

TOKEN = "metrics-token-0123456789abcdef"
ROUTE = {"route": "api:ApiRoot:config", "method": "GET", "status": "2xx"}


def scrape(base: str) -> dict:
    res = requests.get(
        base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=TIMEOUT
    )
    assert res.status_code == 200, res.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(res.text)
        for s in family.samples
    }


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def post_webhook(base: str, livekit, kind: str) -> None:
    """An event no handler takes: counted, and nothing written."""
    body, headers = livekit.webhook_request(livekit.event(kind, room="mp-room", identity="a"))
    res = requests.post(
        base + "/api/v1.0/rooms/webhooks-livekit/", data=body, headers=headers, timeout=TIMEOUT
    )
    assert res.status_code == 200, res.text


def test_two_processes_add_up(settings, livekit, tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    served = {
        **settings,
        "testing.shared_connection": "false",
        "app.base_url": "",
        "metrics.token": TOKEN,
    }
    with app_process(served) as first, app_process(served) as second:
        for base, times in ((first, 3), (second, 4)):
            for _ in range(times):
                requests.get(base + "/api/v1.0/config/", timeout=TIMEOUT).raise_for_status()
        post_webhook(first, livekit, "track_published")
        post_webhook(second, livekit, "track_published")
        post_webhook(second, livekit, "track_unpublished")
        for base in (first, second):
            found = scrape(base)
            # the start-up probe of each process (one GET of config each) counts too
            assert value(found, "meet_http_requests_total", **ROUTE) == 7 + 2
            events = "meet_livekit_webhook_events_total"
            assert value(found, events, event="track_published") == 2
            assert value(found, events, event="track_unpublished") == 1

"""Prometheus metrics: what the app counts, and the tween that counts requests.

With `PROMETHEUS_MULTIPROC_DIR` set in the environment before the app starts (one empty
directory per deployment, emptied at each restart), every process writes its samples
there and a scrape of any of them reports the totals of all: gunicorn workers add up.
Without it, each process has its own plain registry.

Gauges computed at scrape time (lobby waiters) are read from the shared store by the
process that answers the scrape, so they are never added up across processes.
"""

from __future__ import annotations

import logging
import os
import time

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "meet_http_requests_total",
    "HTTP requests answered, by route, method and status class",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "meet_http_request_duration_seconds",
    "Time spent answering HTTP requests, by route",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
LIVEKIT_LATENCY = Histogram(
    "meet_livekit_call_duration_seconds",
    "Time spent in calls to the LiveKit server API, by call",
    ["call"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
LIVEKIT_ERRORS = Counter(
    "meet_livekit_call_errors_total",
    "Calls to the LiveKit server API that failed, by call and kind of failure",
    ["call", "kind"],
)
MAIL_FAILURES = Counter("meet_mail_failures_total", "Mail messages that could not be sent")
WEBHOOK_EVENTS = Counter(
    "meet_livekit_webhook_events_total",
    "Signed LiveKit webhook deliveries received, by event type",
    ["event"],
)

# Labels for requests no view answered, so that a scan of made-up paths adds no series.
NOT_FOUND_ROUTE = "not_found"
EDGE_ROUTE = "edge"  # refused before routing (host, body size, encoding)

# Event types LiveKit sends; anything else is counted as "other" (bounded labels).
KNOWN_WEBHOOK_EVENTS = frozenset(
    {
        "room_started",
        "room_finished",
        "participant_joined",
        "participant_left",
        "participant_connection_aborted",
        "track_published",
        "track_unpublished",
        "egress_started",
        "egress_updated",
        "egress_ended",
        "ingress_started",
        "ingress_ended",
    }
)


_WEBHOOK_CHILDREN: dict[str, object] = {}


def count_webhook_event(event: str) -> None:
    name = event if event in KNOWN_WEBHOOK_EVENTS else "other"
    child = _WEBHOOK_CHILDREN.get(name)
    if child is None:  # a webhook is a hot path: labels() once per event type
        child = _WEBHOOK_CHILDREN[name] = WEBHOOK_EVENTS.labels(name)
    child.inc()


def observe_livekit_call(call: str, seconds: float, failure: str | None) -> None:
    LIVEKIT_LATENCY.labels(call).observe(seconds)
    if failure is not None:
        LIVEKIT_ERRORS.labels(call, failure).inc()


def count_mail_failure() -> None:
    MAIL_FAILURES.inc()


# -- requests ------------------------------------------------------------------------------


def route_label(request, status: int) -> str:
    """Which view answered: route, context type and view name, all bounded by the code
    (a 404's view name is whatever the path said, so all 404s share one label)."""
    if status == 404:
        return NOT_FOUND_ROUTE
    route = request.__dict__.get("matched_route")
    context = request.__dict__.get("context")
    if context is None:
        return EDGE_ROUTE
    name = route.name if route is not None else "site"
    return f"{name}:{type(context).__name__}:{request.__dict__.get('view_name', '')}"


class RequestMetrics:
    """The children of the request metrics by label, kept: `labels()` takes a lock and
    builds a tuple each time, this is one dict lookup on the hot paths."""

    def __init__(self):
        self._children: dict[tuple[str, str, int], tuple] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = (
                HTTP_REQUESTS.labels(route, method, f"{status // 100}xx"),
                HTTP_LATENCY.labels(route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


def metrics_tween_factory(handler, registry):
    metrics = RequestMetrics()
    clock = time.perf_counter

    def measured(request):
        started = clock()
        try:
            response = handler(request)
        except Exception:
            metrics.observe(route_label(request, 500), request.method, 500, clock() - started)
            raise
        status = response.status_int
        metrics.observe(route_label(request, status), request.method, status, clock() - started)
        return response

    return measured


# -- scrapes -------------------------------------------------------------------------------


class LobbyWaiters:
    """Guests waiting in any lobby now, read from the shared store at scrape time."""

    def __init__(self, store):
        self.store = store

    def collect(self):
        gauge = GaugeMetricFamily("meet_lobby_waiters", "Guests waiting in a lobby now")
        try:
            gauge.add_metric([], waiting_guests(self.store))
        except Exception as exc:  # the store is down: the other metrics still answer
            log.warning("metrics: lobby waiters not counted: %s", exc)
            return
        yield gauge


def waiting_guests(store) -> int:
    """The unexpired members of every lobby's waiting group (services/lobby.py names
    them `lobby:<room id>:waiting`)."""
    from .services.ephemeral import PREFIX, RedisStore

    if isinstance(store, RedisStore):
        now = time.time()
        groups = list(store.client.scan_iter(match=f"{PREFIX}lobby:*:waiting", count=1000))
        if not groups:
            return 0
        pipe = store.client.pipeline(transaction=False)
        for group in groups:
            pipe.zcount(group, now, "+inf")
        return sum(int(n) for n in pipe.execute())
    cache = getattr(store.region.backend, "_cache", {})
    groups = [k[len(PREFIX) :] for k in list(cache) if str(k).startswith(PREFIX + "lobby:")]
    return sum(store.count(g) for g in groups if g.endswith(":waiting"))


class _Collectors:
    def __init__(self, *collectors):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition(store) -> bytes:
    """The text of a scrape: every process's totals in multiprocess mode, else this one's."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(_Collectors(registry, LobbyWaiters(store)))
    return generate_latest(_Collectors(REGISTRY, LobbyWaiters(store)))

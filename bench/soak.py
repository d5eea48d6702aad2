"""Soak: hundreds of guests knock at a restricted room while two owners admit or deny them.

Two app processes (waitress, 8 threads each, as production.ini serves the app) share one
PostgreSQL database (`meet_bench`) and one Redis db (14), with the loopback LiveKit fake
and the development OIDC provider from tests/servers. For `--seconds` (60):

  guests  `--guests` (500) at a time, each with its own cookie jar (lobbyParticipantId and
          its key cookie), poll POST /api/v1.0/rooms/<id>/request-entry/ about once a
          second, alternating between the two processes; a guest admitted or denied
          stops polling and a new guest takes its place
  owners  the room's owner on one process and its administrator on the other, signed in
          through the real OIDC flow, list GET .../waiting-participants/ every second and
          decide (POST .../enter/, CSRF header from the csrftoken cookie) a few guests of
          their half of the list each time: 70 % admitted, 30 % denied

It prints requests per endpoint, process and status, server errors, guests admitted,
denied and still waiting, the LiveKit token of every admitted guest checked (HS256 with
the API secret: video.room is the room's id, sub the guest's lobby identity), decisions
that a concurrent poll undid, the achieved poll rate and slow polls, and each process's
RSS, Redis used_memory and db 14's size at the start, every 15 s and at the end. A
benchmark, not a test: nothing fails on timing. See bench/README.md ("Soak").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import time
import types
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import run as bench  # bench/run.py: this file's directory is sys.path[0]

ADMIN_SUB = "bench-admin"
THREADS = 8  # production.ini's waitress threads
MONITOR_EVERY_S = 15.0
ADMIT_SHARE = 0.7
WAITING_TIMEOUT_S = 3  # lobby.waiting_timeout's default: a waiting entry lives 3 s unpolled
DENIED_TIMEOUT_S = 5  # lobby.denied_timeout's default
KNOCK = "request-entry"
LIST = "waiting-participants"
ENTER = "enter"
ENDPOINTS = (KNOCK, LIST, ENTER)

say = bench.say


# --------------------------------------------------------------------------------------
# The app processes, the owners' sign-in, the seed


class Waitress(bench.Gunicorn):
    """One waitress process (`python -m waitress`, threads as in production.ini) on
    loopback, started, checked and stopped by run.py's Gunicorn code (no workers)."""

    def __init__(self, name: str, env: dict, log_dir: Path, threads: int = THREADS):
        super().__init__("wsgi:application", "sync", 0, env, log_dir)
        self.name = name
        self.log_path = log_dir / f"waitress-{name}.log"
        self.command = [
            sys.executable,
            "-m",
            "waitress",
            f"--listen=127.0.0.1:{self.port}",
            f"--threads={threads}",
            "--ident=meet",
            "bench.wsgi:application",  # waitress puts its cwd (the project) on sys.path
        ]

    @property
    def yarl_url(self):
        import yarl

        return yarl.URL(self.url)

    @property
    def pid(self) -> int:
        return self.process.pid


def seed_rows() -> bench.Seed:
    """run.py's owner, member and restricted room, plus an administrator of the room."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from meet_web.models import ResourceAccess, Role, Room, User

    seed = bench.seed_rows()
    engine = create_engine(bench.DB_URL)
    try:
        with Session(engine) as session, session.begin():
            admin = User(sub=ADMIN_SUB, email="admin@bench.example", full_name="Bench Admin")
            room = session.get(Room, uuid.UUID(seed.room_id))
            room.accesses.append(ResourceAccess(user=admin, role=Role.ADMINISTRATOR))
            session.add(admin)
    finally:
        engine.dispose()
    return seed


@dataclass
class Owner:
    sub: str
    role: str
    server: Waitress
    cookies: dict[str, str]

    @property
    def csrf(self) -> str:
        return self.cookies["csrftoken"]


def warm_up(servers: list[Waitress], owners: list[Owner], room_id: str) -> None:
    """Every path of the soak once per process, checked: a few guests knock on both,
    each owner lists them and admits or denies them, they poll for the answer."""
    import requests

    base = f"/api/v1.0/rooms/{room_id}/"
    for server, owner in zip(servers, owners, strict=True):
        other = servers[1 - servers.index(server)]
        guests = [requests.Session() for _ in range(10)]
        try:
            ids = []
            for session in guests:
                for target in (server, other):  # the lobby cookies hold on both processes
                    answer = session.post(
                        target.url + base + KNOCK + "/", json={"username": "Warm-up"}, timeout=10
                    )
                    if answer.status_code != 200 or answer.json().get("status") != "waiting":
                        raise RuntimeError(f"warm-up knock: {answer.status_code} {answer.text}")
                ids.append(answer.json()["id"])
            with requests.Session() as http:
                http.cookies.update(owner.cookies)
                for target in servers:  # the session cookie holds on both processes
                    me = http.get(target.url + "/api/v1.0/users/me/", timeout=10)
                    if me.status_code != 200:
                        raise RuntimeError(f"{owner.sub} on {target.name}: {me.status_code}")
                listed = http.get(server.url + base + LIST + "/", timeout=10)
                waiting = {p["id"] for p in listed.json().get("participants", [])}
                if listed.status_code != 200 or not set(ids) <= waiting:
                    raise RuntimeError(f"warm-up list: {listed.status_code} {listed.text[:500]}")
                for n, identity in enumerate(ids):
                    decided = http.post(
                        server.url + base + ENTER + "/",
                        json={"participant_id": identity, "allow_entry": n % 2 == 0},
                        headers={"X-CSRFToken": owner.csrf},
                        timeout=10,
                    )
                    if decided.status_code != 200:
                        raise RuntimeError(f"warm-up enter: {decided.status_code} {decided.text}")
            for n, session in enumerate(guests):
                answer = session.post(
                    other.url + base + KNOCK + "/", json={"username": "Warm-up"}, timeout=10
                ).json()
                expected = "accepted" if n % 2 == 0 else "denied"
                if answer.get("status") != expected or bool(answer.get("livekit")) != (
                    expected == "accepted"
                ):
                    raise RuntimeError(f"warm-up answer: {answer} (expected {expected})")
        finally:
            for session in guests:
                session.close()


# --------------------------------------------------------------------------------------
# Readings: RSS, CPU, Redis


class Readings:
    """RSS and CPU of each app process, PostgreSQL, Redis, this client and the rest of
    the machine; Redis used_memory and db 14's size, per interval."""

    def __init__(self, servers: list[Waitress], monitor, livekit):
        import redis

        both = types.SimpleNamespace(pids=lambda: [server.pid for server in servers])
        self.servers = servers
        self.probe = bench.Probe(both, monitor, livekit)
        self.redis = redis.Redis.from_url(bench.REDIS_URL)
        self.rows: list[dict] = []
        self.last = self.probe.snapshot()

    def redis_figures(self) -> tuple[float, int]:
        return self.redis.info("memory")["used_memory"] / 2**20, int(self.redis.dbsize())

    def take(self, label: str, polls: int) -> dict:
        now = self.probe.snapshot()
        if label == "start":
            self.first = now
        before, self.last = self.last, now
        elapsed = max(1e-6, now["time"] - before["time"])
        used, keys = self.redis_figures()
        row = {
            "label": label,
            "rss": [bench.rss_mib(server.pid) for server in self.servers],
            "redis_mib": used,
            "db14_keys": keys,
            "polls_per_s": polls / elapsed,
        }
        cpu = {
            f"app {server.name}": (now["app"].get(server.pid) or 0.0)
            - (before["app"].get(server.pid) or 0.0)
            for server in self.servers
        }
        cpu["postgres"] = bench.Probe.delta(before["postgres"], now["postgres"])
        cpu["redis"] = bench.Probe.delta(before["redis"], now["redis"])
        cpu["client"] = now["self"] - before["self"]
        busy = now["busy"] - before["busy"]
        cpu["other"] = max(0.0, busy - sum(cpu.values()))
        row["cpu_pct"] = {name: 100 * seconds / elapsed for name, seconds in cpu.items()}
        if label == "start":  # nothing measured yet
            row["cpu_pct"] = None
        self.rows.append(row)
        return row

    def cpu_since_start(self) -> dict[str, float]:
        """CPU seconds from the start reading to the last one."""
        first, last = self.first, self.last
        return {
            "app": bench.Probe.delta(first["app"], last["app"]),
            "postgres": bench.Probe.delta(first["postgres"], last["postgres"]),
            "redis": bench.Probe.delta(first["redis"], last["redis"]),
        }

    def close(self) -> None:
        self.redis.close()

    @staticmethod
    def header(servers) -> str:
        rss = "".join(f"{f'RSS {s.name}':>10}" for s in servers)
        cpu = "".join(f"{f'cpu {s.name}':>7}" for s in servers)
        return (
            f"  {'t':9}{rss}{'redis used':>12}{'db14 keys':>11}{'polls/s':>9}"
            f"{cpu}{'pg':>6}{'redis':>7}{'client':>8}{'other':>7}"
        )

    @staticmethod
    def line(row: dict, servers) -> str:
        rss = "".join(f"{r:>6.1f} MiB" if r else f"{'-':>10}" for r in row["rss"])
        text = (
            f"  {row['label']:9}{rss}{row['redis_mib']:>8.2f} MiB{row['db14_keys']:>11}"
            f"{row['polls_per_s']:>9.0f}"
        )
        pct = row["cpu_pct"]
        if pct is None:
            return text
        cpu = "".join(f"{pct[f'app {s.name}']:>6.0f}%" for s in servers)
        return (
            f"{text}{cpu}{pct['postgres']:>5.0f}%{pct['redis']:>6.0f}%"
            f"{pct['client']:>7.0f}%{pct['other']:>6.0f}%"
        )


# --------------------------------------------------------------------------------------
# The soak: guests and owners in one asyncio loop


@dataclass
class Decision:
    allow: bool
    sent: float  # when the owner sent it
    answered: float | None = None  # when the owner got the answer (None: in flight)
    status: int | None = None  # of POST .../enter/
    checked: bool = False  # against the guest's later polls

    @property
    def may_count(self) -> bool:
        """Made (200), or in flight: the server may have applied it already."""
        return self.status in (200, None)


@dataclass
class Guest:
    number: int
    owner: int  # the owner who decides this guest (each has half of them)
    identity: str | None = None
    last_status: str | None = None
    last_sent: float | None = None
    last_received: float | None = None
    polls: int = 0
    decisions: list[Decision] = field(default_factory=list)
    outcome: str | None = None  # "accepted", "denied"


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)  # (endpoint, process, status)
    latencies: dict = field(default_factory=lambda: defaultdict(list))  # endpoint: [s]
    client_errors: Counter = field(default_factory=Counter)  # (endpoint, process, error)
    server_errors: list = field(default_factory=list)  # first few (endpoint, status, body)
    answers: Counter = field(default_factory=Counter)  # request-entry's "status"
    intervals: list = field(default_factory=list)  # between a guest's two polls, s
    # A waiting entry lives 3 s from the server's handling of a poll, which falls between
    # the poll's send and its answer; queued requests (in the client's pool, in waitress's
    # task queue) are handled near the end, so answer to answer is the estimate.
    expired_surely: int = 0  # the next poll sent > 3 s after the last one's answer
    expired_estimate: int = 0  # answer to next answer > 3 s
    expired_perhaps: int = 0  # the last poll's send to the next one's answer > 3 s
    dropped: set = field(default_factory=set)  # guests with an estimated expiry
    identity_mismatch: int = 0  # the answer's id is not the guest's cookie
    identity_changed: int = 0  # a guest's id changed between polls
    tokens_checked: int = 0
    wrong_tokens: list = field(default_factory=list)
    decided: Counter = field(default_factory=Counter)  # (owner, "admit"/"deny"/"404"...)
    undone: list = field(default_factory=list)  # decisions a later poll found undone
    denied_expired: int = 0  # a denied entry expired (5 s) before the guest polled again
    contradicted: list = field(default_factory=list)  # outcome != the last decision
    undecided_outcome: int = 0  # admitted or denied with no decision of ours
    decided_twice: int = 0
    polls_window: int = 0  # request-entry answers since the last reading


class Soak:
    def __init__(self, args, servers, owners, seed, livekit, readings):
        self.args, self.servers, self.owners = args, servers, owners
        self.room_id, self.livekit, self.readings = seed.room_id, livekit, readings
        self.secret = livekit.api_secret
        self.base = f"/api/v1.0/rooms/{seed.room_id}/"
        self.tally = Tally()
        self.guests: list[Guest] = []
        self.by_identity: dict[str, Guest] = {}
        self.tasks: set[asyncio.Task] = set()
        self.rng = random.Random(args.seed)

    # -- plumbing ---------------------------------------------------------------------

    async def call(self, http, endpoint: str, server: Waitress, method: str, path: str, **kw):
        """(status, JSON answer, sent at, answered at); status None on a client error."""
        import aiohttp

        loop = asyncio.get_running_loop()
        sent = loop.time()
        try:
            async with http.request(method, server.url + path, **kw) as response:
                status, body = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.tally.client_errors[(endpoint, server.name, type(exc).__name__)] += 1
            return None, None, sent, loop.time()
        received = loop.time()
        self.tally.statuses[(endpoint, server.name, status)] += 1
        self.tally.latencies[endpoint].append(received - sent)
        if status >= 500 and len(self.tally.server_errors) < 5:
            self.tally.server_errors.append((endpoint, server.name, status, body[:500]))
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        return status, data, sent, received

    def session(self, cookies: dict | None = None):
        import aiohttp

        return aiohttp.ClientSession(
            connector=self.connector,
            connector_owner=False,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies from 127.0.0.1 too
            cookies=cookies,
            timeout=aiohttp.ClientTimeout(total=10),
        )

    def start(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    @staticmethod
    async def sleep_until(when: float) -> None:
        delay = when - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)

    # -- guests -----------------------------------------------------------------------

    def new_guest(self, at: float) -> None:
        number = len(self.guests) + 1
        guest = Guest(number=number, owner=number % 2)
        self.guests.append(guest)
        self.start(self.guest(guest, at))

    async def guest(self, guest: Guest, at: float) -> None:
        loop = asyncio.get_running_loop()
        body = {"username": f"Guest {guest.number}"}
        turn = guest.number % 2
        next_at = at
        async with self.session() as http:
            while True:
                await self.sleep_until(next_at)
                if loop.time() >= self.deadline:
                    break
                server = self.servers[turn]
                turn = 1 - turn
                status, data, sent, received = await self.call(
                    http, KNOCK, server, "POST", self.base + KNOCK + "/", json=body
                )
                next_at = max(sent + self.args.period, received)
                if status is None:
                    continue
                self.tally.polls_window += 1
                self.note_gap(guest, sent, received)
                if status == 200 and isinstance(data, dict):
                    self.answer(guest, data, http, server, sent, received)
                if guest.outcome is not None:
                    break
        if guest.outcome is not None and loop.time() < self.deadline:
            self.new_guest(loop.time() + self.rng.random() * self.args.period)

    def note_gap(self, guest: Guest, sent: float, received: float) -> None:
        tally = self.tally
        if guest.last_sent is not None:
            tally.intervals.append(sent - guest.last_sent)
            if guest.last_status == "waiting":
                if sent - guest.last_received > WAITING_TIMEOUT_S:
                    tally.expired_surely += 1
                if received - guest.last_received > WAITING_TIMEOUT_S:
                    tally.expired_estimate += 1
                    tally.dropped.add(guest.number)
                if received - guest.last_sent > WAITING_TIMEOUT_S:
                    tally.expired_perhaps += 1
        guest.last_sent, guest.last_received = sent, received
        guest.polls += 1

    def answer(self, guest: Guest, data: dict, http, server, sent: float, received: float):
        tally = self.tally
        identity = data.get("id")
        cookie = http.cookie_jar.filter_cookies(server.yarl_url).get("lobbyParticipantId")
        if cookie is None or identity != cookie.value:
            tally.identity_mismatch += 1
        if guest.identity is None:
            guest.identity = identity
            self.by_identity[identity] = guest
        elif identity != guest.identity:
            tally.identity_changed += 1
        status = data.get("status")
        guest.last_status = status
        tally.answers[status] += 1
        if status == "waiting":
            self.check_undone(guest, sent, received)
            return
        if status not in ("accepted", "denied"):
            return
        guest.outcome = status
        made = [d for d in guest.decisions if d.may_count]
        if not made:
            tally.undecided_outcome += 1
        elif made[-1].allow != (status == "accepted"):
            tally.contradicted.append((guest.number, made, status))
        if len(made) > 1:
            tally.decided_twice += 1
        if status == "accepted":
            self.check_token(guest, data, cookie.value if cookie else None)

    def check_undone(self, guest: Guest, sent: float, received: float) -> None:
        """A poll sent after an owner's decision was answered must not say "waiting"
        (unless the denied entry's 5 s had passed when the server handled the poll: it
        was written after the decision was sent, the poll handled before its answer)."""
        tally = self.tally
        for d in guest.decisions:
            if d.checked or d.status != 200 or sent <= d.answered:
                continue
            d.checked = True
            if not d.allow and received - d.sent >= DENIED_TIMEOUT_S:
                tally.denied_expired += 1  # perhaps handled too late: not the app's doing
            else:
                what = "admit" if d.allow else "deny"
                tally.undone.append((guest.number, what, sent - d.answered))

    def check_token(self, guest: Guest, data: dict, cookie: str | None) -> None:
        import jwt

        tally = self.tally
        tally.tokens_checked += 1
        block = data.get("livekit") or {}
        problems = []
        try:
            claims = jwt.decode(block.get("token") or "", self.secret, algorithms=["HS256"])
        except jwt.PyJWTError as exc:
            claims, problems = {}, [f"not a valid token: {exc}"]
        video = claims.get("video") or {}
        if claims and video.get("room") != self.room_id:
            problems.append(f"video.room {video.get('room')!r}")
        if claims and not (claims.get("sub") == data.get("id") == cookie):
            problems.append(f"sub {claims.get('sub')!r}, id {data.get('id')!r}, cookie {cookie!r}")
        if claims and not video.get("roomJoin"):
            problems.append("no roomJoin grant")
        if claims and video.get("roomAdmin"):
            problems.append("roomAdmin granted to a guest")
        if block.get("room") != self.room_id:
            problems.append(f"livekit.room {block.get('room')!r}")
        if problems:
            tally.wrong_tokens.append((guest.number, problems))

    # -- owners -----------------------------------------------------------------------

    async def owner(self, index: int) -> None:
        loop = asyncio.get_running_loop()
        owner = self.owners[index]
        rng = random.Random(self.args.seed + 1 + index)
        path = self.base + LIST + "/"
        next_at = loop.time() + index * self.args.period / 2
        async with self.session(owner.cookies) as http:
            while True:
                await self.sleep_until(next_at)
                if loop.time() >= self.deadline:
                    break
                next_at += self.args.period
                status, data, _, _ = await self.call(http, LIST, owner.server, "GET", path)
                if status != 200 or not isinstance(data, dict):
                    continue
                mine = [
                    guest
                    for p in data.get("participants", [])
                    if (guest := self.by_identity.get(p.get("id"))) is not None
                    and guest.owner == index
                    and guest.outcome is None
                ]
                for guest in rng.sample(mine, min(self.args.decisions, len(mine))):
                    if loop.time() >= self.deadline:
                        break
                    await self.decide(http, index, owner, guest, rng.random() < ADMIT_SHARE)

    async def decide(self, http, index: int, owner: Owner, guest: Guest, allow: bool) -> None:
        # noted before sending: the guest's answer may come first
        decision = Decision(allow, asyncio.get_running_loop().time())
        guest.decisions.append(decision)
        decision.status, _, _, decision.answered = await self.call(
            http,
            ENTER,
            owner.server,
            "POST",
            self.base + ENTER + "/",
            json={"participant_id": guest.identity, "allow_entry": allow},
            headers={"X-CSRFToken": owner.csrf},
        )
        if decision.status == 200:
            self.tally.decided[(index, "admit" if allow else "deny")] += 1
        else:
            self.tally.decided[(index, str(decision.status))] += 1

    # -- the run ----------------------------------------------------------------------

    async def monitor(self) -> None:
        tick = self.started
        while True:
            tick += MONITOR_EVERY_S
            if tick >= self.deadline - 1:
                return
            await self.sleep_until(tick)
            self.reading(f"{tick - self.started:.0f} s")

    def reading(self, label: str) -> None:
        row = self.readings.take(label, self.tally.polls_window)
        self.tally.polls_window = 0
        print(Readings.line(row, self.servers), flush=True)

    async def run(self) -> None:
        import aiohttp

        loop = asyncio.get_running_loop()
        per_host = self.args.connections
        self.connector = aiohttp.TCPConnector(
            limit=per_host * len(self.servers), limit_per_host=per_host
        )
        try:
            print(Readings.header(self.servers), flush=True)
            self.started = loop.time()
            self.deadline = self.started + self.args.seconds
            self.reading("start")
            for n in range(self.args.guests):  # arrivals spread over the first period
                self.new_guest(self.started + n * self.args.period / self.args.guests)
            for index in range(len(self.owners)):
                self.start(self.owner(index))
            self.start(self.monitor())
            await self.sleep_until(self.deadline)
            # In-flight requests finish (bounded by their 10 s timeout); nothing new starts.
            while self.tasks:
                await asyncio.wait(set(self.tasks), timeout=15)
            self.ended = loop.time()
            self.reading("end")
        finally:
            await self.connector.close()


# --------------------------------------------------------------------------------------
# The report


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(soak: Soak, args, limits_text: str, wall: float, log_notes: list[str]) -> str:
    tally, servers = soak.tally, soak.servers
    lines = ["", "Requests (per endpoint and process: HTTP status: count)"]
    elapsed = soak.ended - soak.started
    for endpoint in ENDPOINTS:
        latencies = tally.latencies.get(endpoint, [])
        total = sum(n for (e, _, _), n in tally.statuses.items() if e == endpoint)
        lines.append(
            f"  {endpoint:21}{total:>8} answers, {total / elapsed:>6.1f}/s, "
            f"p50 {1000 * percentile(latencies, 0.5):.1f} ms, "
            f"p99 {1000 * percentile(latencies, 0.99):.1f} ms, "
            f"max {1000 * max(latencies, default=0):.0f} ms"
        )
        for server in servers:
            counts = sorted(
                (status, n)
                for (e, name, status), n in tally.statuses.items()
                if e == endpoint and name == server.name
            )
            text = ", ".join(f"{status}: {n}" for status, n in counts) or "none"
            lines.append(f"    process {server.name} (:{server.port})  {text}")
    server_errors = sum(n for (_, _, status), n in tally.statuses.items() if status >= 500)
    answered = sum(tally.statuses.values())
    cpu = soak.readings.cpu_since_start()
    lines.append(
        "  CPU per request (all endpoints), ms: "
        + ", ".join(f"{name} {1000 * sec / max(1, answered):.2f}" for name, sec in cpu.items())
        + f"; total {1000 * sum(cpu.values()) / max(1, answered):.2f}"
    )
    lines.append(f"Server errors (5xx): {server_errors}")
    for endpoint, name, status, body in tally.server_errors:
        lines.append(f"    {endpoint} on {name}: {status} {body!r}")
    client_errors = sum(tally.client_errors.values())
    lines.append(
        f"Client errors (timeouts, refused connections): {client_errors}"
        + (f" {dict(tally.client_errors)}" if client_errors else "")
    )

    guests = soak.guests
    admitted = [g for g in guests if g.outcome == "accepted"]
    denied = [g for g in guests if g.outcome == "denied"]
    waiting = [g for g in guests if g.outcome is None and g.last_status == "waiting"]
    unanswered = [g for g in guests if g.outcome is None and g.last_status is None]
    unseen = [g for g in guests if g.outcome is None and any(d.status == 200 for d in g.decisions)]
    lines.append("")
    lines.append(
        f"Guests: {len(guests)} in all ({args.guests} knocking at any time: each one admitted "
        "or denied stops and a new guest arrives)"
    )
    lines.append(
        f'  admitted {len(admitted)}, denied {len(denied)} (a 200 with status "denied" and '
        f"livekit null), still waiting at the end {len(waiting)} (of them "
        f"decided but not polled since: {len(unseen)}), not answered yet (arrived at the end) "
        f"{len(unanswered)}"
    )
    lines.append(
        "  request-entry answers by status: "
        + ", ".join(f"{status}: {n}" for status, n in sorted(tally.answers.items()))
    )
    lines.append(
        f"  LiveKit tokens checked (HS256, video.room == room id, sub == id == cookie): "
        f"{tally.tokens_checked}, wrong: {len(tally.wrong_tokens)}"
    )
    for number, problems in tally.wrong_tokens[:5]:
        lines.append(f"    guest {number}: {'; '.join(problems)}")
    lines.append(
        f"  answers whose id was not the guest's lobbyParticipantId cookie: "
        f"{tally.identity_mismatch}; guests whose id changed between polls: "
        f"{tally.identity_changed}"
    )
    for index, owner in enumerate(soak.owners):
        counts = {k: n for (i, k), n in tally.decided.items() if i == index}
        text = ", ".join(f"{k}: {n}" for k, n in sorted(counts.items())) or "none"
        lines.append(f"  {owner.sub} ({owner.role}, process {owner.server.name}) decided {text}")
    lines.append(
        f'  decisions undone (a poll sent after the owner\'s 200 still answered "waiting"): '
        f"{len(tally.undone)}; guests decided more than once: {tally.decided_twice}; outcome "
        f"contrary to the last decision: {len(tally.contradicted)}; admitted or denied with no "
        f"decision: {tally.undecided_outcome}"
    )
    for number, what, after in tally.undone[:5]:
        lines.append(f"    guest {number}: {what} undone, poll sent {after * 1000:.0f} ms after it")
    for number, decisions, status in tally.contradicted[:5]:
        made = ", ".join("admit" if d.allow else "deny" for d in decisions)
        lines.append(f"    guest {number}: decisions {made}, outcome {status}")
    if tally.denied_expired:
        lines.append(
            f"  denied guests whose entry may have expired (5 s) before their next poll was "
            "handled (not counted as undone): "
            f"{tally.denied_expired}"
        )

    polls = sum(n for (e, _, status), n in tally.statuses.items() if e == KNOCK)
    target = args.guests / args.period
    lines.append("")
    lines.append(
        f"Polling: {polls / elapsed:.0f} polls/s achieved over {elapsed:.0f} s "
        f"(target {target:.0f}/s: {args.guests} guests, one poll each {args.period:g} s); "
        f"interval between a guest's polls p50 {percentile(tally.intervals, 0.5):.2f} s, "
        f"p99 {percentile(tally.intervals, 0.99):.2f} s, "
        f"max {max(tally.intervals, default=0):.2f} s"
    )
    lines.append(
        f"  slow polls, the waiting entry ({WAITING_TIMEOUT_S} s) expired before the next one: "
        f"{tally.expired_estimate} estimated (answer to next answer > {WAITING_TIMEOUT_S} s); "
        f"bounds: at least {tally.expired_surely} (next poll sent > {WAITING_TIMEOUT_S} s after "
        f"the last answer), at most {tally.expired_perhaps} (send to next answer)"
    )
    lines.append(
        f"  guests who dropped out of the lobby at least once (estimate; their next poll "
        f"knocked anew as a newcomer): {len(soak.tally.dropped)} of {len(soak.guests)}"
    )
    lines.append(f"  LiveKit calls (participantWaiting notifications): {len(soak.livekit.calls)}")
    lines.append("")
    lines.append(f"Lobby limits: {limits_text}")
    first, last = soak.readings.rows[0], soak.readings.rows[-1]
    lines.append(
        "Memory: "
        + ", ".join(
            f"process {s.name} RSS {a:.1f} -> {b:.1f} MiB"
            for s, a, b in zip(servers, first["rss"], last["rss"], strict=True)
        )
        + f"; Redis used_memory {first['redis_mib']:.2f} -> {last['redis_mib']:.2f} MiB "
        f"(the whole server), db 14 {first['db14_keys']} -> {last['db14_keys']} keys "
        "(admitted guests' entries live 6 h, rate-limit counters 60 s)"
    )
    lines.extend(log_notes)
    lines.append(f"(wall time {wall:.0f} s; machine: {os.cpu_count()} cores)")
    return "\n".join(lines)


def log_notes(servers: list[Waitress]) -> list[str]:
    notes = []
    for server in servers:
        text = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
        queue = text.count("Task queue depth")
        tracebacks = text.count("Traceback (most recent call last)")
        if queue or tracebacks:
            notes.append(
                f"process {server.name} log: {queue} 'Task queue depth' warnings (all "
                f"{THREADS} threads busy), {tracebacks} tracebacks"
            )
        if tracebacks:
            start = text.index("Traceback (most recent call last)")
            notes.append(text[max(0, start - 300) : start + 2500])
    return notes


# --------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the soak (60)")
    parser.add_argument("--guests", type=int, default=500, help="guests knocking at a time (500)")
    parser.add_argument("--period", type=float, default=1.0, help="s between a guest's polls (1)")
    parser.add_argument(
        "--decisions", type=int, default=4, help="guests each owner decides per listing (4)"
    )
    parser.add_argument(
        "--connections", type=int, default=32, help="client connections per process (32)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument("--keep-db", action="store_true", help=f"leave {bench.DB_NAME} after")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        import aiohttp  # noqa: F401 - installed with livekit-api
        import jwt  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"bench/soak.py needs {exc.name}") from exc
    signal.signal(signal.SIGTERM, bench._stop_on_sigterm)
    import psycopg

    from tests.servers.livekit_fake import FakeLiveKit
    from tests.servers.oidc import OidcProvider

    wall_start = time.monotonic()
    with contextlib.ExitStack() as stack:
        work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="meet-soak-")))
        servers: list[Waitress] = []
        stack.callback(lambda: [server.stop() for server in servers])
        say(f"database {bench.DB_NAME} (fresh), Redis db 14 (flushed)")
        bench.create_database()
        if not args.keep_db:
            stack.callback(bench.drop_database)
        bench.flush_redis()
        stack.callback(bench.flush_redis)
        livekit = stack.enter_context(FakeLiveKit())
        oidc = stack.enter_context(OidcProvider(log_dir=work_dir))
        seed = seed_rows()
        livekit.add_room(seed.room_id)  # a meeting in progress: knocks notify it
        limits = {"lobby.address_rate_limit": 0, "lobby.max_waiting_per_room": 0}
        # one session secret for both processes: a session holds on either
        settings = bench.app_settings(livekit, oidc, **{k: str(v) for k, v in limits.items()})
        settings_path = work_dir / "settings.json"
        settings_path.write_text(json.dumps(settings))
        env = {"BENCH_SETTINGS_FILE": str(settings_path)}
        for name in ("A", "B"):
            servers.append(Waitress(name, env, work_dir))
        for server in servers:
            server.start("/api/v1.0/config/")
        say(f"waitress A :{servers[0].port}, B :{servers[1].port} ({THREADS} threads each)")
        owners = [
            Owner(
                bench.OWNER_SUB, "owner", servers[0], bench.sign_in(servers[0].url, bench.OWNER_SUB)
            ),
            Owner(ADMIN_SUB, "administrator", servers[1], bench.sign_in(servers[1].url, ADMIN_SUB)),
        ]
        warm_up(servers, owners, seed.room_id)
        limits_text = (
            "lobby.address_rate_limit = 0 and lobby.max_waiting_per_room = 0 (0 turns each "
            "off: every guest comes from 127.0.0.1); lobby.rate_limit 150 polls/min per "
            f"guest, waiting lifetime {WAITING_TIMEOUT_S} s (defaults)"
        )
        monitor = stack.enter_context(psycopg.connect(bench.PG_ADMIN, autocommit=True))
        readings = Readings(servers, monitor, livekit)
        stack.callback(readings.close)
        print(
            f"== Soak: {args.guests} guests knocking for {args.seconds:g} s at a restricted "
            f"room, 2 waitress processes ({THREADS} threads each) sharing PostgreSQL "
            f"{bench.DB_NAME} and Redis db 14 (dogpile.cache.redis) =="
        )
        print(f"Lobby limits: {limits_text}")
        print(
            f"Owners: {owners[0].sub} (owner) on A, {owners[1].sub} (administrator) on B, "
            f"signed in through OIDC; each lists every {args.period:g} s and decides up to "
            f"{args.decisions} of its half of the waiting guests ({100 * ADMIT_SHARE:.0f} % "
            "admitted)"
        )
        print(
            "Readings (RSS: VmRSS; cpu: % of one core over the interval; other: the rest "
            "of the machine)",
            flush=True,
        )
        soak = Soak(args, servers, owners, seed, livekit, readings)
        asyncio.run(soak.run())
        for server in servers:
            server.stop()
        print(
            report(soak, args, limits_text, time.monotonic() - wall_start, log_notes(servers)),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted; everything it started is stopped")
        sys.exit(130)

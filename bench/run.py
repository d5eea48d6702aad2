"""Load benchmark of the meeting-joining endpoints (design.md, "Performance targets").

Serves the app as in production (gunicorn, 2 sync workers, then 2 gthread workers) on a
fresh PostgreSQL database and Redis db 14, with the loopback LiveKit fake and the
development OIDC provider from tests/servers, and drives it with wrk:

  knock    anonymous guests polling POST /api/v1.0/rooms/<id>/request-entry/ (restricted room)
  join     a member's GET /api/v1.0/rooms/<slug>/ with a real session cookie
  webhook  a signed LiveKit participant_joined POST /api/v1.0/rooms/webhooks-livekit/
           (the same one each time: after the first, a redelivery, recognised)
  webhook-new  fresh signed participant_joined events, each handled (usage statistics)
  hello    a bare Pyramid "ok" view on the same server setup (the ceiling)
  hello-post  the webhook's request (POST, headers, body) answered by a bare Pyramid view
  hello-ledger  the same, the bare view also checking the signature and asking Redis for
           the replay ledger's claim: the least work a redelivered webhook takes

It prints first the CPU per request of each workload (gunicorn workers + PostgreSQL
backends + redis-server, from /proc utime+stime, at 16 connections) as a multiple of
hello's, measured in the same run and server configuration, beside the targets, and the
worker RSS; then req/s, p50 and p99 at 16 and 64 connections and non-2xx answers; then
SQL statements and transactions (counted in the workers by SQLAlchemy engine events; by
pg_stat_statements too when PostgreSQL preloads it), Redis commands and Redis round trips
per request. `--runs N` repeats each measured run and reports medians (the figures of
record are medians of 3). A benchmark, not a test: it never fails on timing. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.servers and meet_web, whatever the cwd

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
DB_NAME = "meet_bench"
DB_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/14"
MEMBER_SUB = "bench-member"
OWNER_SUB = "bench-owner"
POOL_SIZE = 1000  # lobby identities: at ~1,500 req/s each polls every ~0.7 s, ~90 times a minute
POLL_PERIOD_S = 1.5  # a smaller pool when the server can't poll each guest this often
CLK_TCK = os.sysconf("SC_CLK_TCK")
WORKLOADS = ("knock", "join", "webhook", "webhook-new", "hello", "hello-post", "hello-ledger")
# Served by the bare Pyramid app (bench/hello.py), not by Meet Web: hello is the unit of
# the multiples; hello-post is the webhook's very request (POST, headers, body) read and
# answered by a bare view, what any app pays for it on this server before its own work;
# hello-ledger adds to that view the webhook's signature check and ledger claim.
BARE_WORKLOADS = ("hello", "hello-post", "hello-ledger")
HELLO_LEDGER_PATH = "/ledger/api/v1.0/rooms/webhooks-livekit/"  # bench/hello.py's
# webhook-new's pool of pre-signed events per run: more than the server can take.
EVENTS_PER_SECOND = 3000
EVENT_MEETINGS = 100  # the events spread over this many meetings of the seeded room
WRK_THREADS = 2

# The targets (sync workers, 16 connections): CPU per request (app workers + PostgreSQL
# backends + redis-server) as a multiple of the bare Pyramid "ok" (hello) measured in the
# same run and server configuration, and the app workers' RSS.
TARGET_VS_HELLO = {"knock": 3.4, "join": 5.9, "webhook": 1.6}
TARGET_RSS_MIB = 64
# Each gunicorn worker counts the requests it serves and (app workers) its SQL statements
# and transactions, with SQLAlchemy engine events as bench/inproc.py does, into its slot
# of a shared file. wrk counts only the answers it read, not the requests it leaves in
# flight when it stops, which the server still serves (up to one per connection);
# PostgreSQL's own counters (pg_stat_database) reach the view seconds late, and
# pg_stat_statements needs a preload.
COUNT_SLOTS = 256
COUNT_SLOT = struct.Struct("qqqq")  # requests, statements, commits, rollbacks
GUNICORN_HOOKS = f"""\
# gunicorn hooks of bench/run.py (written to its work directory, passed with --config).
# Each worker counts the requests it serves and, for an app with a database engine, its
# SQL statements, commits and rollbacks (SQLAlchemy engine events) into its slot (its
# gunicorn age) of the file BENCH_COUNTS, which run.py reads.
import gc
import mmap
import os
import struct
import threading

SLOTS = {COUNT_SLOTS}
SLOT = struct.Struct("qqqq")


def pre_fork(server, worker):
    if server.cfg.preload_app:  # as deploy/gunicorn.conf.py does
        gc.freeze()


def post_worker_init(worker):
    if not worker.cfg.preload_app:  # as deploy/gunicorn.conf.py does
        gc.collect()
        gc.freeze()
    path = os.environ.get("BENCH_COUNTS")
    if not path:
        return
    with open(path, "r+b") as counts_file:
        memory = mmap.mmap(counts_file.fileno(), SLOTS * SLOT.size)
    offset = (worker.age % SLOTS) * SLOT.size
    counts = [0, 0, 0, 0]
    lock = threading.Lock()  # gthread: the worker's threads share the counts

    def bump(index):
        with lock:
            counts[index] += 1
            SLOT.pack_into(memory, offset, *counts)

    app = worker.wsgi

    def counted(environ, start_response):
        bump(0)
        return app(environ, start_response)

    worker.wsgi = counted
    registry = getattr(app, "registry", None)
    engine = registry.get("dbengine") if registry is not None else None
    if engine is None:  # hello: no database
        return
    from sqlalchemy import event

    for index, name in ((1, "before_cursor_execute"), (2, "commit"), (3, "rollback")):
        event.listen(engine, name, lambda *args, index=index, **kwargs: bump(index))
"""
# After wrk stops: wait until the workers have served what it left in flight (no new
# request for DRAIN_QUIET_S), at most DRAIN_MAX_S.
DRAIN_QUIET_S = 0.1
DRAIN_MAX_S = 3.0

SERVER_CONFIGS = {
    "sync": ["--worker-class", "sync"],
    "gthread": ["--worker-class", "gthread", "--threads", "4"],
}


def say(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# /proc readings


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


def private_mib(pid: int) -> float | None:
    """The process's own memory (USS: private clean + dirty pages): what one more
    worker costs when the workers share the master's pages (--preload)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            kib = sum(
                int(line.split()[1])
                for line in rollup
                if line.startswith(("Private_Clean:", "Private_Dirty:"))
            )
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return kib / 1024


def write_calls(pid: int) -> int | None:
    """write() system calls of a process so far (syscw of /proc/<pid>/io), or None when it
    is gone or not ours to read. redis-server writes each client's pending replies in one
    call: one per round trip for replies as small as the app's."""
    try:
        with open(f"/proc/{pid}/io", encoding="ascii") as io:
            for line in io:
                if line.startswith("syscw:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def pids_named(name: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm", encoding="utf-8") as comm:
                if comm.read().strip() == name:
                    found.append(int(entry))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def children_of(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
        if ppid == parent:
            found.append(int(entry))
    return found


def machine_busy_seconds() -> float:
    """CPU time all cores spent not idle, machine-wide."""
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


# --------------------------------------------------------------------------------------
# The database, Redis and seed rows


def create_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    from alembic.config import Config

    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.attributes["url"] = DB_URL
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def drop_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


@dataclass
class Seed:
    room_id: str
    room_slug: str
    member_id: str


def seed_rows() -> Seed:
    """An owner, a member and a restricted room with both accesses, committed."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User

    engine = create_engine(DB_URL)
    try:
        with Session(engine) as session, session.begin():
            owner = User(sub=OWNER_SUB, email="owner@bench.example", full_name="Bench Owner")
            member = User(sub=MEMBER_SUB, email="member@bench.example", full_name="Bench Member")
            room = Room(name="Bench Room", slug="bench-room", access_level=AccessLevel.RESTRICTED)
            room.accesses.append(ResourceAccess(user=owner, role=Role.OWNER))
            room.accesses.append(ResourceAccess(user=member, role=Role.MEMBER))
            session.add_all([owner, member, room])
            session.flush()
            seed = Seed(room_id=str(room.id), room_slug=room.slug, member_id=str(member.id))
    finally:
        engine.dispose()
    return seed


def backend_pids(monitor, exclude: tuple[int, ...] = ()) -> list[int]:
    rows = monitor.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (DB_NAME,),
    ).fetchall()
    return [row[0] for row in rows if row[0] not in exclude]


class PgStatements:
    """SQL statements run in meet_bench, from pg_stat_statements: only when the server
    preloads it (shared_preload_libraries needs a restart, which the benchmark won't do).

    Counts the top-level statements of meet_bench less transaction control (BEGIN,
    COMMIT, ROLLBACK, as bench/inproc.py's engine event does), through its own connection
    to meet_bench (left out of the backends' CPU; its own query and transaction are taken
    off each delta).
    """

    QUERY = (
        "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements"
        " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND upper(btrim(query, ' ;')) NOT IN ('BEGIN', 'COMMIT', 'ROLLBACK')"
    )

    def __init__(self, monitor):
        preload = monitor.execute("SHOW shared_preload_libraries").fetchone()[0]
        libraries = [name.strip().strip('"') for name in preload.split(",")]
        self.conn = None
        self.available = False  # stays as it was once closed, for the report
        self.why_not = ""
        if "pg_stat_statements" not in libraries:
            self.why_not = (
                f"pg_stat_statements is not in PostgreSQL's shared_preload_libraries ({preload!r})"
            )
            return
        import psycopg

        try:
            self.conn = psycopg.connect(
                PG_ADMIN.replace("dbname=postgres", f"dbname={DB_NAME}"), autocommit=True
            )
            self.conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            query = self.QUERY
            if self.conn.info.server_version >= 140000:
                query += " AND toplevel"
            self.query = query
            self.count()
            self.available = True
        except psycopg.Error as error:
            self.why_not = f"pg_stat_statements unusable: {error}".strip()
            self.close()

    def pids(self) -> tuple[int, ...]:
        return (self.conn.info.backend_pid,) if self.conn is not None else ()

    def count(self) -> int | None:
        if self.conn is None:
            return None
        return int(self.conn.execute(self.query).fetchone()[0])

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()


# --------------------------------------------------------------------------------------
# gunicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """One gunicorn master on loopback; stopped by its pid (then its workers' pids)."""

    def __init__(
        self,
        module: str,
        config: str,
        workers: int,
        env: dict,
        log_dir: Path,
        hooks: Path | None = None,
        preload: bool = False,
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"gunicorn-{module.split(':')[0]}-{config}.log"
        self.command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--chdir",
            str(BENCH),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            *SERVER_CONFIGS[config],
            *(["--preload"] if preload else []),
            "--worker-tmp-dir",
            "/dev/shm",  # noqa: S108 - gunicorn's heartbeat files, as its docs advise
            "--log-level",
            "warning",
            *(["--config", str(hooks)] if hooks else []),
            module,
        ]
        self.env = {**os.environ, **env}
        self.workers = workers
        self.process: subprocess.Popen | None = None
        self.worker_pids: list[int] = []

    def start(self, ready_path: str) -> Gunicorn:
        import requests

        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        try:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        finally:
            log.close()
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_path.read_text()[-3000:]}")
            self.worker_pids = children_of(self.process.pid)
            try:
                ok = requests.get(self.url + ready_path, timeout=2).status_code == 200
            except requests.RequestException:
                ok = False
            if ok and len(self.worker_pids) == self.workers:
                return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn not ready:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def pids(self) -> list[int]:
        return [self.process.pid, *children_of(self.process.pid)]

    def failure(self, error: Exception) -> RuntimeError:
        """The error, with the end of the server's log (where its traceback is)."""
        log = self.log_path.read_text(errors="replace")[-4000:]
        return RuntimeError(f"{error}\n--- {self.log_path.name}, its end:\n{log}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        workers = children_of(process.pid)
        process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------------------
# wrk


@dataclass
class WrkResult:
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    wrk_cpu_s: float = 0.0

    @property
    def not_2xx(self) -> int:
        answered = sum(self.statuses.values())
        good = sum(n for code, n in self.statuses.items() if 200 <= code < 300)
        return answered - good + sum(self.socket_errors.values())


TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def parse_time_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()
    return float(number) * TIME_UNITS[unit]


def parse_wrk(output: str) -> WrkResult:
    result = WrkResult()
    if match := re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output):
        result.requests = int(match.group(1))
        result.seconds = parse_time_ms(match.group(2) + match.group(3)) / 1000
    if match := re.search(r"Requests/sec:\s+([\d.]+)", output):
        result.rps = float(match.group(1))
    for percent, attr in (("50", "p50_ms"), ("99", "p99_ms")):
        if match := re.search(rf"^\s+{percent}%\s+([\d.]+\w+)", output, re.MULTILINE):
            setattr(result, attr, parse_time_ms(match.group(1)))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        names = ("connect", "read", "write", "timeout")
        result.socket_errors = {
            n: int(v) for n, v in zip(names, match.groups(), strict=True) if int(v)
        }
    for code, count in re.findall(r"^@status (\d+) (\d+)$", output, re.MULTILINE):
        result.statuses[int(code)] = int(count)
    return result


def run_wrk(url: str, script: str, script_args: list[str], connections: int, seconds: float):
    command = [
        "wrk",
        "--threads",
        str(WRK_THREADS),
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "--script",
        str(BENCH / script),
        url,
        "--",
        *script_args,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr}")
    result = parse_wrk(completed.stdout)
    result.wrk_cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return result, completed.stdout


# --------------------------------------------------------------------------------------
# One measured run: wrk plus CPU of each component


@dataclass
class Measure:
    workload: str
    config: str
    connections: int
    wrk: WrkResult
    cpu_s: dict[str, float]
    cpu_ms_per_request: dict[str, float]
    other_load_pct: float  # machine CPU not used by the components, wrk or this script
    worker_rss_mib: list[float]
    workers_changed: bool
    worker_private_mib: list[float]
    livekit_calls: int  # knock: a guest whose waiting entry had expired knocked anew
    served: int | None = None  # requests the workers served (wrk's answers + in flight)
    pg_xacts_per_request: float = 0.0  # pg_stat_database: seconds late, see COUNT_SLOTS
    sql_statements_per_request: float | None = None  # the workers' engine events
    sql_transactions_per_request: float | None = None  # the same: commits + rollbacks
    pg_statements_per_request: float | None = None  # pg_stat_statements, when loaded
    redis_commands_per_request: float = 0.0  # all of redis-server's (other dbs too)
    redis_round_trips_per_request: float | None = None  # redis-server's write() calls
    redis_commands: dict[str, float] = field(default_factory=dict)  # per request, by name
    guests: int = 0  # knock: size of the pool of guests polling
    cpu_vs_hello: float | None = None  # total CPU per request / hello's (same config)
    runs: list[Measure] = field(default_factory=list)  # with --runs N > 1: each run


def read_counts(path: Path) -> tuple[int, ...]:
    """The workers' requests, SQL statements, commits and rollbacks so far (all slots)."""
    data = path.read_bytes()
    totals = [0] * len(COUNT_SLOT.format)
    for slot in range(COUNT_SLOTS):
        for i, n in enumerate(COUNT_SLOT.unpack_from(data, slot * COUNT_SLOT.size)):
            totals[i] += n
    return tuple(totals)


class Probe:
    """CPU readings of the app workers, PostgreSQL backends and redis-server, and the
    counters of PostgreSQL (transactions, statements) and Redis (commands, round trips)."""

    def __init__(
        self,
        server: Gunicorn,
        monitor,
        livekit,
        statements: PgStatements | None = None,
        counts: Path | None = None,
    ):
        import redis

        self.server, self.monitor, self.livekit = server, monitor, livekit
        self.statements = statements
        self.counts = counts
        self.exclude = statements.pids() if statements is not None else ()
        self.redis_pids = pids_named("redis-server")
        self.redis = redis.Redis.from_url(REDIS_URL)

    def snapshot(self) -> dict:
        app = {pid: cpu_seconds(pid) for pid in self.server.pids()}
        pg = {pid: cpu_seconds(pid) for pid in backend_pids(self.monitor, self.exclude)}
        redis = {pid: cpu_seconds(pid) for pid in self.redis_pids}
        own = resource.getrusage(resource.RUSAGE_SELF)
        # one INFO command for both sections (its own call is taken off each delta)
        info = self.redis.execute_command("INFO", "stats", "commandstats")
        writes = [write_calls(pid) for pid in self.redis_pids]
        return {
            "app": app,
            "postgres": pg,
            "redis": redis,
            "self": own.ru_utime + own.ru_stime,
            "busy": machine_busy_seconds(),
            "time": time.monotonic(),
            "livekit_calls": len(self.livekit.calls),
            "pg_xacts": self.monitor.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                (DB_NAME,),
            ).fetchone()[0],
            "pg_statements": self.statements.count() if self.statements else None,
            "counts": read_counts(self.counts) if self.counts else None,
            "redis_commands": info["total_commands_processed"],
            "redis_by_command": {
                key.removeprefix("cmdstat_"): int(value["calls"])
                for key, value in info.items()
                if key.startswith("cmdstat_")
            },
            "redis_writes": None if None in writes or not writes else sum(writes),
        }

    def drain(self) -> None:
        """Wait for the workers to serve the requests wrk left in flight."""
        if self.counts is None:
            time.sleep(DRAIN_QUIET_S)
            return
        deadline = time.monotonic() + DRAIN_MAX_S
        served = read_counts(self.counts)[0]
        while time.monotonic() < deadline:
            time.sleep(DRAIN_QUIET_S)
            now = read_counts(self.counts)[0]
            if now == served:
                return
            served = now

    @staticmethod
    def delta(before: dict[int, float | None], after: dict[int, float | None]) -> float:
        # A process that appeared during the run counts from zero (all its CPU is the run's).
        return sum(
            (cpu or 0.0) - (before.get(pid) or 0.0) for pid, cpu in after.items() if cpu is not None
        )


def measure(workload, config, connections, server, probe, script, script_args, seconds):
    """One wrk run and the deltas of the probe's readings over it, per request served.

    The requests are the workers' count (with the hooks), which also has the ones wrk
    left in flight, served after it stopped (probe.drain waits for them) and paid for in
    the CPU measured; wrk's answers otherwise. The caller drained any earlier load.
    """
    workers_before = sorted(children_of(server.process.pid))
    start = probe.snapshot()
    result, _output = run_wrk(server.url, script, script_args, connections, seconds)
    probe.drain()
    end = probe.snapshot()
    workers_after = sorted(children_of(server.process.pid))
    counted = None
    if start["counts"] is not None and end["counts"] is not None:
        counted = [b - a for a, b in zip(start["counts"], end["counts"], strict=True)]
    served = counted[0] if counted and counted[0] > 0 else None
    requests = served or max(1, result.requests)
    cpu = {name: Probe.delta(start[name], end[name]) for name in ("app", "postgres", "redis")}
    cpu["total"] = cpu["app"] + cpu["postgres"] + cpu["redis"]
    per_request = {name: seconds_ * 1000 / requests for name, seconds_ in cpu.items()}
    elapsed = end["time"] - start["time"]
    accounted = cpu["total"] + result.wrk_cpu_s + (end["self"] - start["self"])
    other = max(0.0, (end["busy"] - start["busy"]) - accounted)
    cores = os.cpu_count() or 1
    # The probe's own work is taken off: the start reading's INFO (counted by Redis after
    # it ran), the end reading's INFO reply (one write), and with pg_stat_statements the
    # start reading's query (one statement, one transaction).
    own_statement = 1 if start["pg_statements"] is not None else 0
    by_command = {
        name: (calls - start["redis_by_command"].get(name, 0) - (name == "info")) / requests
        for name, calls in end["redis_by_command"].items()
    }
    statements = None
    if start["pg_statements"] is not None and end["pg_statements"] is not None:
        statements = (end["pg_statements"] - start["pg_statements"] - 1) / requests
    sql_statements = sql_transactions = None
    if served:
        sql_statements = counted[1] / requests
        sql_transactions = (counted[2] + counted[3]) / requests
    round_trips = None
    if start["redis_writes"] is not None and end["redis_writes"] is not None:
        round_trips = (end["redis_writes"] - start["redis_writes"] - 1) / requests
    return Measure(
        workload=workload,
        config=config,
        connections=connections,
        wrk=result,
        cpu_s=cpu,
        cpu_ms_per_request=per_request,
        other_load_pct=100 * other / (elapsed * cores),
        worker_rss_mib=[r for r in (rss_mib(p) for p in workers_after) if r is not None],
        workers_changed=workers_before != workers_after,
        worker_private_mib=[r for r in map(private_mib, workers_after) if r is not None],
        livekit_calls=end["livekit_calls"] - start["livekit_calls"],
        served=served,
        pg_xacts_per_request=(end["pg_xacts"] - start["pg_xacts"] - own_statement) / requests,
        sql_statements_per_request=sql_statements,
        sql_transactions_per_request=sql_transactions,
        pg_statements_per_request=statements,
        redis_commands_per_request=(end["redis_commands"] - start["redis_commands"] - 1) / requests,
        redis_round_trips_per_request=round_trips,
        redis_commands={name: n for name, n in by_command.items() if n > 0},
    )


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def combine(runs: list[Measure]) -> Measure:
    """The medians of repeated runs of one workload at one concurrency: each figure's own
    median; answers by status, socket errors, LiveKit calls summed over the runs; the
    machine's other load the highest; RSS the last run's; each run kept in `runs`."""
    if len(runs) == 1:
        return runs[0]

    def med(get) -> float:
        return median([get(m) for m in runs])

    def med_or_none(get):
        values = [get(m) for m in runs]
        return None if None in values else median(values)

    statuses: dict[int, int] = {}
    socket_errors: dict[str, int] = {}
    for m in runs:
        for code, n in m.wrk.statuses.items():
            statuses[code] = statuses.get(code, 0) + n
        for name, n in m.wrk.socket_errors.items():
            socket_errors[name] = socket_errors.get(name, 0) + n
    wrk = WrkResult(
        requests=round(med(lambda m: m.wrk.requests)),
        seconds=med(lambda m: m.wrk.seconds),
        rps=med(lambda m: m.wrk.rps),
        p50_ms=med(lambda m: m.wrk.p50_ms),
        p99_ms=med(lambda m: m.wrk.p99_ms),
        statuses=statuses,
        socket_errors=socket_errors,
        wrk_cpu_s=med(lambda m: m.wrk.wrk_cpu_s),
    )
    first, last = runs[0], runs[-1]
    commands = {name for m in runs for name in m.redis_commands}
    return Measure(
        workload=first.workload,
        config=first.config,
        connections=first.connections,
        wrk=wrk,
        cpu_s={name: med(lambda m, n=name: m.cpu_s[n]) for name in first.cpu_s},
        cpu_ms_per_request={
            name: med(lambda m, n=name: m.cpu_ms_per_request[n])
            for name in first.cpu_ms_per_request
        },
        other_load_pct=max(m.other_load_pct for m in runs),
        worker_rss_mib=last.worker_rss_mib,
        workers_changed=any(m.workers_changed for m in runs),
        worker_private_mib=last.worker_private_mib,
        livekit_calls=sum(m.livekit_calls for m in runs),
        served=None if None in [m.served for m in runs] else round(med(lambda m: m.served)),
        pg_xacts_per_request=med(lambda m: m.pg_xacts_per_request),
        sql_statements_per_request=med_or_none(lambda m: m.sql_statements_per_request),
        sql_transactions_per_request=med_or_none(lambda m: m.sql_transactions_per_request),
        pg_statements_per_request=med_or_none(lambda m: m.pg_statements_per_request),
        redis_commands_per_request=med(lambda m: m.redis_commands_per_request),
        redis_round_trips_per_request=med_or_none(lambda m: m.redis_round_trips_per_request),
        redis_commands={
            name: med(lambda m, n=name: m.redis_commands.get(n, 0.0)) for name in sorted(commands)
        },
        guests=first.guests,
        runs=runs,
    )


# --------------------------------------------------------------------------------------
# The workloads


def app_settings(livekit, oidc, **overrides) -> dict:
    """The served app's settings: PostgreSQL, Redis db 14, the LiveKit fake, the dev
    provider, production-like template and cache settings."""
    return {
        "sqlalchemy.url": DB_URL,
        "app.base_url": "",  # links follow the Host header (each process has its port)
        "app.secure_cookies": "false",  # plain HTTP on loopback
        "session.secret": secrets.token_urlsafe(48),
        "livekit.url": livekit.url,
        "livekit.api_key": livekit.api_key,
        "livekit.api_secret": livekit.api_secret,
        "oidc.issuer": oidc.issuer,
        "oidc.client_id": oidc.client_id,
        "oidc.client_secret": oidc.client_secret,
        "oidc.scopes": "openid email profile",
        "cache.backend": "dogpile.cache.redis",
        "cache.arguments.url": REDIS_URL,
        "cache.arguments.distributed_lock": "true",
        "cache.arguments.thread_local_lock": "false",
        "cache.arguments.socket_timeout": "2",
        "pyramid.reload_templates": "false",
        "pyramid.default_locale_name": "en",
        **overrides,
    }


def sign_in(app_url: str, login: str) -> dict[str, str]:
    """The browser's cookies after a real OIDC sign-in through the served app and the
    dev provider."""
    import requests

    from tests.servers.oidc import complete_login

    with requests.Session() as http:
        start = http.get(
            app_url + "/api/v1.0/authenticate/",
            params={"returnTo": "/"},
            allow_redirects=False,
            timeout=10,
        )
        if start.status_code != 302:
            raise RuntimeError(f"authenticate answered {start.status_code}: {start.text[:500]}")
        done = http.get(
            complete_login(start.headers["Location"], login), allow_redirects=False, timeout=10
        )
        if done.status_code != 302:
            raise RuntimeError(f"OIDC callback answered {done.status_code}: {done.text[:500]}")
        cookies = {cookie.name: cookie.value for cookie in http.cookies}
    if not cookies.get("meet_session") or not cookies.get("csrftoken"):
        raise RuntimeError(f"sign-in of {login}: cookies {sorted(cookies)}")
    return cookies


def login_cookie(app_url: str, login: str) -> str:
    """A real session cookie: the OIDC flow through the served app and the dev provider."""
    return sign_in(app_url, login)["meet_session"]


def write_spec(path: Path, method: str, target: str, headers: dict, body: bytes = b"") -> Path:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    path.write_bytes(f"{method} {target}\r\n{head}\r\n".encode() + body)
    return path


class _NoMeetingYet:
    """LiveKit while guests are seeded: no meeting, so their first knock notifies nobody."""

    def room_exists(self, room: str) -> bool:
        return False


def prime_guests(settings: dict, room_id: str, identities: list[str]) -> None:
    """Every guest of the pool knocks once, through the app's own lobby service.

    A first knock notifies the meeting through LiveKit (two API calls, several ms each);
    the workload is the steady state after it: polls that renew a waiting entry. Seeding
    over HTTP would take longer than the 3 s waiting lifetime of the first entries.
    """
    from meet_web.services.ephemeral import make_store
    from meet_web.services.lobby import Lobby, LobbyConfig
    from meet_web.settings import load_settings

    typed = load_settings(settings, {})
    lobby = Lobby(make_store(typed), _NoMeetingYet(), LobbyConfig.from_settings(typed))
    room = uuid.UUID(room_id)
    for identity in identities:
        lobby.request_entry(room, identity, "Guest", may_skip=False)


class Workloads:
    """The wrk script and arguments of each workload; webhooks are signed just in time."""

    def __init__(self, seed: Seed, livekit, settings: dict, session_cookie: str, work_dir: Path):
        self.seed, self.livekit, self.settings = seed, livekit, settings
        self.cookie, self.dir = session_cookie, work_dir
        self.join_token: bool | None = None  # does the join answer carry a LiveKit token?
        self.knock_path = f"/api/v1.0/rooms/{seed.room_id}/request-entry/"
        self.join_path = f"/api/v1.0/rooms/{seed.room_slug}/"
        self.webhook_path = "/api/v1.0/rooms/webhooks-livekit/"
        self.events_per_run = 0  # webhook-new: set from the run's duration
        self.events_made = 0
        self.run_tag = uuid.uuid4().hex[:8]  # sids unique to this benchmark run

    def guest_cookie(self, identity: str) -> str:
        """The Cookie header of a guest's browser after its first knock."""
        settings = self.settings
        name = settings.get("lobby.cookie_name", "lobbyParticipantId")
        cookie = f"{name}={identity}"
        try:  # the identity cookie's HMAC key, when the app has one
            from meet_web.views.api.joining import KEY_COOKIE_SUFFIX, participant_key
        except ImportError:
            return cookie
        key = participant_key(settings["session.secret"], identity)
        return f"{cookie}; {name}{KEY_COOKIE_SUFFIX}={key}"

    def new_pool(self, size: int) -> Path:
        """Fresh guests (none has touched the rate limit yet), each knocked once already."""
        ids = [str(uuid.uuid4()) for _ in range(size)]
        prime_guests(self.settings, self.seed.room_id, ids)
        path = self.dir / f"guests-{uuid.uuid4().hex[:8]}.txt"
        path.write_text("".join(f"{self.guest_cookie(identity)}\n" for identity in ids))
        return path

    @staticmethod
    def advance_pool(pool: Path, requests: int, threads: int = WRK_THREADS) -> None:
        """Have the next run go on where this one stopped: knock.lua's wrk threads each
        cycle through their share of the pool (line n is thread n % threads's) from its
        first guest, so a new run would first poll the guests polled most recently, and
        the least recent ones up to two cycles (plus the pause between runs) after
        their last poll: past the 3 s waiting lifetime, with the pool sized for a 1.5 s
        cycle. Each share is rotated by the polls its thread sent (the run's requests,
        split evenly: close enough, each thread has the same connections)."""
        lines = pool.read_text().splitlines(keepends=True)
        shares = [lines[t::threads] for t in range(threads)]
        for t, share in enumerate(shares):
            if share:
                sent = requests // threads + (1 if t < requests % threads else 0)
                k = sent % len(share)
                shares[t] = share[k:] + share[:k]
        rotated = [shares[i % threads][i // threads] for i in range(len(lines))]
        pool.write_text("".join(rotated))

    def webhook_request(self) -> tuple[bytes, dict]:
        from tests.servers.livekit_fake import event, webhook_request

        return webhook_request(
            event("participant_joined", room=self.seed.room_id, identity=self.seed.member_id),
            api_key=self.livekit.api_key,
            api_secret=self.livekit.api_secret,
        )

    def fresh_event(self, meeting: int) -> tuple[bytes, str]:
        """A new participant_joined of one of the seeded room's meetings, as LiveKit
        writes and signs it (protobuf's JSON: int64 as strings)."""
        from meet_web.services import hs256

        self.events_made += 1
        n, now = self.events_made, int(time.time())
        body = json.dumps(
            {
                "event": "participant_joined",
                "id": f"EV_bench_{self.run_tag}_{n}",
                "createdAt": str(now),
                "room": {
                    "sid": f"RM_bench_{self.run_tag}_{meeting}",
                    "name": self.seed.room_id,
                    "creationTime": str(now),
                },
                "participant": {
                    "sid": f"PA_bench_{self.run_tag}_{n}",
                    "identity": f"guest-{n}",
                    "state": "ACTIVE",
                    "joinedAt": str(now),
                },
            },
            separators=(",", ":"),
        ).encode()
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        claims = {"iss": self.livekit.api_key, "nbf": now, "exp": now + 300, "sha256": digest}
        return body, hs256.encode(claims, self.livekit.api_secret)

    def fresh_events(self, count: int) -> Path:
        """`count` fresh events for events.lua, signed now (their JWTs live 5 minutes)."""
        path = self.dir / "events.txt"
        with path.open("wb") as pool:
            for i in range(count):
                body, authorization = self.fresh_event(i % EVENT_MEETINGS)
                pool.write(authorization.encode() + b"\t" + body + b"\n")
        return path

    def wrk_args(self, workload: str, pool: Path | None):
        if workload == "knock":
            return "knock.lua", [str(pool), self.knock_path, str(WRK_THREADS)]
        if workload == "webhook-new":
            events = self.fresh_events(self.events_per_run)
            return "events.lua", [str(events), self.webhook_path, str(WRK_THREADS)]
        if workload == "join":
            cookie = {"Cookie": f"meet_session={self.cookie}"}
            spec = write_spec(self.dir / "join.spec", "GET", self.join_path, cookie)
        elif workload in ("webhook", "hello-post", "hello-ledger"):
            body, headers = self.webhook_request()  # the JWT lives 5 minutes: sign now
            path = self.webhook_path if workload != "hello-ledger" else HELLO_LEDGER_PATH
            spec = write_spec(self.dir / f"{workload}.spec", "POST", path, headers, body)
        else:
            spec = write_spec(self.dir / "hello.spec", "GET", "/", {})
        return "fixed.lua", [str(spec)]

    def preflight(self, workload: str, url: str) -> None:
        """One request by hand: the workload must answer 2xx with what we expect."""
        import requests

        if workload == "knock":
            identity = str(uuid.uuid4())
            answer = requests.post(
                url + self.knock_path,
                json={"username": "Guest"},
                headers={"Cookie": self.guest_cookie(identity)},
                timeout=10,
            )
            # the app must take the guest's cookies as theirs, or every poll is a first knock
            expect = answer.ok and answer.json().get("status") == "waiting"
            expect = expect and answer.json().get("id") == identity
        elif workload == "join":
            answer = requests.get(
                url + self.join_path, cookies={"meet_session": self.cookie}, timeout=10
            )
            expect = answer.ok and answer.json().get("id") == self.seed.room_id
            if expect:
                livekit = answer.json().get("livekit") or {}
                self.join_token = bool(livekit.get("token"))
        elif workload == "webhook":
            body, headers = self.webhook_request()
            answer = requests.post(url + self.webhook_path, data=body, headers=headers, timeout=10)
            expect = answer.ok
        elif workload == "webhook-new":
            body, authorization = self.fresh_event(0)
            headers = {"Authorization": authorization, "Content-Type": "application/webhook+json"}
            answer = requests.post(url + self.webhook_path, data=body, headers=headers, timeout=10)
            expect = answer.ok
        elif workload in ("hello-post", "hello-ledger"):
            body, headers = self.webhook_request()
            path = self.webhook_path if workload == "hello-post" else HELLO_LEDGER_PATH
            answer = requests.post(url + path, data=body, headers=headers, timeout=10)
            expect = answer.ok and answer.json() == {"status": "success"}
        else:
            answer = requests.get(url + "/", timeout=10)
            expect = answer.ok and answer.text == "ok"
        if not expect:
            raise RuntimeError(
                f"{workload}: unexpected answer {answer.status_code}: {answer.text[:500]}"
            )


def knock_pool(server: Gunicorn, workloads: Workloads, args) -> tuple[Path, int]:
    """The pool of waiting guests: `--pool` of them, fewer if the server is too slow to
    have each poll within the 3 s waiting lifetime (then every poll would be a first knock,
    with its LiveKit notification, and not the polling the design measures)."""
    small = workloads.new_pool(100)
    script, script_args = workloads.wrk_args("knock", small)
    calibration, _ = run_wrk(server.url, script, script_args, 16, args.warmup)
    guests = args.pool
    affordable = int(calibration.rps * POLL_PERIOD_S)
    if affordable < guests:
        guests = max(100, affordable // 100 * 100)
        say(
            f"  NOTE: knock at {calibration.rps:.0f} req/s: {guests} guests instead of "
            f"{args.pool}, so each polls about every {POLL_PERIOD_S:g} s (waiting lifetime 3 s)"
        )
    return workloads.new_pool(guests), guests


def start_servers(config, workloads_to_run, ctx, args) -> dict[str, tuple[Gunicorn, Probe]]:
    """One gunicorn of this configuration for the app's workloads and one for the bare
    app's, both up at once: each workload's server and probe, by name."""
    app_workloads = [w for w in workloads_to_run if w not in BARE_WORKLOADS]
    bare_workloads = [w for w in workloads_to_run if w in BARE_WORKLOADS]
    groups = []
    if app_workloads:
        groups.append(("wsgi:application", "/api/v1.0/config/", app_workloads))
    if bare_workloads:
        groups.append(("hello:application", "/", bare_workloads))
    servers = {}
    for module, ready_path, names in groups:
        # each server its own counts file: gunicorn numbers its workers' ages from 1
        counts = ctx["dir"] / f"counts-{module.split(':')[0]}-{config}.bin"
        counts.write_bytes(bytes(COUNT_SLOTS * COUNT_SLOT.size))
        env = {**ctx["env"], "BENCH_COUNTS": str(counts)}
        server = Gunicorn(
            module, config, args.workers, env, ctx["dir"], ctx["hooks"], preload=args.preload
        )
        ctx["servers"].append(server)
        server.start(ready_path)
        if module.startswith("wsgi") and ctx["workloads"] is None:
            try:
                cookie = login_cookie(server.url, MEMBER_SUB)
            except RuntimeError as error:
                raise server.failure(error) from None
            ctx["workloads"] = Workloads(
                ctx["seed"], ctx["livekit"], ctx["settings"], cookie, ctx["dir"]
            )
        probe = Probe(server, ctx["monitor"], ctx["livekit"], ctx["statements"], counts)
        for name in names:
            servers[name] = (server, probe)
    if ctx["workloads"] is None:  # the bare app only: no sign-in needed
        ctx["workloads"] = Workloads(ctx["seed"], ctx["livekit"], ctx["settings"], "", ctx["dir"])
    return servers


def bench_server(config, workloads_to_run, ctx, args) -> list[Measure]:
    """Run each workload at each concurrency on one gunicorn configuration.

    The runs are interleaved: the first run of every workload, then the second of
    every workload, and so on, each after its own warm-up. This machine's speed drifts
    by a tenth or more over minutes, which a workload's runs taken together would
    catch and hello's, minutes later, would not: interleaved, every workload meets the
    same drift, and their multiples of hello hold.
    """
    servers = start_servers(config, workloads_to_run, ctx, args)
    workloads = ctx["workloads"]
    try:
        names = [w for w in workloads_to_run if w in servers]
        pool, guests = None, 0
        workloads.events_per_run = int((max(args.duration, args.warmup) + 1) * EVENTS_PER_SECOND)
        for name in names:
            server, _ = servers[name]
            try:
                workloads.preflight(name, server.url)
            except RuntimeError as error:
                raise server.failure(error) from None
            if name == "knock":
                pool, guests = knock_pool(server, workloads, args)
        runs: dict[tuple[str, int], list[Measure]] = {}
        for connections in args.connections:
            for run in range(args.runs):
                for name in names:
                    server, probe = servers[name]
                    # the knock's guests waited meanwhile: the warm-up's first polls
                    # knock anew, and the measured ones renew waiting entries again
                    script, script_args = workloads.wrk_args(name, pool)  # webhooks: signed now
                    warmup, _ = run_wrk(server.url, script, script_args, 16, args.warmup)
                    probe.drain()
                    if name == "knock":
                        workloads.advance_pool(pool, warmup.requests)
                    script, script_args = workloads.wrk_args(name, pool)
                    of = f", run {run + 1} of {args.runs}" if args.runs > 1 else ""
                    say(
                        f"  {config:8} {name:11} {connections:3} connections, "
                        f"{args.duration:g} s{of}"
                    )
                    m = measure(
                        name,
                        config,
                        connections,
                        server,
                        probe,
                        script,
                        script_args,
                        args.duration,
                    )
                    m.guests = guests if name == "knock" else 0
                    if name == "knock":
                        workloads.advance_pool(pool, m.wrk.requests)
                    warn_about(m, workloads)
                    runs.setdefault((name, connections), []).append(m)
        return [combine(runs[(name, c)]) for c in args.connections for name in names]
    finally:
        for server, _ in dict.fromkeys(servers.values()):
            server.stop()


def warn_about(m: Measure, workloads: Workloads) -> None:
    if m.livekit_calls:
        say(
            f"  WARNING: {m.livekit_calls} LiveKit calls: some guests' waiting entries "
            "expired (pool not cycled within 3 s) and knocked anew"
        )
    if m.workload == "webhook-new" and m.wrk.requests > workloads.events_per_run:
        say(
            f"  WARNING: {m.wrk.requests} events sent from a pool of "
            f"{workloads.events_per_run}: some were redeliveries"
        )
    if m.wrk.not_2xx:
        say(
            f"  WARNING: {m.wrk.not_2xx} answers were not 2xx: "
            f"statuses {m.wrk.statuses}, socket errors {m.wrk.socket_errors}"
        )


# --------------------------------------------------------------------------------------
# The report


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


def fmt(value: float | None, width: int, digits: int = 2) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def add_multiples(results: list[Measure], base_c: int) -> None:
    """Each measure's total CPU per request as a multiple of hello's in the same server
    configuration at the same concurrency (None without hello)."""
    hello = {
        (m.config, m.connections): m.cpu_ms_per_request["total"]
        for m in results
        if m.workload == "hello"
    }
    for m in results:
        floor = hello.get((m.config, m.connections))
        m.cpu_vs_hello = m.cpu_ms_per_request["total"] / floor if floor else None


def report_header(args, statements: PgStatements | None) -> list[str]:
    runs = (
        f"medians of {args.runs} runs of {args.duration:g} s"
        if args.runs > 1
        else f"one run of {args.duration:g} s each (the figures of record: --runs 3, medians)"
    )
    base_c = args.connections[0]
    lines = [
        f"Meet Web load benchmark: {runs}; CPU per request = app workers + PostgreSQL "
        f"backends + redis-server (/proc utime+stime), targets at {base_c} connections.",
    ]
    outside = (
        "pg_stat_statements counts them from outside too (its column: top-level "
        "statements less BEGIN/COMMIT/ROLLBACK)"
        if statements is not None and statements.available
        else "not counted from outside: "
        + (statements.why_not if statements is not None else "pg_stat_statements not checked")
    )
    lines.append(
        "SQL statements and transactions (commits + rollbacks) per request: counted in the "
        "app workers by SQLAlchemy engine events (a gunicorn post_worker_init hook), as "
        f"bench/inproc.py counts them in process; {outside}; pg_stat_database's transaction "
        "counters reach the view seconds late, so they are not used."
    )
    return lines


def report(
    results: list[Measure], args, notes: list[str], statements: PgStatements | None = None
) -> str:
    base_c = args.connections[0]
    add_multiples(results, base_c)
    lines = report_header(args, statements)
    by_key = {(m.config, m.workload, m.connections): m for m in results}
    configs = list(dict.fromkeys(m.config for m in results))
    for config in configs:
        workloads = [w for w in WORKLOADS if (config, w, base_c) in by_key]
        hello = by_key.get((config, "hello", base_c))
        lines.append("")
        flags = " ".join(SERVER_CONFIGS[config])
        lines.append(f"== gunicorn {config}, {args.workers} workers ({flags}) ==")

        # 1. CPU per request as a multiple of hello, beside the targets; worker RSS.
        lines.append(f"CPU per request as a multiple of hello ({base_c} connections), and in ms")
        more_c = args.connections[1:]
        conc_heads = "".join(f"{f'total@{c}':>10}" for c in more_c)
        spread_head = f"{'spread':>8}" if args.runs > 1 else ""
        lines.append(
            f"  {'workload':12}{'x hello':>8}{'target':>9}  {'':4}{'total ms':>9}{'app':>8}"
            f"{'postgres':>10}{'redis':>8}{conc_heads}{spread_head}{'other load':>12}"
        )
        for w in workloads:
            m = by_key[(config, w, base_c)]
            cpu = m.cpu_ms_per_request
            target = TARGET_VS_HELLO.get(w)
            ratio = m.cpu_vs_hello
            target_text = f"<= {target}" if target else "-"
            mark = verdict(ratio <= target) if (target and ratio is not None) else ""
            totals = "".join(
                fmt(by_key[(config, w, c)].cpu_ms_per_request["total"], 10, 3)
                if (config, w, c) in by_key
                else f"{'-':>10}"
                for c in more_c
            )
            spread = ""
            if args.runs > 1:
                values = [r.cpu_ms_per_request["total"] for r in m.runs] or [cpu["total"]]
                spread = f"{100 * (max(values) - min(values)) / max(cpu['total'], 1e-9):>7.0f}%"
            other = max(
                by_key[(config, w, c)].other_load_pct
                for c in args.connections
                if (config, w, c) in by_key
            )
            lines.append(
                f"  {w:12}{fmt(ratio, 8)}{target_text:>9}  {mark:4}{cpu['total']:>9.3f}"
                f"{cpu['app']:>8.3f}{cpu['postgres']:>10.3f}{cpu['redis']:>8.3f}{totals}"
                f"{spread}{other:>11.0f}%"
            )
        if hello is None:
            lines.append("  (no hello in this run: run with hello for the multiples)")
        app_rss = [
            r
            for m in results
            if m.config == config and m.workload not in BARE_WORKLOADS
            for r in m.worker_rss_mib
        ]
        hello_rss = [
            r
            for m in results
            if m.config == config and m.workload in BARE_WORKLOADS
            for r in m.worker_rss_mib
        ]
        if app_rss or hello_rss:
            parts = []
            if app_rss:
                app_max = max(app_rss)
                parts.append(
                    f"app max {app_max:.0f} MiB (target <= {TARGET_RSS_MIB} MiB: "
                    f"{verdict(app_max <= TARGET_RSS_MIB)})"
                )
            if hello_rss:
                parts.append(f"hello {max(hello_rss):.0f} MiB")
            lines.append("Worker RSS: " + ", ".join(parts))
        app_private = [
            r
            for m in results
            if m.config == config and m.workload not in BARE_WORKLOADS
            for r in m.worker_private_mib
        ]
        if app_private:
            lines.append(
                f"Worker private memory (USS): app max {max(app_private):.0f} MiB"
                + (" (--preload)" if args.preload else " (without --preload)")
            )

        # 2. Throughput and latency (information: no target).
        lines.append("Throughput and latency")
        heads = "".join(
            f"{f'req/s@{c}':>10}{f'p50@{c}':>9}{f'p99@{c}':>9}" for c in args.connections
        )
        lines.append(f"  {'workload':12}{heads}{'non-2xx':>9}{'vs hello':>10}")
        for w in workloads:
            cells = ""
            bad = 0
            for c in args.connections:
                m = by_key.get((config, w, c))
                if m is None:
                    cells += f"{'-':>10}{'-':>9}{'-':>9}"
                    continue
                bad += m.wrk.not_2xx
                cells += f"{m.wrk.rps:>10.0f}{m.wrk.p50_ms:>7.1f}ms{m.wrk.p99_ms:>7.1f}ms"
            rps = by_key[(config, w, base_c)].wrk.rps
            share = (
                f"{100 * rps / hello.wrk.rps:>9.0f}%" if hello and hello.wrk.rps else f"{'-':>10}"
            )
            lines.append(f"  {w:12}{cells}{bad:>9}{share}")
        knock = by_key.get((config, "knock", base_c))
        if knock:
            lines.append(
                f"knock: {knock.guests} guests waiting, each polling about every "
                f"{knock.guests / max(knock.wrk.rps, 1):.1f} s at {base_c} connections"
            )
        if knock and hello and hello.wrk.rps:
            lines.append(
                f"knock / hello throughput at {base_c} connections: "
                f"{100 * knock.wrk.rps / hello.wrk.rps:.0f} % (information, no target)"
            )

        # 3. What each request asks of PostgreSQL and Redis.
        lines.append(
            f"Per request ({base_c} connections): PostgreSQL and Redis (redis: the whole "
            "server, all dbs)"
        )
        pgss = statements is not None and statements.available
        pgss_head = f"{'pg_stat_stmts':>14}" if pgss else ""
        lines.append(
            f"  {'workload':12}{'sql stmts':>10}{'sql tx':>8}{pgss_head}{'redis cmds':>12}"
            f"{'redis rt':>10}  redis commands by name"
        )
        for w in workloads:
            m = by_key[(config, w, base_c)]
            mix = sorted(m.redis_commands.items(), key=lambda item: (-item[1], item[0]))
            mix_text = ", ".join(f"{name} {n:.2f}" for name, n in mix[:8] if n >= 0.005)
            pgss_cell = fmt(m.pg_statements_per_request, 14) if pgss else ""
            lines.append(
                f"  {w:12}{fmt(m.sql_statements_per_request, 10)}"
                f"{fmt(m.sql_transactions_per_request, 8)}{pgss_cell}"
                f"{m.redis_commands_per_request:>12.2f}"
                f"{fmt(m.redis_round_trips_per_request, 10)}  {mix_text}"
            )
        lines.append(
            "  redis cmds: INFO total_commands_processed; a script counts as 1 + each "
            "redis.call, a MULTI/EXEC pipeline as its commands + 2."
        )
        lines.append(
            "  redis rt: round trips, estimated as redis-server's write() calls "
            "(/proc/<pid>/io syscw: one per batch of replies)."
        )
        if any(m.workers_changed for m in results if m.config == config):
            lines.append("WARNING: a worker was replaced during a run; its CPU is partly lost")
    if notes:
        lines.append("")
        lines.extend(notes)
    noisy = [m for m in results if m.other_load_pct > 10]
    if noisy:
        lines.append("")
        lines.append(
            "NOTE: other processes used more than 10 % of the machine during "
            f"{len(noisy)} run(s) (e.g. a test suite): req/s and latency are disturbed; "
            "CPU per request is measured per process and holds up better (Redis counts "
            "are the whole server's: another client of it adds to them)."
        )
    for m in results:
        if m.workload == "knock" and m.livekit_calls:
            lines.append(
                f"NOTE: {m.config} knock @{m.connections}: {m.livekit_calls} LiveKit calls, "
                "i.e. some guests' entries expired between polls (server slower than "
                f"{m.guests / 3:.0f} req/s): those knocks were first knocks, with notification"
            )
    bad = [m for m in results if m.wrk.not_2xx]
    if bad:
        lines.append("")
        for m in bad:
            lines.append(
                f"WARNING: {m.config} {m.workload} @{m.connections}: {m.wrk.not_2xx} answers "
                f"not 2xx (statuses {m.wrk.statuses}, socket errors {m.wrk.socket_errors})"
            )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s runs, 1 s warm-up (smoke)")
    parser.add_argument("--duration", type=float, help="seconds per measured run (10)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per workload (2)")
    parser.add_argument(
        "--connections", default="16,64", help="wrk connections, comma-separated (16,64)"
    )
    parser.add_argument(
        "--config",
        default="sync,gthread",
        help=f"gunicorn configurations, comma-separated, of {', '.join(SERVER_CONFIGS)}",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--preload",
        action="store_true",
        help="gunicorn --preload: the app imported once in the master, its pages shared",
    )
    parser.add_argument(
        "--pool", type=int, default=POOL_SIZE, help=f"knocking guests (lobby ids, {POOL_SIZE})"
    )
    parser.add_argument(
        "--only", default=",".join(WORKLOADS), help="workloads, comma-separated (all)"
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="repeat each measured run, report medians (1)"
    )
    parser.add_argument("--json", type=Path, help="also write the measures to this file")
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB_NAME} after the run")
    args = parser.parse_args(argv)
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.warmup = args.warmup or (1.0 if args.quick else 2.0)
    args.connections = [int(c) for c in args.connections.split(",")]
    args.config = [c.strip() for c in args.config.split(",") if c.strip()]
    args.only = [w.strip() for w in args.only.split(",") if w.strip()]
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    for name in args.config:
        if name not in SERVER_CONFIGS:
            parser.error(f"unknown configuration {name!r}")
    for name in args.only:
        if name not in WORKLOADS:
            parser.error(f"unknown workload {name!r}")
    return args


def check_tools() -> None:
    missing = []
    if shutil.which("wrk") is None:
        missing.append("wrk (apt-get install -y wrk)")
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        missing.append(f"gunicorn ({sys.executable} -m pip install gunicorn)")
    if missing:
        raise SystemExit("bench/run.py needs: " + "; ".join(missing))


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    check_tools()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    import psycopg

    from tests.servers.livekit_fake import FakeLiveKit
    from tests.servers.oidc import OidcProvider

    started = time.monotonic()
    ctx: dict = {"servers": [], "workloads": None}
    results: list[Measure] = []
    with contextlib.ExitStack() as stack:
        work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="meet-bench-")))
        ctx["dir"] = work_dir
        stack.callback(lambda: [server.stop() for server in ctx["servers"]])
        say(f"database {DB_NAME} (fresh), Redis db 14 (flushed)")
        create_database()
        if not args.keep_db:
            stack.callback(drop_database)
        flush_redis()
        stack.callback(flush_redis)
        livekit = stack.enter_context(FakeLiveKit())
        oidc = stack.enter_context(OidcProvider(log_dir=work_dir))
        ctx["livekit"] = livekit
        ctx["seed"] = seed_rows()
        livekit.add_room(ctx["seed"].room_id)  # a meeting in progress: knocks notify it
        # The pool's guests all knock from 127.0.0.1 at one room: the per-address and
        # per-room lobby limits (0 turns each off) would refuse most of them.
        settings = app_settings(
            livekit, oidc, **{"lobby.max_waiting_per_room": "0", "lobby.address_rate_limit": "0"}
        )
        settings_path = work_dir / "settings.json"
        settings_path.write_text(json.dumps(settings))
        hooks = work_dir / "gunicorn_hooks.py"
        hooks.write_text(GUNICORN_HOOKS)
        ctx["hooks"] = hooks
        ctx["env"] = {"BENCH_SETTINGS_FILE": str(settings_path)}
        ctx["settings"] = settings
        ctx["monitor"] = stack.enter_context(psycopg.connect(PG_ADMIN, autocommit=True))
        ctx["statements"] = PgStatements(ctx["monitor"])
        stack.callback(ctx["statements"].close)  # before drop_database, which runs later
        for config in args.config:
            results.extend(bench_server(config, args.only, ctx, args))
    notes = []
    workloads = ctx["workloads"]
    if workloads is not None and workloads.join_token is not None:
        notes.append(
            "join: the answer carries a LiveKit token (minted per request)"
            if workloads.join_token
            else "join: the answer carries no LiveKit token (no token minting measured)"
        )
    print(report(results, args, notes, ctx.get("statements")))
    print(f"\n(wall time {time.monotonic() - started:.0f} s; machine: {os.cpu_count()} cores)")
    if args.json:
        args.json.write_text(json.dumps([asdict(m) for m in results], indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted; everything it started is stopped")
        sys.exit(130)

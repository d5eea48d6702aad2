"""Load benchmark of the meeting-joining endpoints (design.md, "Performance targets").

Serves the app as in production (gunicorn, 2 sync workers, then 2 gthread workers) on a
fresh PostgreSQL database and Redis db 14, with the loopback LiveKit fake and the
development OIDC provider from tests/servers, and drives it with wrk:

  knock    anonymous guests polling POST /api/v1.0/rooms/<id>/request-entry/ (restricted room)
  join     a member's GET /api/v1.0/rooms/<slug>/ with a real session cookie
  webhook  a signed LiveKit participant_joined POST /api/v1.0/rooms/webhooks-livekit/
  hello    a bare Pyramid "ok" view on the same server setup (the ceiling)

It prints CPU per request per component first (gunicorn workers, PostgreSQL backends,
redis-server, from /proc utime+stime), then req/s, p50 and p99 at 16 and 64 connections,
non-2xx answers and worker RSS, beside the design's targets. A benchmark, not a test: it
never fails on timing. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
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
WORKLOADS = ("knock", "join", "webhook", "hello")

# The design's targets (wrk, 16 connections, 2 sync workers).
TARGET_RPS = {"knock": 1200, "join": 750, "webhook": 3000}
TARGET_CPU_MS = {"knock": 1.5, "join": 2.5, "webhook": 0.6}
TARGET_RSS_MIB = 80
TARGET_KNOCK_VS_HELLO = 0.5

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


def backend_pids(monitor) -> list[int]:
    rows = monitor.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (DB_NAME,),
    ).fetchall()
    return [row[0] for row in rows]


# --------------------------------------------------------------------------------------
# gunicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """One gunicorn master on loopback; stopped by its pid (then its workers' pids)."""

    def __init__(self, module: str, config: str, workers: int, env: dict, log_dir: Path):
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
            "--worker-tmp-dir",
            "/dev/shm",  # noqa: S108 - gunicorn's heartbeat files, as its docs advise
            "--log-level",
            "warning",
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
        "2",
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
    livekit_calls: int  # knock: a guest whose waiting entry had expired knocked anew
    pg_xacts_per_request: float = 0.0  # PostgreSQL transactions (commits + rollbacks)
    redis_commands_per_request: float = 0.0  # all of redis-server's (other dbs too)
    guests: int = 0  # knock: size of the pool of guests polling


class Probe:
    """CPU readings of the app workers, PostgreSQL backends and redis-server."""

    def __init__(self, server: Gunicorn, monitor, livekit):
        import redis

        self.server, self.monitor, self.livekit = server, monitor, livekit
        self.redis_pids = pids_named("redis-server")
        self.redis = redis.Redis.from_url(REDIS_URL)

    def snapshot(self) -> dict:
        app = {pid: cpu_seconds(pid) for pid in self.server.pids()}
        pg = {pid: cpu_seconds(pid) for pid in backend_pids(self.monitor)}
        redis = {pid: cpu_seconds(pid) for pid in self.redis_pids}
        own = resource.getrusage(resource.RUSAGE_SELF)
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
            "redis_commands": self.redis.info("stats")["total_commands_processed"],
        }

    @staticmethod
    def delta(before: dict[int, float | None], after: dict[int, float | None]) -> float:
        # A process that appeared during the run counts from zero (all its CPU is the run's).
        return sum(
            (cpu or 0.0) - (before.get(pid) or 0.0) for pid, cpu in after.items() if cpu is not None
        )


def measure(workload, config, connections, server, probe, script, script_args, seconds):
    workers_before = sorted(children_of(server.process.pid))
    start = probe.snapshot()
    result, _output = run_wrk(server.url, script, script_args, connections, seconds)
    end = probe.snapshot()
    workers_after = sorted(children_of(server.process.pid))
    cpu = {name: Probe.delta(start[name], end[name]) for name in ("app", "postgres", "redis")}
    cpu["total"] = cpu["app"] + cpu["postgres"] + cpu["redis"]
    requests = max(1, result.requests)
    per_request = {name: seconds_ * 1000 / requests for name, seconds_ in cpu.items()}
    elapsed = end["time"] - start["time"]
    accounted = cpu["total"] + result.wrk_cpu_s + (end["self"] - start["self"])
    other = max(0.0, (end["busy"] - start["busy"]) - accounted)
    cores = os.cpu_count() or 1
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
        livekit_calls=end["livekit_calls"] - start["livekit_calls"],
        pg_xacts_per_request=(end["pg_xacts"] - start["pg_xacts"]) / requests,
        # less the two commands of each snapshot (INFO; the monitor's own are not counted)
        redis_commands_per_request=(end["redis_commands"] - start["redis_commands"] - 1) / requests,
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

    def webhook_request(self) -> tuple[bytes, dict]:
        from tests.servers.livekit_fake import event, webhook_request

        return webhook_request(
            event("participant_joined", room=self.seed.room_id, identity=self.seed.member_id),
            api_key=self.livekit.api_key,
            api_secret=self.livekit.api_secret,
        )

    def wrk_args(self, workload: str, pool: Path | None):
        if workload == "knock":
            return "knock.lua", [str(pool), self.knock_path, "2"]
        if workload == "join":
            cookie = {"Cookie": f"meet_session={self.cookie}"}
            spec = write_spec(self.dir / "join.spec", "GET", self.join_path, cookie)
        elif workload == "webhook":
            body, headers = self.webhook_request()  # the JWT lives 5 minutes: sign now
            spec = write_spec(self.dir / "webhook.spec", "POST", self.webhook_path, headers, body)
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


def bench_server(config, workloads_to_run, ctx, args) -> list[Measure]:
    """Start one gunicorn configuration and run each of its workloads at each concurrency."""
    results = []
    app_workloads = [w for w in workloads_to_run if w != "hello"]
    groups = []
    if app_workloads:
        groups.append(("wsgi:application", "/api/v1.0/config/", app_workloads))
    if "hello" in workloads_to_run:
        groups.append(("hello:application", "/", ["hello"]))
    for module, ready_path, names in groups:
        server = Gunicorn(module, config, args.workers, ctx["env"], ctx["dir"])
        ctx["servers"].append(server)
        try:
            server.start(ready_path)
            if module.startswith("wsgi") and ctx["workloads"] is None:
                cookie = login_cookie(server.url, MEMBER_SUB)
                ctx["workloads"] = Workloads(
                    ctx["seed"], ctx["livekit"], ctx["settings"], cookie, ctx["dir"]
                )
            workloads = ctx["workloads"]
            probe = Probe(server, ctx["monitor"], ctx["livekit"])
            pool, guests = None, 0
            for name in names:
                if workloads is None:  # hello only: nothing else needed
                    workloads = Workloads(
                        ctx["seed"], ctx["livekit"], ctx["settings"], "", ctx["dir"]
                    )
                workloads.preflight(name, server.url)
                if name == "knock":
                    pool, guests = knock_pool(server, workloads, args)
                script, script_args = workloads.wrk_args(name, pool)
                run_wrk(server.url, script, script_args, 16, args.warmup)
                for connections in args.connections:
                    script, script_args = workloads.wrk_args(name, pool)
                    say(f"  {config:8} {name:8} {connections:3} connections, {args.duration:g} s")
                    m = measure(
                        name, config, connections, server, probe, script, script_args, args.duration
                    )
                    m.guests = guests if name == "knock" else 0
                    results.append(m)
                    if m.livekit_calls:
                        say(
                            f"  WARNING: {m.livekit_calls} LiveKit calls: some guests' waiting "
                            "entries expired (pool not cycled within 3 s) and knocked anew"
                        )
                    if m.wrk.not_2xx:
                        say(
                            f"  WARNING: {m.wrk.not_2xx} answers were not 2xx: "
                            f"statuses {m.wrk.statuses}, socket errors {m.wrk.socket_errors}"
                        )
        finally:
            server.stop()
    return results


# --------------------------------------------------------------------------------------
# The report


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


def report(results: list[Measure], args, notes: list[str]) -> str:
    lines = []
    by_key = {(m.config, m.workload, m.connections): m for m in results}
    configs = list(dict.fromkeys(m.config for m in results))
    base_c = args.connections[0]
    for config in configs:
        workloads = [w for w in WORKLOADS if (config, w, base_c) in by_key]
        lines.append("")
        lines.append(f"== gunicorn {config}, {args.workers} workers ({SERVER_CONFIGS[config]}) ==")
        lines.append(f"CPU per request, ms ({base_c} connections; total at each concurrency)")
        conc_heads = "".join(f"{f'total@{c}':>10}" for c in args.connections)
        lines.append(
            f"  {'workload':9}{'app':>8}{'postgres':>10}{'redis':>8}{conc_heads}"
            f"{'target':>9}  {'':4}{'pg tx/req':>10}{'redis cmd/req':>14}{'other load':>12}"
        )
        for w in workloads:
            m = by_key[(config, w, base_c)]
            cpu = m.cpu_ms_per_request
            totals = "".join(
                f"{by_key[(config, w, c)].cpu_ms_per_request['total']:>10.3f}"
                if (config, w, c) in by_key
                else f"{'-':>10}"
                for c in args.connections
            )
            target = TARGET_CPU_MS.get(w)
            target_text = f"<= {target}" if target else "-"
            mark = verdict(cpu["total"] <= target) if target else ""
            other = max(
                by_key[(config, w, c)].other_load_pct
                for c in args.connections
                if (config, w, c) in by_key
            )
            lines.append(
                f"  {w:9}{cpu['app']:>8.3f}{cpu['postgres']:>10.3f}{cpu['redis']:>8.3f}{totals}"
                f"{target_text:>9}  {mark:4}{m.pg_xacts_per_request:>10.1f}"
                f"{m.redis_commands_per_request:>14.1f}{other:>11.0f}%"
            )
        lines.append("Throughput and latency")
        heads = "".join(
            f"{f'req/s@{c}':>10}{f'p50@{c}':>9}{f'p99@{c}':>9}" for c in args.connections
        )
        lines.append(f"  {'workload':9}{heads}{'non-2xx':>9}{'target':>11}")
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
            target = TARGET_RPS.get(w)
            rps = by_key[(config, w, base_c)].wrk.rps
            target_text = f">= {target}" if target else "-"
            mark = verdict(rps >= target) if target else ""
            lines.append(f"  {w:9}{cells}{bad:>9}{target_text:>11}  {mark}")
        rss = [r for m in results if m.config == config for r in m.worker_rss_mib]
        app_rss = [
            r
            for m in results
            if m.config == config and m.workload != "hello"
            for r in m.worker_rss_mib
        ]
        hello_rss = [
            r
            for m in results
            if m.config == config and m.workload == "hello"
            for r in m.worker_rss_mib
        ]
        if rss:
            app_max = max(app_rss) if app_rss else 0
            lines.append(
                f"Worker RSS: app max {app_max:.0f} MiB (target <= {TARGET_RSS_MIB}: "
                f"{verdict(app_max <= TARGET_RSS_MIB)})"
                + (f", hello {max(hello_rss):.0f} MiB" if hello_rss else "")
            )
        knock, hello = by_key.get((config, "knock", base_c)), by_key.get((config, "hello", base_c))
        if knock:
            lines.append(
                f"knock: {knock.guests} guests waiting, each polling about every "
                f"{knock.guests / max(knock.wrk.rps, 1):.1f} s at {base_c} connections"
            )
        if knock and hello and hello.wrk.rps:
            ratio = knock.wrk.rps / hello.wrk.rps
            lines.append(
                f"knock / hello at {base_c} connections: {100 * ratio:.0f} % "
                f"(target >= {100 * TARGET_KNOCK_VS_HELLO:.0f} %: "
                f"{verdict(ratio >= TARGET_KNOCK_VS_HELLO)})"
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
            "CPU per request is measured per process and holds up better."
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
        "--pool", type=int, default=POOL_SIZE, help=f"knocking guests (lobby ids, {POOL_SIZE})"
    )
    parser.add_argument(
        "--only", default=",".join(WORKLOADS), help="workloads, comma-separated (all)"
    )
    parser.add_argument("--json", type=Path, help="also write the measures to this file")
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB_NAME} after the run")
    args = parser.parse_args(argv)
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.warmup = args.warmup or (1.0 if args.quick else 2.0)
    args.connections = [int(c) for c in args.connections.split(",")]
    args.config = [c.strip() for c in args.config.split(",") if c.strip()]
    args.only = [w.strip() for w in args.only.split(",") if w.strip()]
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
        settings = app_settings(livekit, oidc)
        settings_path = work_dir / "settings.json"
        settings_path.write_text(json.dumps(settings))
        ctx["env"] = {"BENCH_SETTINGS_FILE": str(settings_path)}
        ctx["settings"] = settings
        ctx["monitor"] = stack.enter_context(psycopg.connect(PG_ADMIN, autocommit=True))
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
    print(report(results, args, notes))
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

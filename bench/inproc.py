"""In-process cost of the hot paths: CPU per request, SQL statements and Redis commands.

Calls the WSGI application directly (no server, no network client), so the figures are
the application's own: the same knock, join and webhook as `run.py`, on a fresh
`meet_inproc` database and Redis db 13, beside the bare Pyramid "ok" of `hello.py`.
Quicker than `run.py` (about 20 s) and steadier, for trying a change; `run.py` remains
the measure of record. `--profile knock` also prints where the knock's time goes
(cProfile, sorted by own time).

    .venv/bin/python bench/inproc.py [--requests 3000] [--profile knock|join|webhook]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import run as bench  # noqa: E402 - bench/run.py, beside this file

# Its own database and Redis db, so that it may run beside run.py.
bench.DB_NAME = "meet_inproc"
bench.DB_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{bench.DB_NAME}"
bench.REDIS_URL = "redis://127.0.0.1:6379/13"

SORT = "tottime"


def environ_for(method: str, path: str, headers: dict, body: bytes = b"") -> dict:
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "6543",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:6543",
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ[key] = value
        else:
            environ["HTTP_" + key] = value
    environ["meet_bench.body"] = body
    return environ


def call(app, template: dict) -> tuple[str, bytes]:
    environ = dict(template)
    environ["wsgi.input"] = io.BytesIO(template["meet_bench.body"])
    status = []

    def start_response(s, headers, exc_info=None):
        status.append(s)

    body = b"".join(app(environ, start_response))
    return status[0], body


class Counters:
    """SQL statements (an engine event) and Redis commands (INFO) during a run."""

    def __init__(self, engine, redis_client):
        from sqlalchemy import event

        self.sql = 0
        self.redis = redis_client

        @event.listens_for(engine, "before_cursor_execute")
        def _count(*args):
            self.sql += 1

    def redis_commands(self) -> int:
        return int(self.redis.info("stats")["total_commands_processed"])


WARM_UP = 50


def measure(app, environs: list[dict], counters: Counters | None, profile: bool = False):
    """The first WARM_UP requests warm caches, pools and first-request work; the others
    are measured (a workload's list holds WARM_UP more than it measures)."""
    for template in environs[:WARM_UP]:
        call(app, template)
    environs = environs[WARM_UP:]
    sql, commands = (counters.sql, counters.redis_commands()) if counters else (0, 0)
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not waits
    if profiler:
        profiler.enable()
    started = time.process_time()
    statuses: dict[str, int] = {}
    for template in environs:
        status, _ = call(app, template)
        statuses[status] = statuses.get(status, 0) + 1
    cpu = time.process_time() - started
    if profiler:
        profiler.disable()
    n = len(environs)
    result = {"cpu_us": cpu / n * 1e6, "statuses": statuses}
    if counters:
        result["sql"] = (counters.sql - sql) / n
        result["redis"] = (counters.redis_commands() - commands - 1) / n
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(SORT).print_stats(45)
        result["profile"] = out.getvalue()
    return result


def fresh_participant_events(workloads, n: int) -> list[tuple[bytes, dict]]:
    """`n` signed participant_joined events of one meeting, each a new participant: what
    LiveKit sends as people join (each is handled, and records its presence), where the
    `webhook` workload replays one event (recognised, not handled twice)."""
    from livekit import api

    from tests.servers.livekit_fake import event, webhook_request

    room = api.Room(
        name=str(workloads.seed.room_id), sid="RM_bench", creation_time=int(time.time())
    )
    livekit = workloads.livekit
    return [
        webhook_request(
            event(
                "participant_joined",
                room=room,
                participant=api.ParticipantInfo(
                    identity=f"guest-{i}", sid=f"PA_bench{i}", joined_at=int(time.time())
                ),
            ),
            api_key=livekit.api_key,
            api_secret=livekit.api_secret,
        )
        for i in range(n)
    ]


def main(argv=None) -> int:
    import logging

    logging.basicConfig(level=logging.WARNING)  # a failing request shows its traceback
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument(
        "--profile", choices=("knock", "join", "webhook", "webhook-new", "lbheartbeat")
    )
    parser.add_argument(
        "--only", default="hello,hello-post,lbheartbeat,knock,join,webhook,webhook-new"
    )
    parser.add_argument("--sort", default="tottime", help="cProfile order (tottime, cumulative)")
    args = parser.parse_args(argv)
    global SORT
    SORT = args.sort

    import redis
    import webtest

    from meet_web import main as make_app
    from tests.servers.livekit_fake import FakeLiveKit
    from tests.servers.oidc import OidcProvider, complete_login

    sys.path.insert(0, str(BENCH))
    import hello

    with contextlib.ExitStack() as stack:
        work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="meet-prof-")))
        bench.create_database()
        stack.callback(bench.drop_database)
        bench.flush_redis()
        stack.callback(bench.flush_redis)
        livekit = stack.enter_context(FakeLiveKit())
        oidc = stack.enter_context(OidcProvider(log_dir=work_dir))
        seed = bench.seed_rows()
        livekit.add_room(seed.room_id)
        settings = bench.app_settings(
            livekit,
            oidc,
            **{
                "lobby.max_waiting_per_room": "0",
                "lobby.address_rate_limit": "0",
                # every measured poll renews a waiting entry, however slow the run
                "lobby.waiting_timeout": "600",
                "lobby.rate_limit": "100000",
            },
        )
        app = make_app({}, **settings)
        client = webtest.TestApp(app)
        start = client.get("/api/v1.0/authenticate/", params={"returnTo": "/"}, status=302)
        done = client.get(complete_login(start.location, bench.MEMBER_SUB), status=302)
        assert done.status_int == 302
        session_cookie = client.cookies["meet_session"]
        workloads = bench.Workloads(seed, livekit, settings, session_cookie, work_dir)

        # As a served worker does after loading the app (deploy/gunicorn.conf.py): its
        # startup objects are never walked by a collection again.
        gc.collect()
        gc.freeze()
        redis_client = redis.Redis.from_url(bench.REDIS_URL)
        counters = Counters(app.registry["dbengine"], redis_client)
        n = args.requests + WARM_UP
        environs: dict[str, list[dict]] = {}
        guests = [str(uuid.uuid4()) for _ in range(500)]
        bench.prime_guests(settings, seed.room_id, guests)
        knock_body = json.dumps({"username": "Guest"}).encode()
        environs["knock"] = [
            environ_for(
                "POST",
                workloads.knock_path,
                {"Content-Type": "application/json", "Cookie": workloads.guest_cookie(g)},
                knock_body,
            )
            for g in (guests * (n // len(guests) + 1))[:n]
        ]
        environs["join"] = [
            environ_for("GET", workloads.join_path, {"Cookie": f"meet_session={session_cookie}"})
        ] * n
        body, headers = workloads.webhook_request()
        environs["webhook"] = [environ_for("POST", workloads.webhook_path, headers, body)] * n
        environs["webhook-new"] = [
            environ_for("POST", workloads.webhook_path, headers, body)
            for body, headers in fresh_participant_events(workloads, n)
        ]
        environs["hello"] = [environ_for("GET", "/", {})] * n
        # The webhook's request answered by the bare app: what the request itself costs.
        environs["hello-post"] = environs["webhook"]
        # The app's own floor: its tweens, routing and renderer around a view doing nothing.
        environs["lbheartbeat"] = [environ_for("GET", "/__lbheartbeat__", {})] * n

        results = {}
        for name in args.only.split(","):
            bare = name in bench.BARE_WORKLOADS
            results[name] = measure(
                hello.application if bare else app,
                environs[name],
                None if bare else counters,
                profile=args.profile == name,
            )
        floor = results.get("hello", {}).get("cpu_us")
        each = f"{args.requests} requests each"
        print(f"In process, {each} (CPU per request; SQL and Redis per request)")
        for name, r in results.items():
            ratio = f"{r['cpu_us'] / floor:5.1f} x hello" if floor else ""
            counts = f"sql {r['sql']:.2f}  redis {r['redis']:.2f}" if "sql" in r else ""
            print(f"  {name:11} {r['cpu_us']:8.1f} us  {ratio}  {counts}  {r['statuses']}")
        for r in results.values():
            if "profile" in r:
                print(r["profile"])
        redis_client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

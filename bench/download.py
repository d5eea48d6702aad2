"""Download benchmark: a recording streamed through the app (`GET /recordings/<id>/media`,
meet_web/recording/streaming.py) from moto's S3 server, whole and in ranges.

Serves the app as bench/run.py does (gunicorn, sync workers, PostgreSQL `meet_bench`,
Redis db 14, the LiveKit fake, the development OIDC provider) with recordings on, and
moto's S3 server in its own process. It puts one random object of each size (5 MB and
50 MB by default) in the bucket, checks one whole download of each against its SHA-256,
then for each size and concurrency runs, for `--duration` seconds:

  full   GET of the whole object (200)
  range  GETs of 1 MiB at random offsets (206), as a player seeking

Clients are threads of this process reading each body into one buffer (nothing kept).
It reports MB/s, requests/s, p50 and p99 time to the last byte, CPU per MB of the app
workers, of the S3 server and of the client, and each worker's peak RSS during the run
(VmHWM, reset before each run): the stream holds one 64 KiB chunk at a time, so the peak
must not grow with the object's size. A benchmark, not a test. See bench/README.md,
"Downloads".
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import random
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import run as bench  # bench/run.py: this file's directory is sys.path[0]

from tests.servers.s3 import ACCESS_KEY, SECRET_KEY  # moto takes any key

BUCKET = "meet-bench-recordings"
REGION = "us-east-1"
MB = 1_000_000
MIB = 1024 * 1024
READ_BUFFER = MIB
RANGE_BYTES = MIB
WORKLOADS = ("full", "range")


def say(*parts) -> None:
    bench.say(*parts)


# --------------------------------------------------------------------------------------
# moto's S3 server, in its own process (its CPU apart from the client's)


class MotoServer:
    def __init__(self, log_dir: Path):
        self.port = bench.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / "moto.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> MotoServer:
        import requests

        moto = Path(sys.executable).with_name("moto_server")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"},
            )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited:\n{self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/moto-api/", timeout=2).status_code < 500:
                    return self
            if time.monotonic() > deadline:
                raise RuntimeError("moto_server did not answer in 30 s")
            time.sleep(0.1)

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# --------------------------------------------------------------------------------------
# The recordings


@dataclass
class StoredRecording:
    size_mb: int
    size: int
    path: str  # the app's stream of it
    sha256: str


def seed_recordings(owner_id: str, room_id: str, sizes_mb: list[int]) -> dict[int, str]:
    """A saved screen recording per size, owned by `owner_id`, committed: size -> id."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from meet_web.models import (
        Recording,
        RecordingAccess,
        RecordingMode,
        RecordingStatus,
        Role,
    )

    engine = create_engine(bench.DB_URL)
    ids = {}
    try:
        with Session(engine) as session, session.begin():
            for size_mb in sizes_mb:
                recording = Recording(
                    room_id=uuid.UUID(room_id),
                    mode=RecordingMode.SCREEN_RECORDING,
                    status=RecordingStatus.SAVED,
                )
                recording.accesses.append(
                    RecordingAccess(user_id=uuid.UUID(owner_id), role=Role.OWNER)
                )
                session.add(recording)
                session.flush()
                ids[size_mb] = str(recording.id)
    finally:
        engine.dispose()
    return ids


def upload(moto: MotoServer, key: str, size: int) -> str:
    """A random object of `size` bytes at `key`; its SHA-256."""
    data = secrets.token_bytes(size)
    client = moto.client()
    try:
        client.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType="video/mp4")
    finally:
        client.close()
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------
# The client


@dataclass
class Download:
    status: int
    received: int
    seconds: float
    expected: int = 0  # the bytes asked for


def download(port: int, path: str, cookie: str, byte_range: str | None, buffer) -> Download:
    """One GET on a new connection (sync workers close each), its body read and dropped."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Cookie": f"meet_session={cookie}"}
        if byte_range:
            headers["Range"] = byte_range
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        received = 0
        while count := response.readinto(buffer):
            received += count
        return Download(response.status, received, time.perf_counter() - started)
    finally:
        conn.close()


def checked_digest(port: int, path: str, cookie: str) -> tuple[int, str]:
    """One whole download, hashed: the stream must give the object's bytes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Cookie": f"meet_session={cookie}"})
        response = conn.getresponse()
        digest = hashlib.sha256()
        while chunk := response.read(READ_BUFFER):
            digest.update(chunk)
        return response.status, digest.hexdigest()
    finally:
        conn.close()


def random_range(size: int, rng: random.Random) -> tuple[str, int]:
    """A Range header for RANGE_BYTES at a random offset, and the bytes it selects."""
    first = rng.randrange(0, max(1, size - RANGE_BYTES))
    last = min(first + RANGE_BYTES, size) - 1
    return f"bytes={first}-{last}", last - first + 1


def drive(port, recording, cookie, workload, connections, seconds) -> list[Download]:
    """`connections` client threads, each downloading until the deadline."""
    deadline = time.monotonic() + seconds
    results: list[Download] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        buffer = memoryview(bytearray(READ_BUFFER))
        rng = random.Random(seed)
        mine = []
        while time.monotonic() < deadline:
            asked, expected = None, recording.size
            if workload == "range":
                asked, expected = random_range(recording.size, rng)
            done = download(port, recording.path, cookie, asked, buffer)
            done.expected = expected
            mine.append(done)
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --------------------------------------------------------------------------------------
# Worker memory


def reset_peak(pid: int) -> bool:
    """Start the process's peak RSS (VmHWM) again from its current RSS (Linux ≥ 4.0)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def peak_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


# --------------------------------------------------------------------------------------
# One measured run


@dataclass
class Measure:
    size_mb: int
    workload: str
    connections: int
    requests: int
    statuses: dict[int, int]
    megabytes: float
    seconds: float
    mb_per_s: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_mb: dict[str, float]
    worker_rss_mib: list[float]
    worker_peak_mib: list[float]
    peak_reset: bool
    other_load_pct: float
    short_bodies: int = 0  # answers with fewer bytes than asked
    runs: list[Measure] = field(default_factory=list)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def process_busy_seconds() -> float:
    """CPU time all cores spent in processes (user, nice, system), machine-wide: unlike
    bench.machine_busy_seconds, without interrupts, where loopback's receive work of
    hundreds of MB/s is counted and no process is charged."""
    with open("/proc/stat", encoding="ascii") as stat:
        user, nice, system = (int(v) for v in stat.readline().split()[1:4])
    return (user + nice + system) / bench.CLK_TCK


def cpu_of(pids: list[int]) -> dict[int, float | None]:
    return {pid: bench.cpu_seconds(pid) for pid in pids}


def measure(server, moto, monitor, recording, cookie, workload, connections, seconds) -> Measure:
    """One run: CPU of the app (gunicorn), the S3 server, the client (this process) and
    the database and cache (the PostgreSQL backends of meet_bench, redis-server)."""
    workers = bench.children_of(server.process.pid)
    reset = all([reset_peak(pid) for pid in workers])
    redis_pids = bench.pids_named("redis-server")
    app_before = cpu_of(server.pids())
    moto_before = bench.cpu_seconds(moto.process.pid) or 0.0
    stores_before = cpu_of(bench.backend_pids(monitor) + redis_pids)
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    busy_before = process_busy_seconds()
    started = time.monotonic()
    results = drive(server.port, recording, cookie, workload, connections, seconds)
    elapsed = time.monotonic() - started
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    busy = process_busy_seconds() - busy_before
    app_cpu = bench.Probe.delta(app_before, cpu_of(server.pids()))
    moto_cpu = (bench.cpu_seconds(moto.process.pid) or 0.0) - moto_before
    stores_cpu = bench.Probe.delta(stores_before, cpu_of(bench.backend_pids(monitor) + redis_pids))
    own_cpu = (own_after.ru_utime + own_after.ru_stime) - (
        own_before.ru_utime + own_before.ru_stime
    )
    other = max(0.0, busy - app_cpu - moto_cpu - stores_cpu - own_cpu)
    received = sum(r.received for r in results)
    megabytes = received / MB
    statuses: dict[int, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    per_mb = max(megabytes, 1e-9)
    return Measure(
        size_mb=recording.size_mb,
        workload=workload,
        connections=connections,
        requests=len(results),
        statuses=statuses,
        megabytes=megabytes,
        seconds=elapsed,
        mb_per_s=megabytes / elapsed,
        requests_per_s=len(results) / elapsed,
        p50_ms=percentile([r.seconds for r in results], 0.50) * 1000,
        p99_ms=percentile([r.seconds for r in results], 0.99) * 1000,
        cpu_ms_per_mb={
            "app": app_cpu * 1000 / per_mb,
            "s3": moto_cpu * 1000 / per_mb,
            "client": own_cpu * 1000 / per_mb,
            "pg_redis": stores_cpu * 1000 / per_mb,
        },
        worker_rss_mib=[r for r in map(bench.rss_mib, workers) if r is not None],
        worker_peak_mib=[p for p in map(peak_mib, workers) if p is not None],
        peak_reset=reset,
        other_load_pct=100 * other / (elapsed * (os.cpu_count() or 1)),
        short_bodies=sum(1 for r in results if r.received != r.expected),
    )


def combine(runs: list[Measure]) -> Measure:
    """Medians of repeated runs; statuses and short bodies summed; peaks the highest."""
    if len(runs) == 1:
        return runs[0]

    def med(get):
        return bench.median([get(m) for m in runs])

    first = runs[0]
    statuses: dict[int, int] = {}
    for m in runs:
        for code, n in m.statuses.items():
            statuses[code] = statuses.get(code, 0) + n
    return Measure(
        size_mb=first.size_mb,
        workload=first.workload,
        connections=first.connections,
        requests=round(med(lambda m: m.requests)),
        statuses=statuses,
        megabytes=med(lambda m: m.megabytes),
        seconds=med(lambda m: m.seconds),
        mb_per_s=med(lambda m: m.mb_per_s),
        requests_per_s=med(lambda m: m.requests_per_s),
        p50_ms=med(lambda m: m.p50_ms),
        p99_ms=med(lambda m: m.p99_ms),
        cpu_ms_per_mb={k: med(lambda m, k=k: m.cpu_ms_per_mb[k]) for k in first.cpu_ms_per_mb},
        worker_rss_mib=runs[-1].worker_rss_mib,
        worker_peak_mib=[
            max(values) for values in zip(*(m.worker_peak_mib for m in runs), strict=False)
        ],
        peak_reset=all(m.peak_reset for m in runs),
        other_load_pct=max(m.other_load_pct for m in runs),
        short_bodies=sum(m.short_bodies for m in runs),
        runs=runs,
    )


# --------------------------------------------------------------------------------------
# The report


def report(results: list[Measure], args, baseline: list[float], notes: list[str]) -> str:
    runs = "one run" if args.runs == 1 else f"medians of {args.runs} runs"
    lines = [
        "Downloads: GET /recordings/<id>/media through the app "
        f"(gunicorn, {args.workers} sync workers; moto's S3 server in its own process; "
        f"{args.duration:g} s per run, {runs})",
        "",
        f"{'object':>7} {'request':<12} {'conns':>5} {'requests':>8} {'MB/s':>8} {'req/s':>7} "
        f"{'p50 ms':>8} {'p99 ms':>8}   {'CPU ms per MB: app':>18} {'S3':>6} {'PG+Redis':>8}"
        f" {'client':>6}"
        f"   {'worker peak RSS MiB':>19}  other load",
    ]
    for m in results:
        request = "whole" if m.workload == "full" else f"{RANGE_BYTES // MIB} MiB range"
        peaks = "/".join(f"{p:.1f}" for p in m.worker_peak_mib) or "-"
        lines.append(
            f"{m.size_mb:>4} MB {request:<12} {m.connections:>5} {m.requests:>8} "
            f"{m.mb_per_s:>8.1f} {m.requests_per_s:>7.1f} {m.p50_ms:>8.1f} {m.p99_ms:>8.1f}   "
            f"{m.cpu_ms_per_mb['app']:>18.2f} {m.cpu_ms_per_mb['s3']:>6.2f} "
            f"{m.cpu_ms_per_mb['pg_redis']:>8.2f} "
            f"{m.cpu_ms_per_mb['client']:>6.2f}   {peaks:>19}  {m.other_load_pct:>5.0f} %"
        )
    lines.append("")
    lines.append(
        "Worker RSS after the warm-up (1 s of ranges of the smallest object): "
        + ", ".join(f"{r:.1f}" for r in baseline)
        + " MiB"
    )
    by_size: dict[int, float] = {}
    for m in results:
        if m.worker_peak_mib:
            by_size[m.size_mb] = max(by_size.get(m.size_mb, 0.0), max(m.worker_peak_mib))
    if len(by_size) > 1:
        sizes = sorted(by_size)
        smallest, largest = sizes[0], sizes[-1]
        lines.append(
            f"Highest worker peak RSS: {smallest} MB object {by_size[smallest]:.1f} MiB, "
            f"{largest} MB object {by_size[largest]:.1f} MiB "
            f"({by_size[largest] - by_size[smallest]:+.1f} MiB for "
            f"{largest / smallest:g} times the size)"
        )
    if not all(m.peak_reset for m in results):
        lines.append(
            "NOTE: the workers' peak RSS could not be reset (/proc/<pid>/clear_refs): each "
            "peak is the highest since the worker started"
        )
    for m in results:
        bad = {code: n for code, n in m.statuses.items() if code not in (200, 206)}
        if bad or m.short_bodies:
            lines.append(
                f"WARNING: {m.size_mb} MB {m.workload} at {m.connections}: answers {m.statuses}, "
                f"{m.short_bodies} shorter than asked"
            )
    lines.extend(notes)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5,50", help="object sizes in MB (5,50)")
    parser.add_argument("--only", default="full,range", help="workloads (full,range)")
    parser.add_argument("--connections", default="1,2", help="client connections (1,2)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run (10)")
    parser.add_argument("--runs", type=int, default=1, help="repeat each run, medians (1)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--json", type=Path, help="also write the measures to this file")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.only = [w.strip() for w in args.only.split(",") if w.strip()]
    args.connections = [int(c) for c in args.connections.split(",") if c.strip()]
    for name in args.only:
        if name not in WORKLOADS:
            parser.error(f"unknown workload {name!r}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def check_tools() -> None:
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        raise SystemExit(
            f"bench/download.py needs gunicorn ({sys.executable} -m pip install gunicorn)"
        ) from None
    if not Path(sys.executable).with_name("moto_server").exists():
        raise SystemExit("bench/download.py needs moto's server (pip install 'moto[server]')")


def main(argv=None) -> int:
    args = parse_args(argv)
    check_tools()
    signal.signal(signal.SIGTERM, bench._stop_on_sigterm)
    import psycopg

    from tests.servers.livekit_fake import FakeLiveKit
    from tests.servers.oidc import OidcProvider

    started = time.monotonic()
    results: list[Measure] = []
    notes: list[str] = []
    with contextlib.ExitStack() as stack:
        work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="meet-dl-")))
        say(f"database {bench.DB_NAME} (fresh), Redis db 14 (flushed)")
        bench.create_database()
        stack.callback(bench.drop_database)
        bench.flush_redis()
        stack.callback(bench.flush_redis)
        moto = MotoServer(work_dir).start()
        stack.callback(moto.stop)
        livekit = stack.enter_context(FakeLiveKit())
        oidc = stack.enter_context(OidcProvider(log_dir=work_dir))
        seed = bench.seed_rows()
        member_id = seed.member_id
        ids = seed_recordings(member_id, seed.room_id, args.sizes)
        client = moto.client()
        try:
            client.create_bucket(Bucket=BUCKET)
        finally:
            client.close()
        recordings = {}
        for size_mb, recording_id in ids.items():
            say(f"putting a {size_mb} MB object in the bucket")
            key = f"recordings/{recording_id}.mp4"
            digest = upload(moto, key, size_mb * MB)
            recordings[size_mb] = StoredRecording(
                size_mb, size_mb * MB, f"/recordings/{recording_id}/media", digest
            )
        settings = bench.app_settings(
            livekit,
            oidc,
            **{
                "recording.enabled": "true",
                "s3.endpoint_url": moto.url,
                "s3.bucket": BUCKET,
                "s3.access_key_id": ACCESS_KEY,
                "s3.secret_access_key": SECRET_KEY,
                "s3.region": REGION,
            },
        )
        settings_path = work_dir / "settings.json"
        settings_path.write_text(json.dumps(settings))
        env = {"BENCH_SETTINGS_FILE": str(settings_path)}
        server = bench.Gunicorn("wsgi:application", "sync", args.workers, env, work_dir)
        stack.callback(server.stop)
        server.start("/api/v1.0/config/")
        monitor = stack.enter_context(psycopg.connect(bench.PG_ADMIN, autocommit=True))
        try:
            cookie = bench.login_cookie(server.url, bench.MEMBER_SUB)
        except RuntimeError as error:
            raise server.failure(error) from None
        for recording in recordings.values():
            status, digest = checked_digest(server.port, recording.path, cookie)
            if status != 200 or digest != recording.sha256:
                raise server.failure(
                    RuntimeError(f"{recording.size_mb} MB: status {status}, wrong bytes")
                )
        notes.append(
            "Each whole download was checked once against the object's SHA-256 before the runs."
        )
        # every worker has served ranges (and imported boto3) before anything is measured
        smallest = recordings[min(args.sizes)]
        drive(server.port, smallest, cookie, "range", args.workers * 2, 1.0)
        baseline = [r for r in map(bench.rss_mib, bench.children_of(server.process.pid)) if r]
        for size_mb in args.sizes:
            for workload in args.only:
                for connections in args.connections:
                    runs = []
                    for run in range(args.runs):
                        of = f", run {run + 1} of {args.runs}" if args.runs > 1 else ""
                        say(
                            f"  {size_mb:>3} MB {workload:6} {connections} connections, "
                            f"{args.duration:g} s{of}"
                        )
                        runs.append(
                            measure(
                                server,
                                moto,
                                monitor,
                                recordings[size_mb],
                                cookie,
                                workload,
                                connections,
                                args.duration,
                            )
                        )
                    results.append(combine(runs))
    print(report(results, args, baseline, notes))
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

"""What the libraries the project is built on cost a process before any of its code runs.

Each line is a fresh interpreter that imports the libraries of the lines above it and of
its own, then reads its resident memory (VmRSS). An app worker holds at least the last
line but one; what it holds beyond that is Meet Web's own modules and what they load.

    .venv/bin/python bench/imports.py
"""

from __future__ import annotations

import subprocess
import sys

STEPS = [
    ("the interpreter", []),
    ("setuptools' pkg_resources (pyramid.path, .asset, .static import it)", ["pkg_resources"]),
    ("Pyramid", ["pyramid.config", "pyramid.router", "webob"]),
    ("SQLAlchemy's ORM", ["sqlalchemy.orm"]),
    ("psycopg (PostgreSQL)", ["psycopg", "sqlalchemy.dialects.postgresql.psycopg"]),
    (
        "pyramid_tm, pyramid_retry, zope.sqlalchemy",
        ["pyramid_tm", "pyramid_retry", "zope.sqlalchemy"],
    ),
    ("redis (hiredis) + dogpile.cache", ["redis", "dogpile.cache", "dogpile.cache.backends.redis"]),
    ("pyramid_jinja2", ["pyramid_jinja2"]),
    ("livekit-api (protobuf, aiohttp)", ["livekit.api"]),
    ("Meet Web's modules", ["meet_web"]),
]

MEASURE = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
with open("/proc/self/status", encoding="ascii") as status:
    for line in status:
        if line.startswith("VmRSS:"):
            print(int(line.split()[1]) / 1024)
"""


def rss_after(modules: list[str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *modules], check=True, capture_output=True, text=True
    )
    return float(out.stdout)


def main() -> None:
    modules: list[str] = []
    last = 0.0
    print(f"{'RSS MiB':>8} {'added':>6}  imported")
    for label, names in STEPS:
        modules += names
        rss = min(rss_after(modules) for _ in range(3))
        print(f"{rss:8.1f} {rss - last:+6.1f}  {label}")
        last = rss


if __name__ == "__main__":
    main()

"""The files' maintenance commands, to run from cron:

`meet-web-clean-pending-files <ini> [--hours 24]` removes uploads never finished: files
still pending (or analyzing, after an upload-ended that was cut short) for that long.

`meet-web-purge-deleted-files <ini>` removes hard-deleted files, and files soft-deleted
more than `files.purge_grace_days` (7) days ago.

Each removes a file's objects from the bucket, then its row; a file whose objects the
store would not remove keeps its row for the next run, and the command exits with 1.
"""

from __future__ import annotations

import argparse
import sys

from ..db import utcnow
from ..files import FilesConfig, FileStorage
from ..files.maintenance import Outcome, clean_pending, purge_deleted
from . import ScriptError, application_env, fail

CLEAN_PROG = "meet-web-clean-pending-files"
PURGE_PROG = "meet-web-purge-deleted-files"


def report(outcome: Outcome, what: str) -> int:
    print(f"{outcome.removed} {what} file(s) removed, {outcome.failed} kept for the next run")
    return 1 if outcome.failed else 0


def positive_hours(value: str) -> float:
    try:
        hours = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of hours: {value!r}") from None
    if not hours > 0:
        raise argparse.ArgumentTypeError("must be more than 0 hours")
    return hours


def clean_pending_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=CLEAN_PROG, description="Remove the files whose upload was never finished."
    )
    parser.add_argument("config_uri", metavar="ini", help="the configuration file")
    parser.add_argument(
        "--hours",
        type=positive_hours,
        default=24.0,
        help="pending for longer than this many hours (default 24)",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with application_env(args.config_uri) as env:
            registry = env["registry"]
            storage = registry["meet_services"][FileStorage]
            outcome = clean_pending(registry["dbsession_factory"], storage, utcnow(), args.hours)
    except ScriptError as exc:
        return fail(CLEAN_PROG, str(exc))
    return report(outcome, "pending")


def purge_deleted_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PURGE_PROG,
        description="Remove hard-deleted files and those soft-deleted long enough ago.",
    )
    parser.add_argument("config_uri", metavar="ini", help="the configuration file")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with application_env(args.config_uri) as env:
            registry = env["registry"]
            services = registry["meet_services"]
            grace_days = services[FilesConfig].purge_grace_days
            outcome = purge_deleted(
                registry["dbsession_factory"], services[FileStorage], utcnow(), grace_days
            )
    except ScriptError as exc:
        return fail(PURGE_PROG, str(exc))
    return report(outcome, "deleted")

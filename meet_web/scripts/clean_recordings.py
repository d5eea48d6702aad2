"""`meet-web-clean-recordings <ini> [--dry-run]`: remove expired recordings (object, then
row) and the stray objects of recordings already deleted, for object stores without a
lifecycle rule; run it daily from cron or a systemd timer (README: "Recordings
storage"). What could not be deleted is logged and tried again on the next run; the
exit status is then 1.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from ..recording import RecordingConfig, RecordingStorage
from ..recording.maintenance import (
    DEFAULT_LIMIT,
    DEFAULT_SAFETY_MARGIN,
    Outcome,
    RecordingMaintenance,
)
from . import ScriptError, application_env, fail

PROG = "meet-web-clean-recordings"


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def seconds(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Delete expired recordings and the objects of deleted recordings.",
    )
    parser.add_argument("config_uri", metavar="ini", help="the configuration file")
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be deleted, delete nothing"
    )
    parser.add_argument(
        "--limit",
        type=positive_int,
        default=DEFAULT_LIMIT,
        help=f"at most this many recordings, and stray objects, per run ({DEFAULT_LIMIT})",
    )
    parser.add_argument(
        "--safety-margin",
        type=seconds,
        default=int(DEFAULT_SAFETY_MARGIN.total_seconds()),
        metavar="SECONDS",
        help="leave objects younger than this alone"
        f" ({int(DEFAULT_SAFETY_MARGIN.total_seconds())})",
    )
    return parser.parse_args(sys.argv[1:] if argv is None else argv)


def report(what: str, outcome: Outcome, dry_run: bool) -> list[str]:
    if dry_run:
        lines = [f"would delete {key} ({what})" for key in outcome.done]
        return [*lines, f"{what}s: {len(outcome.done)} to delete (dry run)"]
    line = f"{what}s: {len(outcome.done)} deleted, {len(outcome.failed)} not deleted"
    if outcome.stopped:
        line += f" (stopped: {outcome.stopped})"
    return [line]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with application_env(args.config_uri) as env:
            registry = env["registry"]
            services = registry["meet_services"]
            config = services[RecordingConfig]
            maintenance = RecordingMaintenance(
                config, services[RecordingStorage], registry["dbsession_factory"]
            )
            if config.expiration_days is None:
                lines = ["expired recordings: none (recording.expiration_days is not set)"]
                expired = Outcome()
            else:
                expired = maintenance.clean_expired(limit=args.limit, dry_run=args.dry_run)
                lines = report("expired recording", expired, args.dry_run)
            strays = maintenance.clean_strays(
                limit=args.limit,
                margin=timedelta(seconds=args.safety_margin),
                dry_run=args.dry_run,
            )
            lines += report("stray object", strays, args.dry_run)
    except ScriptError as exc:
        return fail(PROG, str(exc))
    print("\n".join(lines))
    return 0 if expired.ok and strays.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

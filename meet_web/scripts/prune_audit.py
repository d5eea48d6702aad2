"""`meet-web-prune-audit <ini> [--dry-run]`: delete the audit events older than
`audit.retention_days`; run it daily from cron or a systemd timer."""

from __future__ import annotations

import argparse
import sys

from ..services import audit
from . import ScriptError, application_env, fail

PROG = "meet-web-prune-audit"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Delete the audit events older than audit.retention_days."
    )
    parser.add_argument("config_uri", metavar="ini", help="the configuration file")
    parser.add_argument(
        "--dry-run", action="store_true", help="count what would be deleted, delete nothing"
    )
    return parser.parse_args(sys.argv[1:] if argv is None else argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with application_env(args.config_uri) as env:
            request = env["request"]
            days = env["registry"].settings["audit.retention_days"]
            with request.tm:
                if args.dry_run:
                    count = audit.count_expired(request.dbsession, days)
                else:
                    count = audit.prune(request.dbsession, days)
    except ScriptError as exc:
        return fail(PROG, str(exc))
    outcome = "to delete (dry run)" if args.dry_run else "deleted"
    print(f"audit events older than {days} days: {count} {outcome}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

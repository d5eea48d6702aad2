"""`meet-web-merge-duplicate-users <ini> [--dry-run] [EMAIL-FILTER]`: merge users who
share an email address (services/user_merge.py), all in one transaction.

Prints one line per email: the user kept and the users merged into it.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.exc import DBAPIError

from ..services.audit import SYSTEM, record
from ..services.user_merge import USER_MERGE, merge_duplicates
from . import ScriptError, application_env, fail

PROG = "meet-web-merge-duplicate-users"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Merge users sharing an email address into the newest of them.",
    )
    parser.add_argument("config_uri", metavar="ini", help="the configuration file")
    parser.add_argument(
        "email_filter",
        nargs="?",
        default=None,
        metavar="EMAIL-FILTER",
        help="only the emails containing this text (any case)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would be merged, change nothing"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with application_env(args.config_uri) as env:
            request = env["request"]
            with request.tm:
                db = request.dbsession
                plan = merge_duplicates(db, args.email_filter, dry_run=args.dry_run)
                lines = []
                for group in plan.groups:
                    merged = ", ".join(str(user_id) for user_id in group.as_dict()["merged"])
                    lines.append(f"{group.email}: keeping {group.kept.id}, merging {merged}")
                    if not args.dry_run:
                        record(
                            request,
                            USER_MERGE,
                            target_type="user",
                            target_id=group.kept.id,
                            changes=group.as_dict(),
                            actor=SYSTEM,
                        )
    except ScriptError as exc:
        return fail(PROG, str(exc))
    except DBAPIError as exc:
        return fail(PROG, f"the merge failed and nothing was changed: {exc.orig}")
    for line in lines:
        print(line)
    verb = "would merge" if args.dry_run else "merged"
    print(f"{verb} {plan.merged_count} user(s) in {len(plan.groups)} email group(s)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

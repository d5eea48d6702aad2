"""`meet-web-operator <ini> <email> [--revoke]`: grant or revoke operator rights.

Operators administer every room, recording and API application. The flag is set on every
user with that email address (compared case-insensitively).
"""

from __future__ import annotations

import argparse
import sys

from ..models import User
from . import ScriptError, application_env, fail

PROG = "meet-web-operator"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Grant (or with --revoke, withdraw) operator rights."
    )
    parser.add_argument("config_uri", metavar="ini", help="the configuration file")
    parser.add_argument("email", help="the user's email address (any case)")
    parser.add_argument(
        "--revoke", action="store_true", help="withdraw operator rights instead of granting them"
    )
    args = parser.parse_args(argv)
    args.email = args.email.strip()
    if "@" not in args.email:
        parser.error(f"argument email: {args.email!r} is not an email address")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    grant = not args.revoke
    try:
        with application_env(args.config_uri) as env:
            request = env["request"]
            with request.tm:
                users = User.by_email(request.dbsession, args.email)
                for user in users:
                    user.is_operator = grant
                changed = [(str(user), str(user.id)) for user in users]
    except ScriptError as exc:
        return fail(PROG, str(exc))
    if not changed:
        return fail(PROG, f"no user has the email address {args.email}")
    for email, user_id in changed:
        state = "is now an operator" if grant else "is no longer an operator"
        print(f"{email} ({user_id}) {state}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""`meet-web-create-application <ini> --name N --scope S [--scope ...] [--domain D ...]
[--inactive]`: register an application of the external API.

Prints `{"client_id": ..., "client_secret": ...}` as JSON, once: only a hash of the secret
is stored, so it cannot be shown again.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from ..models import Application, ApplicationDomain, ApplicationScope
from ..models.application import random_token
from ..services import audit
from . import ScriptError, application_env, fail

PROG = "meet-web-create-application"
CLIENT_ID_LENGTH = 40
CLIENT_SECRET_LENGTH = 128
NAME_MAX_LENGTH = 255
# As the reference's domain-name validation without IDNA: dotted labels, a letters-only TLD.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_RE = re.compile(rf"(?:{_LABEL}\.)+[a-z](?:[a-z-]{{0,61}}[a-z])")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    scopes = [scope.value for scope in ApplicationScope]
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Create an application of the external API and print its credentials.",
    )
    parser.add_argument("config_uri", metavar="ini", help="the configuration file")
    parser.add_argument("--name", required=True, help="a name for operators to recognise it")
    parser.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        required=True,
        choices=scopes,
        metavar="SCOPE",
        help=f"a granted scope, repeatable; one of: {', '.join(scopes)}",
    )
    parser.add_argument(
        "--domain",
        dest="domains",
        action="append",
        default=[],
        metavar="DOMAIN",
        help="an email domain whose users it may act for, repeatable (default: any)",
    )
    parser.add_argument(
        "--inactive", action="store_true", help="create it disabled (enable it later)"
    )
    args = parser.parse_args(argv)
    args.name = args.name.strip()
    if not args.name:
        parser.error("argument --name: must not be blank")
    if len(args.name) > NAME_MAX_LENGTH:
        parser.error(f"argument --name: at most {NAME_MAX_LENGTH} characters")
    # Store scopes in their declared order, each once.
    args.scopes = [scope for scope in scopes if scope in args.scopes]
    domains = []
    for raw in args.domains:
        domain = raw.strip().lower()
        if len(domain) > 253 or not DOMAIN_RE.fullmatch(domain):
            parser.error(f"argument --domain: {raw!r} is not a domain name")
        if domain not in domains:
            domains.append(domain)
    args.domains = domains
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    secret = random_token(CLIENT_SECRET_LENGTH)
    try:
        with application_env(args.config_uri) as env:
            request = env["request"]
            with request.tm:
                application = Application(
                    name=args.name,
                    is_active=not args.inactive,
                    client_id=random_token(CLIENT_ID_LENGTH),
                    scopes=args.scopes,
                    allowed_domains=[ApplicationDomain(domain=d) for d in args.domains],
                )
                application.set_secret(secret)
                request.dbsession.add(application)
                audit.record_application(request, audit.APPLICATION_CREATE, application, PROG)
                client_id = application.client_id
    except ScriptError as exc:
        return fail(PROG, str(exc))
    # Printed only once the transaction committed.
    print(json.dumps({"client_id": client_id, "client_secret": secret}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""`meet-web-resend-notifications <ini>`: mail again the owners of recordings whose
completion mail failed; run it from cron, or by hand once the relay is back.

A mail is owed by every saved recording (`saved`, `notification_succeeded` or either
`external_process_*` status) whose `notified_at` is unset, whatever its status says:
the summary service's callback may have moved it on meanwhile. Each recording whose
every mail is accepted gets `notified_at` (and leaves `saved` when nothing else is
owed); the others are tried again on the next run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Recording
from ..models.recording import SAVED_STATUSES
from ..recording import Recordings
from . import ScriptError, application_env, fail

PROG = "meet-web-resend-notifications"


def resend_saved(
    sessions: Callable[[], Session], recordings: Recordings, link_base: str | None
) -> tuple[int, int]:
    """(mailed, still failing) over every recording owing a mail, oldest first."""
    with sessions() as session:
        pending = session.scalars(
            select(Recording.id)
            .where(Recording.status.in_(SAVED_STATUSES), Recording.notified_at.is_(None))
            .order_by(Recording.created_at)
        ).all()
    mailed = sum(recordings.resend(sessions, recording_id, link_base) for recording_id in pending)
    return mailed, len(pending) - mailed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Mail again the owners of recordings whose completion mail failed."
    )
    parser.add_argument("config_uri", metavar="ini", help="the configuration file")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with application_env(args.config_uri) as env:
            registry = env["registry"]
            recordings = registry["meet_services"][Recordings]
            link_base = recordings.config.link_base(registry.settings["app.base_url"])
            if link_base is None:
                raise ScriptError(
                    "set app.base_url or recording.download_base_url for the links the mail carries"
                )
            mailed, failing = resend_saved(registry["dbsession_factory"], recordings, link_base)
    except ScriptError as exc:
        return fail(PROG, str(exc))
    print(f"{mailed} recording(s) notified, {failing} still failing")
    return 1 if failing else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

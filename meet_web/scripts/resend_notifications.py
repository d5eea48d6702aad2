"""`meet-web-resend-notifications <ini>`: mail again the owners of recordings whose
completion mail failed (those left `saved`); run it from cron, or by hand once the
relay is back. Each recording whose every mail is accepted becomes
`notification_succeeded`; the others stay `saved` for the next run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Recording, RecordingStatus
from ..recording import Recordings
from . import ScriptError, application_env, fail

PROG = "meet-web-resend-notifications"


def resend_saved(
    sessions: Callable[[], Session], recordings: Recordings, link_base: str | None
) -> tuple[int, int]:
    """(mailed, still failing) over every `saved` recording, oldest first."""
    with sessions() as session:
        pending = session.scalars(
            select(Recording.id)
            .where(Recording.status == RecordingStatus.SAVED)
            .order_by(Recording.created_at)
        ).all()
    mailed = sum(
        recordings.mail.send(sessions, recording_id, link_base) for recording_id in pending
    )
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

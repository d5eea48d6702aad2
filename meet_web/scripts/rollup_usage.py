"""`meet-web-rollup-usage <ini> [--since DATE]`: recompute the daily usage roll-ups.

The webhooks keep them up to date as meetings finish; this command repairs them from
the rows (after an outage, a restore, or to count the rooms and recordings of days
without meetings): each finished meeting since DATE gets its figures again, then each
day from DATE to today. Without --since it starts at the first day anything was
recorded. Each day commits on its own.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from ..models import Meeting, Recording, Room
from ..stats.rollup import day_bounds, refresh_meeting, roll_up_day
from . import ScriptError, application_env, fail

PROG = "meet-web-rollup-usage"


def a_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Recompute the daily usage statistics from the meetings."
    )
    parser.add_argument("config_uri", metavar="ini", help="the configuration file")
    parser.add_argument(
        "--since", type=a_date, metavar="DATE", help="the first day to recompute (YYYY-MM-DD)"
    )
    return parser.parse_args(argv)


def first_day(db) -> date | None:
    firsts = [
        db.scalar(select(func.min(column)))
        for column in (Meeting.started_at, Room.created_at, Recording.created_at)
    ]
    known = [moment.astimezone(UTC).date() for moment in firsts if moment is not None]
    return min(known) if known else None


def days_from(since: date):
    today = datetime.now(UTC).date()
    day = since
    while day <= today:
        yield day
        day += timedelta(days=1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with application_env(args.config_uri) as env:
            request = env["request"]
            db = request.dbsession
            with request.tm:
                since = args.since or first_day(db)
            if since is None:
                print("nothing recorded yet")
                return 0
            for day in days_from(since):
                start, end = day_bounds(day)
                with request.tm:
                    finished = db.scalars(
                        select(Meeting).where(
                            Meeting.started_at >= start,
                            Meeting.started_at < end,
                            Meeting.ended_at.is_not(None),
                        )
                    )
                    for meeting in finished:
                        refresh_meeting(db, meeting)
                    usage = roll_up_day(db, day)
                    line = (
                        f"{day.isoformat()}: {usage.meetings} meetings, "
                        f"{usage.participant_seconds} participant-seconds, "
                        f"peak {usage.peak_participants}, {usage.rooms_created} rooms created, "
                        f"{usage.recordings} recordings"
                    )
                print(line)
    except ScriptError as exc:
        return fail(PROG, str(exc))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

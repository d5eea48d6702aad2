"""What the dashboard shows: a range of UTC days and, per figure, one value a day.

Read from the UsageDay rows of the range only (one range scan of the unique index on
`day`), and today's figures counted from today's rows: the cost follows the range
shown, not the size of the meetings table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Meeting, UsageDay
from ..validation import ValidationError
from .rollup import day_bounds, day_figures

PRESETS = (7, 30, 90)
DEFAULT_DAYS = 30
MAX_DAYS = 366

BAD_DATE = "Enter a valid date (YYYY-MM-DD)."
BAD_PRESET = '"{}" is not a valid choice.'
BOTH_DATES = "Give both the first and the last day."
BACKWARDS = "The first day must not be after the last day."
TOO_LONG = "Choose at most 366 days."


@dataclass(frozen=True)
class DayRange:
    first: date
    last: date
    preset: int | None  # the "last N days" chosen, None for explicit dates

    @property
    def days(self) -> list[date]:
        count = (self.last - self.first).days + 1
        return [self.first + timedelta(days=n) for n in range(count)]


def parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def read_range(params, today: date) -> DayRange:
    """`?days=7|30|90` (the last N days, today included) or `?from=…&to=…`; bad: 400."""
    first_text = params.get("from", "").strip()
    last_text = params.get("to", "").strip()
    if first_text or last_text:
        errors = {}
        first, last = parse_day(first_text), parse_day(last_text)
        for name, text, value in (("from", first_text, first), ("to", last_text, last)):
            if not text:
                errors[name] = BOTH_DATES
            elif value is None:
                errors[name] = BAD_DATE
        if errors:
            raise ValidationError(errors)
        if first > last:
            raise ValidationError({"from": BACKWARDS})
        if (last - first).days + 1 > MAX_DAYS:
            raise ValidationError({"to": TOO_LONG})
        return DayRange(first, last, None)
    preset_text = params.get("days", "") or str(DEFAULT_DAYS)
    if preset_text not in {str(n) for n in PRESETS}:
        raise ValidationError({"days": BAD_PRESET.format(preset_text[:20])})
    preset = int(preset_text)
    return DayRange(today - timedelta(days=preset - 1), today, preset)


@dataclass(frozen=True)
class Series:
    key: str
    title: str
    unit: str
    values: list[tuple[date, int]]
    summable: bool  # a total over the days means something (not for peaks)

    @property
    def total(self) -> int:
        return sum(value for _, value in self.values)

    @property
    def highest(self) -> int:
        return max((value for _, value in self.values), default=0)


# (key, title, unit, summable, the value of a UsageDay row); the template translates
# titles and units
FIGURES = (
    ("meetings", "Meetings per day", "Meetings", True, lambda row: row.meetings),
    (
        "participant_minutes",
        "Participant-minutes per day",
        "Minutes",
        True,
        lambda row: round(row.participant_seconds / 60),
    ),
    (
        "peak_participants",
        "Peak concurrent participants",
        "Participants",
        False,
        lambda row: row.peak_participants,
    ),
    ("rooms_created", "Rooms created", "Rooms", True, lambda row: row.rooms_created),
    ("recordings", "Recordings", "Recordings", True, lambda row: row.recordings),
)


def usage_series(db: Session, day_range: DayRange, today: date) -> list[Series]:
    """The figures of the range's days; today's are counted afresh (one day's rows), as
    its roll-up waits for the next meeting to finish."""
    rows = {
        row.day: row
        for row in db.scalars(
            select(UsageDay).where(UsageDay.day >= day_range.first, UsageDay.day <= day_range.last)
        )
    }
    if day_range.first <= today <= day_range.last:
        rows[today] = UsageDay(day=today, **day_figures(db, today))
    series = []
    for key, title, unit, summable, value_of in FIGURES:
        values = [(day, value_of(rows[day]) if day in rows else 0) for day in day_range.days]
        series.append(Series(key, title, unit, values, summable))
    return series


@dataclass(frozen=True)
class Attendance:
    """Who took part in the range's finished meetings, each person once a meeting."""

    meetings: int
    guests: int
    signed_in: int
    dial_in: int

    @property
    def people(self) -> int:
        return self.guests + self.signed_in + self.dial_in


def attendance(db: Session, day_range: DayRange) -> Attendance:
    """One aggregate over the meetings started in the range (the index on started_at)."""
    start, _ = day_bounds(day_range.first)
    _, end = day_bounds(day_range.last)
    row = db.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Meeting.guest_participants), 0),
            func.coalesce(func.sum(Meeting.signed_in_participants), 0),
            func.coalesce(func.sum(Meeting.dial_in_participants), 0),
        ).where(
            Meeting.started_at >= start,
            Meeting.started_at < end,
            Meeting.ended_at.is_not(None),
        )
    ).one()
    return Attendance(*row)

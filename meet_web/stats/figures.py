"""The figures of a meeting and of a day, from participants' presence intervals.

Pure functions: the webhook handlers and the repair command feed them rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

GUEST = "guest"
SIGNED_IN = "signed_in"
DIAL_IN = "dial_in"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Presence:
    identity: str
    kind: str
    joined_at: datetime | None
    left_at: datetime | None


@dataclass(frozen=True)
class MeetingFigures:
    duration_seconds: int | None
    peak_participants: int
    total_participants: int
    guest_participants: int
    signed_in_participants: int
    dial_in_participants: int
    participant_seconds: int


def interval(
    presence: Presence, started_at: datetime | None, ended_at: datetime | None
) -> tuple[datetime, datetime] | None:
    """When the participant was there: a missing join is the meeting's start, a missing
    leave its end (LiveKit may never send participant_left once the room is gone)."""
    start = presence.joined_at or started_at
    end = presence.left_at or ended_at
    if start is None or end is None:
        return None
    if started_at is not None and start < started_at:
        start = started_at
    if ended_at is not None and end > ended_at:
        end = ended_at
    return (start, max(start, end))


def peak_concurrency(intervals: Iterable[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one instant (one leaving as another joins: not both)."""
    moments = []
    for start, end in intervals:
        moments.append((start, 1))
        moments.append((end, -1))
    moments.sort(key=lambda moment: (moment[0], moment[1]))  # leaves before joins
    peak = current = 0
    for _, step in moments:
        current += step
        peak = max(peak, current)
    return peak


def meeting_figures(
    presences: list[Presence], started_at: datetime | None, ended_at: datetime | None
) -> MeetingFigures:
    intervals = [i for p in presences if (i := interval(p, started_at, ended_at)) is not None]
    # A participant who reconnects comes back with a new LiveKit sid: people are counted
    # by identity, each with the kind they first joined as.
    kinds: dict[str, str] = {}
    for presence in sorted(presences, key=lambda p: (p.joined_at is None, p.joined_at or EPOCH)):
        kinds.setdefault(presence.identity, presence.kind)
    counts = {GUEST: 0, SIGNED_IN: 0, DIAL_IN: 0}
    for kind in kinds.values():
        counts[kind] = counts.get(kind, 0) + 1
    duration = None
    if started_at is not None and ended_at is not None:
        duration = max(0, int((ended_at - started_at).total_seconds()))
    return MeetingFigures(
        duration_seconds=duration,
        peak_participants=peak_concurrency(intervals),
        total_participants=len(kinds),
        guest_participants=counts[GUEST],
        signed_in_participants=counts[SIGNED_IN],
        dial_in_participants=counts[DIAL_IN],
        participant_seconds=sum(int((end - start).total_seconds()) for start, end in intervals),
    )

"""The usage dashboard (`/admin/dashboard/`): its range, validated, and the figures the
webhooks recorded, in charts and in the tables beside them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from meet_web.models import Meeting, UsageDay
from tests.conftest import make_recording, make_room
from tests.functional.test_usage_statistics import deliver, standup

DASHBOARD = "/admin/dashboard/"
TODAY = datetime.now(UTC).date()
YESTERDAY = TODAY - timedelta(days=1)


def start_of(day) -> int:
    return int(datetime.combine(day, time(9), tzinfo=UTC).timestamp())


@pytest.fixture
def operator(testapp, cast):
    testapp.login_as(cast.operator)
    return testapp


def table(res, key: str) -> dict[str, int]:
    """Day -> value of the table beside the chart `key`."""
    found = res.html.find("table", attrs={"data-figure": key})
    return {
        row.th.get_text(strip=True): int(row.td.get_text(strip=True))
        for row in found.tbody.find_all("tr")
    }


def test_the_dashboard_shows_the_meetings_the_webhooks_recorded(operator, livekit, cast, dbsession):
    other = make_room(dbsession, "Other Room", cast.owner)
    for ev in standup(str(cast.room.id), "RM_a", start_of(YESTERDAY)):
        deliver(operator, livekit, ev)
    for ev in standup(str(other.id), "RM_b", start_of(YESTERDAY) + 3600):
        deliver(operator, livekit, ev)
    make_recording(dbsession, cast.room, {cast.owner: "owner"})
    res = operator.get(DASHBOARD, params={"days": "7"})
    yesterday, today = YESTERDAY.isoformat(), TODAY.isoformat()
    meetings = table(res, "meetings")
    assert len(meetings) == 7
    assert meetings[yesterday] == 2
    assert meetings[today] == 0
    # 2 x 4810 participant-seconds; the two meetings did not overlap
    assert table(res, "participant_minutes")[yesterday] == 160
    assert table(res, "peak_participants")[yesterday] == 3
    # today's rooms and recordings are counted as the page is drawn
    assert table(res, "rooms_created")[today] == 2
    assert table(res, "recordings")[today] == 1
    attendance = {
        td["data-kind"]: int(td.get_text(strip=True))
        for td in res.html.find(id="attendance").find_all("td")
    }
    assert attendance == {"signed_in": 2, "guests": 2, "dial_in": 2, "people": 6}
    captions = [c.get_text(strip=True) for c in res.html.find_all("caption")]
    assert captions == [
        "Who took part in these meetings",
        "Meetings per day",
        "Participant-minutes per day",
        "Peak concurrent participants",
        "Rooms created",
        "Recordings",
    ]
    assert all(th["scope"] in ("col", "row") for th in res.html.find_all("th"))


def test_each_chart_is_an_svg_with_a_bar_a_day_and_no_inline_style(operator):
    res = operator.get(DASHBOARD, params={"from": "2026-11-01", "to": "2026-11-10"})
    charts = res.html.find_all("svg", class_="usage-chart")
    assert len(charts) == 5
    for chart in charts:
        assert chart["role"] == "img"
        assert res.html.find(id=chart["aria-labelledby"]) is not None
        assert len(chart.find_all("rect", class_="usage-bar")) == 10
    assert not re.search(r"<script(?![^>]*\bsrc=)", res.text)
    assert " style=" not in res.text


def test_the_default_range_is_the_last_30_days(operator):
    res = operator.get(DASHBOARD)
    days = list(table(res, "meetings"))
    assert (days[0], days[-1], len(days)) == (
        (TODAY - timedelta(days=29)).isoformat(),
        TODAY.isoformat(),
        30,
    )
    assert res.html.find("a", attrs={"aria-current": "page", "href": re.compile("days=30")})


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"days": "8"}, "days", '"8" is not a valid choice.'),
        ({"days": "abc"}, "days", '"abc" is not a valid choice.'),
        ({"from": "2026-02-30", "to": "2026-03-01"}, "from", "Enter a valid date (YYYY-MM-DD)."),
        ({"from": "2026-11-01", "to": "yesterday"}, "to", "Enter a valid date (YYYY-MM-DD)."),
        ({"from": "2026-11-01"}, "to", "Give both the first and the last day."),
        ({"to": "2026-11-01"}, "from", "Give both the first and the last day."),
        (
            {"from": "2026-11-10", "to": "2026-11-01"},
            "from",
            "The first day must not be after the last day.",
        ),
        ({"from": "2025-01-01", "to": "2026-11-01"}, "to", "Choose at most 366 days."),
        (
            {"from": "2026-11-01\x00", "to": "2026-11-02"},
            "from",
            "Enter a valid date (YYYY-MM-DD).",
        ),
    ],
)
def test_a_bad_range_is_a_400_page_with_the_form(operator, dbsession, params, field, message):
    before = dbsession.scalar(select(func.count()).select_from(UsageDay))
    res = operator.get(DASHBOARD, params=params, status=400)
    error = res.html.find(id=f"{field}-error")
    assert error is not None and error.get_text(strip=True) == message
    assert res.html.find("svg", class_="usage-chart") is None
    assert res.html.find("input", attrs={"name": "from"}) is not None
    assert dbsession.scalar(select(func.count()).select_from(UsageDay)) == before


def test_a_year_is_the_longest_range(operator):
    res = operator.get(DASHBOARD, params={"from": "2025-11-01", "to": "2026-11-01"})
    assert len(table(res, "meetings")) == 366


def test_the_dashboard_reads_the_roll_ups_of_the_range_only(operator, connection):
    """The roll-ups of the range, and one aggregate of the meetings started in it: its
    cost follows the range, not the tables."""
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    sa_event.listen(connection, "before_cursor_execute", seen)
    try:
        operator.get(DASHBOARD, params={"from": "2026-01-01", "to": "2026-03-31"})
    finally:
        sa_event.remove(connection, "before_cursor_execute", seen)
    reads = [s for s in statements if "usage_days" in s or "meetings" in s]
    assert len(reads) == 2
    assert "FROM usage_days" in reads[0]
    assert "WHERE usage_days.day >=" in reads[0]
    assert "FROM meetings" in reads[1] and "meeting_participants" not in reads[1]
    assert "WHERE meetings.started_at >=" in reads[1]


def test_unfinished_meetings_wait_for_their_end(operator, livekit, cast, dbsession):
    for ev in standup(str(cast.room.id), "RM_live", start_of(YESTERDAY))[:-1]:
        deliver(operator, livekit, ev)
    assert dbsession.scalars(select(Meeting.ended_at)).one() is None
    res = operator.get(DASHBOARD, params={"days": "7"})
    assert table(res, "meetings")[YESTERDAY.isoformat()] == 0

"""Usage statistics from LiveKit's webhooks (issue 11 item 6): realistic sequences of
events through the real signed webhook endpoint, redelivered and reordered, give the
same meeting figures and daily roll-ups; holding rooms and connection tests are not
meetings; concurrent webhooks on PostgreSQL and two app processes agree."""

from __future__ import annotations

import os
import random
import uuid
from datetime import UTC, date, datetime

import pytest
import requests
from livekit import api
from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import Session

from meet_web.models import Meeting, MeetingParticipant, UsageDay, User
from meet_web.scripts.rollup_usage import main as rollup_main
from meet_web.stats.figures import Presence, meeting_figures, peak_concurrency
from tests.conftest import make_room, migrate
from tests.functional.test_files_scripts import write_ini
from tests.servers.livekit_fake import event

WEBHOOK = "/api/v1.0/rooms/webhooks-livekit/"
DAY = date(2026, 11, 20)
T0 = int(datetime(2026, 11, 20, 9, 0, tzinfo=UTC).timestamp())
Kind = api.ParticipantInfo.Kind
POSTGRESQL = (os.environ.get("MEET_TEST_DATABASE_URL") or "").startswith("postgresql")


def deliver(client, livekit, ev, status=200):
    body, headers = livekit.webhook_request(ev)
    return client.post(WEBHOOK, body, headers=headers, status=status)


def lk_room(name: str, sid: str = "RM_standup", created: int = T0) -> api.Room:
    return api.Room(name=name, sid=sid, creation_time=created)


def person(identity: str, sid: str, joined: int, *, signed_in=False, kind=Kind.STANDARD):
    return api.ParticipantInfo(
        identity=identity,
        sid=sid,
        joined_at=joined,
        kind=kind,
        attributes={"is_authenticated": "true" if signed_in else "false"},
    )


def standup(name: str, sid: str = "RM_standup", start: int = T0) -> list[api.WebhookEvent]:
    """A half-hour meeting: a signed-in host, a guest who drops and comes back (a new
    LiveKit sid), a phone caller, and the recorder's egress participant."""
    room = lk_room(name, sid, start)
    alice = person("alice-id", f"PA_alice_{sid}", start + 10, signed_in=True)
    bob = person("bob-cookie", f"PA_bob1_{sid}", start + 60)
    bob_again = person("bob-cookie", f"PA_bob2_{sid}", start + 700)
    caller = person("sip_+33123456789", f"PA_sip_{sid}", start + 120, kind=Kind.SIP)
    recorder = person("EG_rec", f"PA_eg_{sid}", start + 30, kind=Kind.EGRESS)

    def at(kind, seconds, participant=None):
        return event(kind, room=room, participant=participant, created_at=start + seconds)

    return [
        at("room_started", 0),
        at("participant_joined", 10, alice),
        at("participant_joined", 30, recorder),
        at("participant_joined", 60, bob),
        at("participant_joined", 120, caller),
        at("participant_left", 600, bob),
        at("participant_joined", 700, bob_again),
        at("participant_left", 1500, caller),
        at("participant_left", 1800, alice),
        at("participant_left", 1800, bob_again),
        at("participant_left", 1805, recorder),
        at("room_finished", 1810),
    ]


# alice 1790 s, bob 540 + 1100 s, the caller 1380 s; three at once at most
STANDUP = {
    "duration_seconds": 1810,
    "peak_participants": 3,
    "total_participants": 3,
    "guest_participants": 1,
    "signed_in_participants": 1,
    "dial_in_participants": 1,
    "participant_seconds": 4810,
}


def figures_of(meeting: Meeting) -> dict:
    return {field: getattr(meeting, field) for field in STANDUP}


def meeting_of(dbsession, sid: str = "RM_standup") -> Meeting | None:
    dbsession.expire_all()
    return dbsession.scalars(select(Meeting).where(Meeting.livekit_sid == sid)).one_or_none()


def usage_day(dbsession, day: date = DAY) -> UsageDay | None:
    dbsession.expire_all()
    return dbsession.scalars(select(UsageDay).where(UsageDay.day == day)).one_or_none()


def redelivered(ev: api.WebhookEvent) -> api.WebhookEvent:
    """The same event under another id (LiveKit's at-least-once delivery)."""
    copy = api.WebhookEvent()
    copy.CopyFrom(ev)
    copy.id = f"EV_{uuid.uuid4().hex[:12]}"
    return copy


# -- one meeting ---------------------------------------------------------------------


def test_a_meeting_in_order_gives_its_figures(testapp, livekit, cast, dbsession):
    for ev in standup(str(cast.room.id)):
        deliver(testapp, livekit, ev)
    meeting = meeting_of(dbsession)
    assert figures_of(meeting) == STANDUP
    assert meeting.room_id == cast.room.id
    assert meeting.started_at == datetime.fromtimestamp(T0, UTC)
    assert meeting.ended_at == datetime.fromtimestamp(T0 + 1810, UTC)
    kinds = dbsession.scalars(
        select(MeetingParticipant.kind)
        .where(MeetingParticipant.meeting_id == meeting.id)
        .order_by(MeetingParticipant.joined_at)
    ).all()
    assert kinds == ["signed_in", "guest", "dial_in", "guest"]  # no egress participant
    usage = usage_day(dbsession)
    assert (usage.meetings, usage.participant_seconds, usage.peak_participants) == (1, 4810, 3)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_duplicates_and_reordering_change_nothing(testapp, livekit, cast, dbsession, seed):
    events = standup(str(cast.room.id))
    deliveries = events + [redelivered(ev) for ev in events] + events[:4]  # and replays
    random.Random(seed).shuffle(deliveries)
    for ev in deliveries:
        deliver(testapp, livekit, ev)
    assert figures_of(meeting_of(dbsession)) == STANDUP
    usage = usage_day(dbsession)
    assert (usage.meetings, usage.participant_seconds, usage.peak_participants) == (1, 4810, 3)
    assert dbsession.query(MeetingParticipant).count() == 4


def test_a_late_participant_left_after_room_finished_corrects_the_figures(
    testapp, livekit, cast, dbsession
):
    events = standup(str(cast.room.id))
    bob_left = events.pop(9)
    for ev in events:
        deliver(testapp, livekit, ev)
    # bob is taken to have stayed to the end: 10 s more than he did
    assert meeting_of(dbsession).participant_seconds == 4820
    assert usage_day(dbsession).participant_seconds == 4820
    deliver(testapp, livekit, bob_left)
    assert figures_of(meeting_of(dbsession)) == STANDUP
    assert usage_day(dbsession).participant_seconds == 4810


def test_participants_still_there_at_the_end_leave_with_the_room(testapp, livekit, dbsession):
    room = lk_room("unregistered-slug", "RM_short")
    carol = person("carol", "PA_carol", T0 + 5)
    for ev in [
        event("participant_joined", room=room, participant=carol, created_at=T0 + 5),
        event("room_finished", room=room, created_at=T0 + 65),
    ]:
        deliver(testapp, livekit, ev)
    meeting = meeting_of(dbsession, "RM_short")
    assert meeting.room_id is None  # not a registered room: counted all the same
    assert meeting.started_at == datetime.fromtimestamp(T0, UTC)
    assert (meeting.duration_seconds, meeting.participant_seconds) == (65, 60)
    assert (meeting.total_participants, meeting.guest_participants) == (1, 1)


def test_a_live_meeting_is_not_counted_until_it_finishes(testapp, livekit, cast, dbsession):
    for ev in standup(str(cast.room.id))[:5]:
        deliver(testapp, livekit, ev)
    meeting = meeting_of(dbsession)
    assert meeting.ended_at is None
    assert usage_day(dbsession) is None


def test_concurrent_meetings_add_up_in_the_daily_peak(testapp, livekit, cast, dbsession):
    other = make_room(dbsession, "Other Room", cast.owner)
    for ev in standup(str(cast.room.id)) + standup(str(other.id), "RM_other", T0 + 300):
        deliver(testapp, livekit, ev)
    usage = usage_day(dbsession)
    # from T0+300 to T0+600 both meetings have three people each
    assert (usage.meetings, usage.participant_seconds, usage.peak_participants) == (2, 9620, 6)


@pytest.mark.parametrize(
    "name",
    ["phone-lobby-{id}", "connection-test-{uuid}"],
    ids=["holding room", "connection test"],
)
def test_holding_rooms_and_connection_tests_are_not_meetings(
    testapp, livekit, cast, dbsession, name
):
    name = name.format(id=cast.room.id, uuid=uuid.uuid4())
    for ev in standup(name):
        deliver(testapp, livekit, ev)
    assert meeting_of(dbsession) is None
    assert dbsession.query(MeetingParticipant).count() == 0
    assert usage_day(dbsession) is None


def test_a_forged_webhook_records_nothing(testapp, livekit, cast, dbsession):
    body, headers = livekit.webhook_request(standup(str(cast.room.id))[0], tamper=True)
    testapp.post(WEBHOOK, body, headers=headers, status=400)
    assert meeting_of(dbsession) is None


# -- the figures themselves ------------------------------------------------------------


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


def test_one_leaving_as_another_joins_is_not_two_at_once():
    assert peak_concurrency([(at(0), at(10)), (at(10), at(20))]) == 1
    assert peak_concurrency([(at(0), at(11)), (at(10), at(20))]) == 2
    assert peak_concurrency([]) == 0


def test_figures_without_a_start_or_an_end():
    figures = meeting_figures([Presence("a", "guest", at(5), None)], None, None)
    assert (figures.duration_seconds, figures.participant_seconds, figures.peak_participants) == (
        None,
        0,
        0,
    )
    assert figures.total_participants == 1


# -- the repair command ----------------------------------------------------------------


def test_the_rollup_command_recomputes_days_from_the_rows(tmp_path, capsys, settings):
    """The command commits, so it runs on a database of its own."""
    url = f"sqlite:///{tmp_path / 'rollup.sqlite'}"
    migrate(url)
    engine = create_engine(url)
    with Session(engine) as session:
        meeting = Meeting(
            livekit_sid="RM_repair",
            started_at=at(0),
            ended_at=at(100),
            participant_seconds=0,
        )
        session.add(meeting)
        session.flush()
        session.add_all(
            [
                MeetingParticipant(
                    meeting_id=meeting.id,
                    participant_sid=sid,
                    identity=sid,
                    joined_at=at(10),
                    left_at=at(60),
                )
                for sid in ("PA_1", "PA_2")
            ]
        )
        session.add(UsageDay(day=DAY, meetings=7, participant_seconds=1))  # wrong figures
        session.commit()
    ini = write_ini(
        tmp_path / "rollup.ini",
        {**settings, "sqlalchemy.url": url, "testing.shared_connection": "false"},
    )
    assert rollup_main([ini, "--since", "2026-11-19"]) == 0
    out = capsys.readouterr().out
    assert "2026-11-20: 1 meetings, 100 participant-seconds, peak 2" in out
    with Session(engine) as session:
        usage = session.scalars(select(UsageDay).where(UsageDay.day == DAY)).one()
        assert (usage.meetings, usage.participant_seconds, usage.peak_participants) == (1, 100, 2)
        assert session.scalars(select(Meeting)).one().total_participants == 2
    engine.dispose()


def test_the_rollup_command_refuses_a_bad_date(tmp_path, capsys):
    ini = tmp_path / "none.ini"
    ini.write_text("[app:main]\nuse = egg:meet_web\n")
    with pytest.raises(SystemExit) as exit_:
        rollup_main([str(ini), "--since", "2026-13-01"])
    assert exit_.value.code == 2
    assert "not a date" in capsys.readouterr().err


# -- committed, concurrent ---------------------------------------------------------------


@pytest.fixture
def committed_webhooks(app, settings):
    """An app that commits for real, on PostgreSQL; the meetings it writes go afterwards."""
    if not POSTGRESQL:
        pytest.skip("needs MEET_TEST_DATABASE_URL on PostgreSQL: SQLite serializes writes")
    from meet_web import main

    racing = main({}, **{**settings, "testing.shared_connection": "false"})
    engine = create_engine(settings["sqlalchemy.url"])
    tag = uuid.uuid4().hex[:8]
    yield racing, engine, tag
    with Session(engine) as session:
        session.execute(delete(Meeting).where(Meeting.livekit_sid.like(f"RM_{tag}%")))
        session.execute(delete(UsageDay).where(UsageDay.day == DAY))
        session.commit()
    engine.dispose()
    racing.registry["dbengine"].dispose()


def test_concurrent_webhooks_on_postgresql(committed_webhooks, livekit):
    from tests.conftest import MeetTestApp
    from tests.multiprocess.test_races import at_once

    racing, engine, tag = committed_webhooks
    meetings = [standup(f"{tag}-slug-{n}", f"RM_{tag}_{n}") for n in range(3)]
    clients = [MeetTestApp(racing, extra_environ={"HTTP_HOST": "localhost"}) for _ in range(6)]
    # every event twice (new ids), all meetings at once, out of order
    deliveries = [ev for events in meetings for ev in events + [redelivered(e) for e in events]]
    random.Random(7).shuffle(deliveries)
    batches = [deliveries[i::6] for i in range(6)]

    def send(client, batch):
        return [deliver(client, livekit, ev, status="*").status_int for ev in batch]

    results = at_once(*[lambda c=c, b=b: send(c, b) for c, b in zip(clients, batches, strict=True)])
    assert all(isinstance(r, list) and set(r) == {200} for r in results), results
    with Session(engine) as session:
        rows = session.scalars(select(Meeting).where(Meeting.livekit_sid.like(f"RM_{tag}%"))).all()
        assert [figures_of(m) for m in rows] == [STANDUP] * 3
        usage = session.scalars(select(UsageDay).where(UsageDay.day == DAY)).one()
        assert (usage.meetings, usage.participant_seconds, usage.peak_participants) == (
            3,
            3 * 4810,
            9,
        )


@pytest.mark.multiprocess
def test_two_app_processes_agree_on_the_figures(committed_webhooks, settings, livekit):
    if not os.environ.get("MEET_TEST_REDIS_URL"):
        pytest.skip("needs MEET_TEST_REDIS_URL: the processes share the webhook ledger")
    from bs4 import BeautifulSoup

    from tests.multiprocess.test_two_processes import app_process, sign_in

    _, engine, tag = committed_webhooks
    login = f"mp-operator-{tag}"
    with Session(engine) as session:
        operator = User(sub=login, email=f"{login}@example.org", is_operator=True)
        session.add(operator)
        session.commit()
        operator_id = operator.id
    served = {**settings, "testing.shared_connection": "false", "app.base_url": ""}
    events = standup(f"{tag}-slug", f"RM_{tag}_mp")
    try:
        with app_process(served) as first, app_process(served) as second:
            for n, ev in enumerate(events + [redelivered(e) for e in reversed(events)]):
                body, headers = livekit.webhook_request(ev)
                base = (first, second)[n % 2]
                answer = requests.post(base + WEBHOOK, data=body, headers=headers, timeout=10)
                assert answer.status_code == 200, answer.text
            pages = []
            for base in (first, second):
                page = sign_in(base, login).get(
                    base + "/admin/dashboard/",
                    params={"from": DAY.isoformat(), "to": DAY.isoformat()},
                    timeout=10,
                )
                assert page.status_code == 200, page.text
                html = BeautifulSoup(page.text, "html.parser")
                pages.append(
                    {
                        table["data-figure"]: table.tbody.td.get_text(strip=True)
                        for table in html.find_all("table", attrs={"data-figure": True})
                    }
                )
        assert pages[0] == pages[1]
        assert pages[0]["meetings"] == "1"
        assert pages[0]["participant_minutes"] == str(round(4810 / 60))
        assert pages[0]["peak_participants"] == "3"
        with Session(engine) as session:
            meeting = session.scalars(
                select(Meeting).where(Meeting.livekit_sid == f"RM_{tag}_mp")
            ).one()
            assert figures_of(meeting) == STANDUP
    finally:
        with Session(engine) as session:
            session.execute(delete(User).where(User.id == operator_id))
            session.commit()

"""The audit log's admin page (filters, pages, the htmx fragment), its CSV export and
`meet-web-prune-audit` with the retention setting."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from meet_web.models.audit import AuditEvent
from meet_web.scripts import prune_audit
from meet_web.services import audit
from meet_web.settings import SettingsError, load_settings
from meet_web.views.admin.audit import CSV_COLUMNS
from tests.functional.test_scripts import db, ini, ini_settings, script_db, write_ini  # noqa: F401
from tests.unit.test_settings import MINIMAL

AUDIT = "/admin/audit/"
EXPORT = "/admin/audit/export.csv"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def add_event(session, action=audit.ROOM_CREATE, *, actor="owner@example.org", at=NOW, **fields):
    fields.setdefault("target_type", "room")
    fields.setdefault("target_id", str(uuid.uuid4()))
    event = AuditEvent(
        actor_label=actor,
        action=action,
        created_at=at,
        request_id=uuid.uuid4().hex,
        client_ip="198.51.100.7",
        changes=fields.pop("changes", {"slug": "team-room"}),
        **fields,
    )
    session.add(event)
    session.flush()
    return event


@pytest.fixture
def operator(testapp, cast, dbsession):
    testapp.login_as(cast.operator)
    dbsession.execute(delete(AuditEvent))  # the sign-in's, when this one signed in
    return testapp


@pytest.fixture
def log(dbsession):
    """Five events over three days, by two people."""
    return {
        "old": add_event(
            dbsession,
            audit.SIGN_IN,
            actor="Member@Example.org",
            at=NOW - timedelta(days=2),
            target_type="user",
        ),
        "create": add_event(dbsession, audit.ROOM_CREATE, at=NOW - timedelta(days=1)),
        "grant": add_event(
            dbsession, audit.ACCESS_GRANT, at=NOW - timedelta(hours=2), target_type="access"
        ),
        "update": add_event(
            dbsession,
            audit.ROOM_UPDATE,
            actor="member@example.org",
            at=NOW - timedelta(hours=1),
            target_id="the-room",
        ),
        "delete": add_event(dbsession, audit.ROOM_DELETE, at=NOW, target_id="the-room"),
    }


def shown(res) -> list[str]:
    """The actions of the listed rows, top to bottom."""
    return [row.select_one("code").text for row in res.html.select("#audit-results tbody tr")]


def ordered(log, *names) -> list[str]:
    return [log[name].action for name in names]


# -- the page ---------------------------------------------------------------------------------


def test_newest_first(operator, log):
    res = operator.get(AUDIT)
    assert shown(res) == ordered(log, "delete", "update", "grant", "create", "old")
    assert "5 events" in res.text
    assert res.html.select_one('nav.admin-nav a[aria-current="page"]')["href"].endswith(
        "/admin/audit/"
    )


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"actor": "MEMBER@"}, ["update", "old"]),
        ({"actor": "owner"}, ["delete", "grant", "create"]),
        ({"actor": "%"}, []),
        ({"action": audit.ROOM_CREATE}, ["create"]),
        ({"action": "room."}, ["delete", "update", "create"]),
        ({"action": "room"}, []),
        ({"target_type": "access"}, ["grant"]),
        ({"target_id": "the-room"}, ["delete", "update"]),
        ({"since": "2026-12-01"}, ["delete", "update", "grant"]),
        ({"until": "2026-11-30"}, ["create", "old"]),
        ({"since": "2026-11-30", "until": "2026-11-30"}, ["create"]),
        ({"actor": "owner", "target_id": "the-room", "since": "2026-12-01"}, ["delete"]),
        ({"actor": " ", "action": ""}, ["delete", "update", "grant", "create", "old"]),
    ],
)
def test_filters(operator, log, query, names):
    res = operator.get(AUDIT, query)
    assert shown(res) == ordered(log, *names)
    form = res.html.select_one("form.admin-filters")
    for name, value in query.items():
        field = form.select_one(f'[name="{name}"]')
        chosen = field.select_one("option[selected]") if field.name == "select" else field
        assert (chosen["value"] if chosen is not None else "") == value


def test_no_match(operator, log):
    res = operator.get(AUDIT, {"action": "room.nothing"})
    assert shown(res) == []
    assert "No event matches these filters." in res.text


def test_pages(operator, dbsession):
    for minute in range(51):
        add_event(dbsession, at=NOW - timedelta(minutes=minute), target_id=f"room-{minute}")
    first = operator.get(AUDIT, {"actor": "owner"})
    targets = [td.select("code")[1].text for td in first.html.select("#audit-results tbody tr")]
    assert targets == [f"room-{m}" for m in range(50)]
    assert "Page 1 of 2" in first.text
    older = first.html.select_one('a[rel="next"]')["href"]
    assert older.endswith("?actor=owner&page=2")
    second = operator.get(older)
    assert [td.select("code")[1].text for td in second.html.select("#audit-results tbody tr")] == [
        "room-50"
    ]
    # past the last page: the last one
    assert "Page 2 of 2" in operator.get(AUDIT, {"page": "9"}).text


def test_htmx_gets_the_results_alone(operator, log):
    swap = {"HX-Request": "true", "HX-Target": "audit-results"}
    res = operator.get(AUDIT, {"actor": "member"}, headers=swap)
    assert res.html.select_one("form.admin-filters") is None
    assert res.html.select_one("section#audit-results") is not None
    assert shown(res) == ordered(log, "update", "old")
    assert "HX-Request" in res.headers["Vary"]
    assert "HX-Target" in res.headers["Vary"]


def test_another_htmx_request_gets_the_whole_page(operator, log):
    """A boosted link to the log swaps the whole page in: it must get the page."""
    res = operator.get(AUDIT, {"actor": "member"}, headers={"HX-Request": "true"})
    assert res.html.select_one("form.admin-filters") is not None
    assert shown(res) == ordered(log, "update", "old")


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"since": "yesterday"}, "since", "Enter a date as YYYY-MM-DD."),
        ({"until": "2026-02-30"}, "until", "Enter a date as YYYY-MM-DD."),
        (
            {"since": "2026-12-02", "until": "2026-12-01"},
            "until",
            "The end date is before the start date.",
        ),
        ({"actor": "x" * 321}, "actor", "Ensure this field has no more than 320 characters."),
        ({"action": "x" * 65}, "action", "Ensure this field has no more than 64 characters."),
        ({"target_id": "x\x00"}, "target_id", "Must not contain NUL characters."),
    ],
)
def test_bad_filters(operator, log, query, field, message):
    res = operator.get(AUDIT, query, status=400)
    assert res.html.select_one(f"#{field}-error").text.strip() == message
    assert shown(res) == []
    assert "Correct the filters to see the events." in res.text


@pytest.mark.parametrize("page", ["0", "-1", "two"])
def test_bad_page(operator, log, page):
    res = operator.get(AUDIT, {"page": page}, status=400)
    assert "Not a valid page number." in res.text
    assert shown(res) == []


# -- CSV --------------------------------------------------------------------------------------


def csv_rows(res) -> list[dict]:
    assert res.content_type == "text/csv" and res.charset == "utf-8"
    return list(csv.DictReader(io.StringIO(res.text)))


def test_export_everything(operator, log):
    res = operator.get(EXPORT)
    assert res.headers["Content-Disposition"].startswith('attachment; filename="audit-')
    assert "no-store" in res.headers["Cache-Control"]
    rows = csv_rows(res)
    assert [r["action"] for r in rows] == ordered(log, "delete", "update", "grant", "create", "old")
    first = rows[0]
    event = log["delete"]
    assert first == {
        "created_at": "2026-12-01T12:00:00+00:00",
        "actor": "owner@example.org",
        "actor_id": "",
        "action": audit.ROOM_DELETE,
        "target_type": "room",
        "target_id": "the-room",
        "client_ip": "198.51.100.7",
        "request_id": event.request_id,
        "changes": '{"slug": "team-room"}',
    }


def test_export_follows_the_filters(operator, log):
    res = operator.get(EXPORT, {"actor": "member", "since": "2026-12-01"})
    assert [r["action"] for r in csv_rows(res)] == [audit.ROOM_UPDATE]


def test_the_page_links_the_filtered_export(operator, log):
    res = operator.get(AUDIT, {"actor": "member", "target_type": "room"})
    link = res.html.select_one('a[href*="export.csv"]')["href"]
    assert link.endswith("/admin/audit/export.csv?actor=member&target_type=room")


def test_export_streams_every_row_in_batches(operator, dbsession):
    total = 1203  # more than two batches
    start = NOW - timedelta(days=1)
    dbsession.add_all(
        AuditEvent(
            actor_label="owner@example.org",
            action=audit.ROOM_UPDATE,
            target_type="room",
            target_id=str(i),
            request_id="",
            client_ip="",
            changes={},
            # pairs share a moment: the batches' boundary must still not repeat or skip
            created_at=start + timedelta(seconds=i // 2),
        )
        for i in range(total)
    )
    dbsession.flush()
    rows = csv_rows(operator.get(EXPORT))
    assert len(rows) == total
    assert sorted(int(r["target_id"]) for r in rows) == list(range(total))
    moments = [r["created_at"] for r in rows]
    assert moments == sorted(moments, reverse=True)


def test_export_neutralises_formulas(operator, dbsession):
    add_event(
        dbsession, actor='=HYPERLINK("http://x")', target_id="+1", changes={"name": "@SUM(A1)"}
    )
    (row,) = csv_rows(operator.get(EXPORT))
    assert row["actor"] == '\'=HYPERLINK("http://x")'
    assert row["target_id"] == "'+1"
    assert json.loads(row["changes"]) == {"name": "@SUM(A1)"}  # inside JSON: harmless


def test_export_of_nothing_has_the_header(operator):
    res = operator.get(EXPORT, {"actor": "nobody"})
    assert res.text.splitlines() == [",".join(CSV_COLUMNS)]


# -- retention --------------------------------------------------------------------------------


def test_retention_default_and_bounds():
    assert load_settings(MINIMAL, {})["audit.retention_days"] == 365
    assert (
        load_settings({**MINIMAL, "audit.retention_days": "30"}, {})["audit.retention_days"] == 30
    )
    with pytest.raises(SettingsError) as exc:
        load_settings({**MINIMAL, "audit.retention_days": "0"}, {})
    assert exc.value.problems == ["audit.retention_days must be at least 1"]


def script_events(db) -> list[str]:  # noqa: F811
    db.expire_all()
    return sorted(e.target_id for e in db.scalars(select(AuditEvent)))


@pytest.fixture
def aged(db):  # noqa: F811
    now = datetime.now(UTC)
    for target, age in (("fresh", 1), ("edge", 29), ("old", 31), ("ancient", 400)):
        add_event(db, at=now - timedelta(days=age), target_id=target)
    db.commit()


def test_prune_deletes_what_is_older_than_the_retention(tmp_path, ini_settings, db, aged, capsys):  # noqa: F811
    path = write_ini(tmp_path / "thirty.ini", {**ini_settings, "audit.retention_days": "30"})
    assert prune_audit.main([str(path), "--dry-run"]) == 0
    assert capsys.readouterr().out == "audit events older than 30 days: 2 to delete (dry run)\n"
    assert script_events(db) == ["ancient", "edge", "fresh", "old"]
    assert prune_audit.main([str(path)]) == 0
    assert capsys.readouterr().out == "audit events older than 30 days: 2 deleted\n"
    assert script_events(db) == ["edge", "fresh"]


def test_prune_with_the_default_retention(ini, db, aged, capsys):  # noqa: F811
    assert prune_audit.main([ini]) == 0
    assert capsys.readouterr().out == "audit events older than 365 days: 1 deleted\n"
    assert script_events(db) == ["edge", "fresh", "old"]


def test_prune_without_a_configuration(tmp_path, capsys):
    assert prune_audit.main([str(tmp_path / "missing.ini")]) == 1
    assert "cannot read the configuration file" in capsys.readouterr().err

"""`meet-web-resend-notifications <ini>` against its own ini file and SQLite database:
saved recordings whose completion mail failed (`notified_at` unset) are mailed again,
whatever status the summary service moved them to; the others never twice."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from meet_web.models import Recording, RecordingAccess, Role, Room, User
from meet_web.scripts import resend_notifications
from tests.conftest import migrate
from tests.servers.smtp import closed_port


def write_ini(path: Path, settings: dict) -> str:
    lines = ["[app:main]", "use = egg:meet_web"]
    lines += [f"{key} = {str(value).replace('%', '%%')}" for key, value in settings.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(autouse=True)
def no_meet_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("MEET_") and not name.startswith("MEET_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def script_db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'resend.sqlite'}"
    migrate(url)
    return url


def add_recording(engine, status: str = "saved", notified_at=None):
    with Session(engine) as session:
        owner = User(sub=f"owner-{uuid.uuid4()}", email="owner@example.org", language="fr-fr")
        room = Room(name="Board", slug=f"board-{uuid.uuid4()}", access_level="public")
        recording = Recording(room=room, status=status, notified_at=notified_at)
        recording.accesses.append(RecordingAccess(user=owner, role=Role.OWNER))
        session.add_all([owner, room, recording])
        session.commit()
        return recording.id


@pytest.fixture
def engine(script_db):
    engine = create_engine(script_db)
    yield engine
    engine.dispose()


@pytest.fixture
def saved_recording(engine):
    return engine, add_recording(engine)


def status(engine, recording_id) -> str:
    with Session(engine) as session:
        return str(session.get(Recording, recording_id).status)


def notified_at(engine, recording_id):
    with Session(engine) as session:
        return session.get(Recording, recording_id).notified_at


def ini_for(tmp_path, settings, script_db, smtp_port, **extra) -> str:
    values = {
        **settings,
        "sqlalchemy.url": script_db,
        "testing.shared_connection": "false",
        "mail.host": "127.0.0.1",
        "mail.port": str(smtp_port),
        **extra,
    }
    return write_ini(tmp_path / "resend.ini", values)


def test_resends_and_marks_notified(tmp_path, settings, script_db, saved_recording, smtp, capsys):
    engine, recording_id = saved_recording
    ini = ini_for(tmp_path, settings, script_db, smtp.port)
    assert resend_notifications.main([ini]) == 0
    assert "1 recording(s) notified, 0 still failing" in capsys.readouterr().out
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == ["owner@example.org"]
    assert f"http://localhost/recordings/{recording_id}" in mail.text
    assert status(engine, recording_id) == "notification_succeeded"
    assert notified_at(engine, recording_id) is not None
    assert resend_notifications.main([ini]) == 0  # nothing left to send
    assert len(smtp.messages()) == 1


TOLD = datetime(2026, 7, 14, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "told", "mailed", "after"),
    [
        ("saved", None, True, "notification_succeeded"),
        # mailed, but the summary service failed: it stays saved, mailed once
        ("saved", TOLD, False, "saved"),
        ("notification_succeeded", TOLD, False, "notification_succeeded"),
        # the summary service's callback moved it on: the marker alone decides
        ("external_process_successful", TOLD, False, "external_process_successful"),
        ("external_process_successful", None, True, "external_process_successful"),
        ("external_process_failed", None, True, "external_process_failed"),
        # not saved: no mail is due
        ("stopped", None, False, "stopped"),
        ("failed_to_start", None, False, "failed_to_start"),
        ("aborted", None, False, "aborted"),
    ],
)
def test_mails_exactly_the_saved_recordings_not_yet_notified(
    tmp_path, settings, script_db, engine, smtp, capsys, state, told, mailed, after
):
    recording_id = add_recording(engine, state, told)
    ini = ini_for(tmp_path, settings, script_db, smtp.port)
    assert resend_notifications.main([ini]) == 0
    assert f"{int(mailed)} recording(s) notified, 0 still failing" in capsys.readouterr().out
    assert len(smtp.messages()) == int(mailed)
    assert status(engine, recording_id) == after
    if mailed:
        assert notified_at(engine, recording_id) is not None
    else:
        assert notified_at(engine, recording_id) == told


def test_relay_still_down(tmp_path, settings, script_db, saved_recording, capsys):
    engine, recording_id = saved_recording
    ini = ini_for(tmp_path, settings, script_db, closed_port())
    assert resend_notifications.main([ini]) == 1
    assert "0 recording(s) notified, 1 still failing" in capsys.readouterr().out
    assert status(engine, recording_id) == "saved"
    assert notified_at(engine, recording_id) is None


def test_needs_an_address_for_the_links(tmp_path, settings, script_db, smtp, capsys):
    ini = ini_for(tmp_path, settings, script_db, smtp.port, **{"app.base_url": ""})
    assert resend_notifications.main([ini]) == 1
    assert "app.base_url" in capsys.readouterr().err


def test_missing_ini(tmp_path, capsys):
    assert resend_notifications.main([str(tmp_path / "nowhere.ini")]) == 1
    assert "cannot read the configuration file" in capsys.readouterr().err

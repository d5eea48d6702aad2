"""`meet-web-resend-notifications <ini>` against its own ini file and SQLite database:
recordings whose completion mail failed (left `saved`) are mailed again."""

from __future__ import annotations

import os
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


@pytest.fixture
def saved_recording(script_db):
    engine = create_engine(script_db)
    with Session(engine) as session:
        owner = User(sub="owner", email="owner@example.org", language="fr-fr")
        room = Room(name="Board", slug="board", access_level="public")
        recording = Recording(room=room, status="saved")
        recording.accesses.append(RecordingAccess(user=owner, role=Role.OWNER))
        session.add_all([owner, room, recording])
        session.commit()
        recording_id = recording.id
    yield engine, recording_id
    engine.dispose()


def status(engine, recording_id) -> str:
    with Session(engine) as session:
        return str(session.get(Recording, recording_id).status)


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
    assert resend_notifications.main([ini]) == 0  # nothing left to send
    assert len(smtp.messages()) == 1


def test_relay_still_down(tmp_path, settings, script_db, saved_recording, capsys):
    engine, recording_id = saved_recording
    ini = ini_for(tmp_path, settings, script_db, closed_port())
    assert resend_notifications.main([ini]) == 1
    assert "0 recording(s) notified, 1 still failing" in capsys.readouterr().out
    assert status(engine, recording_id) == "saved"


def test_needs_an_address_for_the_links(tmp_path, settings, script_db, smtp, capsys):
    ini = ini_for(tmp_path, settings, script_db, smtp.port, **{"app.base_url": ""})
    assert resend_notifications.main([ini]) == 1
    assert "app.base_url" in capsys.readouterr().err


def test_missing_ini(tmp_path, capsys):
    assert resend_notifications.main([str(tmp_path / "nowhere.ini")]) == 1
    assert "cannot read the configuration file" in capsys.readouterr().err

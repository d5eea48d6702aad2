"""Recording maintenance (issue 10 item 8): expired recordings lose their object, then
their row; stray objects (their recording deleted, the S3 delete failed) are deleted
once older than the safety margin; both bounded per run; an S3 outage deletes nothing
and loses nothing. Against moto's S3 server, through RecordingMaintenance on the test's
database, and `meet-web-clean-recordings <ini>` on a database of its own."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from meet_web.db import utcnow
from meet_web.models import Recording, RecordingAccess, RecordingShareLink, Role, Room, User
from meet_web.recording import RecordingConfig, RecordingStorage
from meet_web.recording.maintenance import FAILURES_IN_A_ROW, RecordingMaintenance
from meet_web.scripts import clean_recordings
from tests.conftest import (
    RECORDINGS_BUCKET,
    app_service,
    make_recording,
    migrate,
    put_object,
    stored_keys,
)
from tests.functional.test_recordings_script import no_meet_environment, write_ini  # noqa: F401
from tests.servers.smtp import closed_port

LATER = timedelta(hours=2)  # past the default safety margin of an hour


def objects(s3) -> set[str]:
    return set(stored_keys(s3))


def put(s3, *keys: str) -> None:
    for key in keys:
        put_object(s3, key, b"media")


@pytest.fixture
def maintenance(recording_app, connection):
    """Maintenance as the app would run it (expiry after 30 days), on the test's database."""

    def make(**settings) -> RecordingMaintenance:
        app = recording_app(**{"recording.expiration_days": "30", **settings}).app
        return RecordingMaintenance(
            app_service(app, RecordingConfig),
            app_service(app, RecordingStorage),
            lambda: Session(bind=connection, join_transaction_mode="create_savepoint"),
        )

    return make


def aged(dbsession, cast, days: float, **fields) -> Recording:
    fields.setdefault("status", "notification_succeeded")
    return make_recording(
        dbsession,
        cast.room,
        {cast.owner: "owner"},
        created_at=utcnow() - timedelta(days=days),
        **fields,
    )


def exists(dbsession, recording_id) -> bool:
    count = select(func.count()).select_from(Recording).where(Recording.id == recording_id)
    return dbsession.scalar(count) == 1


# -- expired recordings ------------------------------------------------------------------------


def test_expired_recordings_lose_their_object_then_their_row(maintenance, cast, dbsession, s3):
    old = aged(dbsession, cast, 31)
    old_transcript = aged(dbsession, cast, 40, mode="transcript", status="saved")
    failed = aged(dbsession, cast, 35, status="failed_to_start")  # it never had an object
    fresh = aged(dbsession, cast, 29)
    running = aged(dbsession, cast, 31, status="active")
    dbsession.add(
        RecordingShareLink(recording_id=old.id, token_digest="0" * 64, expires_at=utcnow() + LATER)
    )
    dbsession.flush()
    keys = {r: f"recordings/{r.id}.{r.extension}" for r in (old, old_transcript, fresh, running)}
    put(s3, *keys.values())

    outcome = maintenance().clean_expired()

    assert sorted(outcome.done) == sorted(
        [keys[old_transcript], f"recordings/{failed.id}.mp4", keys[old]]
    )
    assert outcome.ok
    assert objects(s3) == {keys[fresh], keys[running]}
    assert [exists(dbsession, r.id) for r in (old, old_transcript, failed, fresh, running)] == [
        False,
        False,
        False,
        True,
        True,
    ]
    # its accesses and share links went with it
    for model in (RecordingAccess, RecordingShareLink):
        gone = select(func.count()).select_from(model).where(model.recording_id == old.id)
        assert dbsession.scalar(gone) == 0


def test_nothing_expires_without_expiration_days(maintenance, cast, dbsession, s3):
    old = aged(dbsession, cast, 3650)
    put(s3, f"recordings/{old.id}.mp4")
    assert maintenance(**{"recording.expiration_days": ""}).clean_expired().done == []
    assert exists(dbsession, old.id)
    assert objects(s3) == {f"recordings/{old.id}.mp4"}


def test_expired_recordings_bounded_per_run_oldest_first(maintenance, cast, dbsession, s3):
    rows = [aged(dbsession, cast, 31 + n) for n in range(3)]
    first = maintenance().clean_expired(limit=2)
    assert first.done == [f"recordings/{r.id}.mp4" for r in (rows[2], rows[1])]
    assert [exists(dbsession, r.id) for r in rows] == [True, False, False]
    assert maintenance().clean_expired(limit=2).done == [f"recordings/{rows[0].id}.mp4"]


def test_expired_dry_run_deletes_nothing(maintenance, cast, dbsession, s3):
    old = aged(dbsession, cast, 31)
    put(s3, f"recordings/{old.id}.mp4")
    assert maintenance().clean_expired(dry_run=True).done == [f"recordings/{old.id}.mp4"]
    assert exists(dbsession, old.id)
    assert objects(s3) == {f"recordings/{old.id}.mp4"}


def test_s3_down_keeps_every_row_for_the_next_run(maintenance, cast, dbsession, s3, caplog):
    rows = [aged(dbsession, cast, 31 + n) for n in range(FAILURES_IN_A_ROW + 2)]
    put(s3, *(f"recordings/{r.id}.mp4" for r in rows))
    down = maintenance(**{"s3.endpoint_url": f"http://127.0.0.1:{closed_port()}"})

    outcome = down.clean_expired()

    assert outcome.done == []
    assert len(outcome.failed) == FAILURES_IN_A_ROW  # then it gave up for this run
    assert outcome.stopped == f"{FAILURES_IN_A_ROW} deletes failed in a row"
    assert "not deleted, tried again next run" in caplog.text
    assert all(exists(dbsession, r.id) for r in rows)
    # the store is back: the next run deletes them all
    assert len(maintenance().clean_expired().done) == len(rows)
    assert not any(exists(dbsession, r.id) for r in rows)
    assert objects(s3) == set()


# -- stray objects -----------------------------------------------------------------------------


def test_stray_objects_are_deleted_once_old_enough(maintenance, cast, dbsession, s3):
    kept = aged(dbsession, cast, 1)
    stray, other_stray = uuid.uuid4(), uuid.uuid4()
    keep = {
        f"recordings/{kept.id}.mp4",  # its recording exists
        f"recordings/{uuid.uuid4()}.webm",  # not a recording's name
        "recordings/notes.txt",
        f"recordings/archive/{uuid.uuid4()}.mp4",  # not in the folder itself
        f"elsewhere/{uuid.uuid4()}.mp4",
        f"recordings/{str(uuid.uuid4()).upper()}.mp4",
    }
    put(s3, *keep, f"recordings/{stray}.mp4", f"recordings/{other_stray}.ogg")

    # younger than the safety margin: left alone
    assert maintenance().clean_strays().done == []
    outcome = maintenance().clean_strays(now=utcnow() + LATER)
    assert sorted(outcome.done) == sorted(
        [f"recordings/{stray}.mp4", f"recordings/{other_stray}.ogg"]
    )
    assert outcome.ok
    assert objects(s3) == keep


def test_an_api_delete_whose_s3_delete_failed_is_finished(
    recording_app, maintenance, cast, dbsession, s3, caplog
):
    recording = aged(dbsession, cast, 1, status="saved")
    key = f"recordings/{recording.id}.mp4"
    put(s3, key)
    down = recording_app(**{"s3.endpoint_url": f"http://127.0.0.1:{closed_port()}"})
    down.login_as(cast.owner)
    down.delete(f"/api/v1.0/recordings/{recording.id}/", status=204)
    assert not exists(dbsession, recording.id)
    assert objects(s3) == {key}  # the store was down
    assert maintenance().clean_strays(now=utcnow() + LATER).done == [key]
    assert objects(s3) == set()


def test_stray_objects_bounded_per_run(maintenance, s3):
    keys = sorted(f"recordings/{uuid.uuid4()}.mp4" for _ in range(3))
    put(s3, *keys)
    assert maintenance().clean_strays(limit=2, now=utcnow() + LATER).done == keys[:2]
    assert maintenance().clean_strays(limit=2, now=utcnow() + LATER).done == keys[2:]
    assert objects(s3) == set()


def test_stray_dry_run_deletes_nothing(maintenance, s3):
    key = f"recordings/{uuid.uuid4()}.ogg"
    put(s3, key)
    assert maintenance().clean_strays(dry_run=True, now=utcnow() + LATER).done == [key]
    assert objects(s3) == {key}


def test_s3_down_while_looking_for_strays(maintenance, s3, caplog):
    down = maintenance(**{"s3.endpoint_url": f"http://127.0.0.1:{closed_port()}"})
    outcome = down.clean_strays(now=utcnow() + LATER)
    assert (outcome.done, outcome.failed) == ([], [])
    assert outcome.stopped and "cannot list recordings/" in outcome.stopped
    assert "stray recording objects not looked for" in caplog.text


def test_the_output_folder_setting_is_followed(maintenance, s3):
    keys = [f"media/rec/{uuid.uuid4()}.mp4", f"recordings/{uuid.uuid4()}.mp4"]
    put(s3, *keys)
    custom = maintenance(**{"recording.output_folder": "media/rec/"})
    assert custom.clean_strays(now=utcnow() + LATER).done == keys[:1]


# -- the command -------------------------------------------------------------------------------


@pytest.fixture
def script_db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'clean.sqlite'}"
    migrate(url)
    return url


@pytest.fixture
def script_rows(script_db):
    """An expired recording and a fresh one, in the command's own database."""
    engine = create_engine(script_db)
    with Session(engine) as session:
        owner = User(sub="owner", email="owner@example.org")
        room = Room(name="Board", slug="board", access_level="public")
        ids = {}
        for name, days in (("expired", 31), ("fresh", 1)):
            recording = Recording(
                room=room, status="saved", created_at=utcnow() - timedelta(days=days)
            )
            recording.accesses.append(RecordingAccess(user=owner, role=Role.OWNER))
            session.add(recording)
            session.flush()
            ids[name] = recording.id
        session.commit()
    yield engine, ids
    engine.dispose()


def ini_for(tmp_path, settings, script_db, s3, **extra) -> str:
    values = {
        **settings,
        "sqlalchemy.url": script_db,
        "testing.shared_connection": "false",
        "recording.enabled": "true",
        "recording.expiration_days": "30",
        "s3.endpoint_url": s3.endpoint_url,
        "s3.bucket": RECORDINGS_BUCKET,
        "s3.access_key_id": "testing",
        "s3.secret_access_key": "testing",
        **extra,
    }
    return write_ini(tmp_path / "clean.ini", values)


def remaining(engine) -> set[uuid.UUID]:
    with Session(engine) as session:
        return set(session.scalars(select(Recording.id)))


def test_the_command(recording_app, tmp_path, settings, script_db, script_rows, s3, capsys):
    engine, ids = script_rows
    expired, fresh = (f"recordings/{ids[name]}.mp4" for name in ("expired", "fresh"))
    stray = f"recordings/{uuid.uuid4()}.mp4"
    put(s3, expired, fresh, stray)
    ini = ini_for(tmp_path, settings, script_db, s3)

    assert clean_recordings.main([ini, "--dry-run", "--safety-margin", "0"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"would delete {expired} (expired recording)",
        "expired recordings: 1 to delete (dry run)",
        f"would delete {stray} (stray object)",
        "stray objects: 1 to delete (dry run)",
    ]
    assert objects(s3) == {expired, fresh, stray}
    assert remaining(engine) == set(ids.values())

    # the stray is younger than the default margin of an hour
    assert clean_recordings.main([ini]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "expired recordings: 1 deleted, 0 not deleted",
        "stray objects: 0 deleted, 0 not deleted",
    ]
    assert objects(s3) == {fresh, stray}
    assert remaining(engine) == {ids["fresh"]}

    assert clean_recordings.main([ini, "--safety-margin", "0"]) == 0
    assert "stray objects: 1 deleted, 0 not deleted" in capsys.readouterr().out
    assert objects(s3) == {fresh}


def test_the_command_with_s3_down(
    recording_app, tmp_path, settings, script_db, script_rows, s3, capsys
):
    engine, ids = script_rows
    down = f"http://127.0.0.1:{closed_port()}"
    ini = ini_for(tmp_path, settings, script_db, s3, **{"s3.endpoint_url": down})
    assert clean_recordings.main([ini]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "expired recordings: 0 deleted, 1 not deleted"
    assert out[1].startswith("stray objects: 0 deleted, 0 not deleted (stopped: cannot list")
    assert remaining(engine) == set(ids.values())


def test_the_command_without_expiry(
    recording_app, tmp_path, settings, script_db, script_rows, s3, capsys
):
    engine, ids = script_rows
    ini = ini_for(tmp_path, settings, script_db, s3, **{"recording.expiration_days": ""})
    assert clean_recordings.main([ini]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "expired recordings: none (recording.expiration_days is not set)"
    )
    assert remaining(engine) == set(ids.values())


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--limit", "0"], "argument --limit: 0 is not a positive number"),
        (["--limit", "many"], "argument --limit: invalid positive_int value: 'many'"),
        (["--safety-margin", "-1"], "argument --safety-margin: -1 is not a number of seconds"),
    ],
)
def test_bad_arguments(tmp_path, arguments, message, capsys):
    with pytest.raises(SystemExit) as exc:
        clean_recordings.main([str(tmp_path / "x.ini"), *arguments])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_ini(tmp_path, capsys):
    assert clean_recordings.main([str(tmp_path / "nowhere.ini")]) == 1
    assert "cannot read the configuration file" in capsys.readouterr().err

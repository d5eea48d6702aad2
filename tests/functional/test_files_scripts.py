"""`meet-web-clean-pending-files` and `meet-web-purge-deleted-files`, in-process, against
their own ini file and SQLite database and moto's S3 server: the objects go first, then
the rows; a store that fails keeps the rows for the next run."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from meet_web.models import File, User
from meet_web.scripts import files as file_scripts
from tests.conftest import RECORDINGS_BUCKET, files_settings, migrate
from tests.functional.test_recordings_script import no_meet_environment, write_ini  # noqa: F401
from tests.servers.smtp import closed_port

NOW = datetime.now(UTC)


@pytest.fixture
def script_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'files.sqlite'}"
    migrate(url)
    engine = create_engine(url)
    yield url, engine
    engine.dispose()


@pytest.fixture
def bucket(s3):
    s3.create_bucket(RECORDINGS_BUCKET)
    client = s3.client()
    yield client
    client.close()


def ini_for(tmp_path, settings, s3, url, **extra) -> str:
    values = {
        **settings,
        **files_settings(s3),
        "sqlalchemy.url": url,
        "testing.shared_connection": "false",
        **extra,
    }
    return write_ini(tmp_path / "files.ini", values)


def add_files(engine, bucket, **files: dict) -> dict[str, str]:
    """Files by name ({field: value}), their objects stored; returns name -> id."""
    with Session(engine) as session:
        owner = User(sub="owner", email="owner@example.org")
        session.add(owner)
        made = {}
        for name, fields in files.items():
            file = File(creator=owner, filename=f"{name}.png", title=name, **fields)
            session.add(file)
            made[name] = file
        session.commit()
        for file in made.values():
            for key in (file.key, file.temporary_key):
                bucket.put_object(Bucket=RECORDINGS_BUCKET, Key=key, Body=b"\x89PNG\r\n\x1a\n")
        return {name: str(file.id) for name, file in made.items()}


def kept(engine) -> set[str]:
    with Session(engine) as session:
        return {str(file_id) for file_id in session.scalars(select(File.id))}


def stored(bucket) -> set[str]:
    listed = bucket.list_objects_v2(Bucket=RECORDINGS_BUCKET).get("Contents", [])
    return {item["Key"] for item in listed}


def objects_of(file_id: str) -> set[str]:
    return {f"files/{file_id}.png", f"tmp/files/{file_id}.png"}


def ago(**delta) -> dict:
    moment = NOW - timedelta(**delta)
    return {"created_at": moment, "updated_at": moment}


def test_clean_pending(tmp_path, settings, s3, script_db, bucket, capsys):
    url, engine = script_db
    ids = add_files(
        engine,
        bucket,
        old=ago(hours=25),
        stuck=dict(upload_state="analyzing", **ago(hours=30)),
        recent=ago(hours=1),
        ready=dict(upload_state="ready", **ago(days=3)),
    )
    ini = ini_for(tmp_path, settings, s3, url)
    assert file_scripts.clean_pending_main([ini]) == 0
    assert "2 pending file(s) removed, 0 kept for the next run" in capsys.readouterr().out
    assert kept(engine) == {ids["recent"], ids["ready"]}
    assert stored(bucket) == objects_of(ids["recent"]) | objects_of(ids["ready"])

    assert file_scripts.clean_pending_main([ini, "--hours", "0.5"]) == 0
    assert kept(engine) == {ids["ready"]}


def test_purge_deleted(tmp_path, settings, s3, script_db, bucket, capsys):
    url, engine = script_db
    ids = add_files(
        engine,
        bucket,
        refused=dict(deleted_at=NOW, hard_deleted_at=NOW),
        long_gone=dict(upload_state="ready", deleted_at=NOW - timedelta(days=8)),
        lately=dict(upload_state="ready", deleted_at=NOW - timedelta(days=2)),
        kept=dict(upload_state="ready"),
    )
    ini = ini_for(tmp_path, settings, s3, url)
    assert file_scripts.purge_deleted_main([ini]) == 0
    assert "2 deleted file(s) removed, 0 kept for the next run" in capsys.readouterr().out
    assert kept(engine) == {ids["lately"], ids["kept"]}
    assert stored(bucket) == objects_of(ids["lately"]) | objects_of(ids["kept"])


def test_purge_follows_the_grace_setting(tmp_path, settings, s3, script_db, bucket):
    url, engine = script_db
    ids = add_files(engine, bucket, lately=dict(deleted_at=NOW - timedelta(days=2)))
    ini = ini_for(tmp_path, settings, s3, url, **{"files.purge_grace_days": "1"})
    assert file_scripts.purge_deleted_main([ini]) == 0
    assert ids["lately"] not in kept(engine)


def test_store_down_keeps_the_rows(tmp_path, settings, s3, script_db, bucket, capsys, caplog):
    url, engine = script_db
    ids = add_files(engine, bucket, refused=dict(deleted_at=NOW, hard_deleted_at=NOW))
    down = {"s3.endpoint_url": f"http://127.0.0.1:{closed_port()}"}
    ini = ini_for(tmp_path, settings, s3, url, **down)
    with caplog.at_level(logging.ERROR, logger="meet_web.files.maintenance"):
        assert file_scripts.purge_deleted_main([ini]) == 1
    assert "0 deleted file(s) removed, 1 kept for the next run" in capsys.readouterr().out
    assert any(ids["refused"] in record.getMessage() for record in caplog.records)
    assert kept(engine) == {ids["refused"]}
    # the store is back: the next run removes it
    assert file_scripts.purge_deleted_main([ini_for(tmp_path, settings, s3, url)]) == 0
    assert kept(engine) == set()
    assert stored(bucket) == set()


def test_clean_pending_store_down(tmp_path, settings, s3, script_db, bucket, capsys):
    url, engine = script_db
    ids = add_files(engine, bucket, old=ago(hours=25))
    down = {"s3.endpoint_url": f"http://127.0.0.1:{closed_port()}"}
    assert file_scripts.clean_pending_main([ini_for(tmp_path, settings, s3, url, **down)]) == 1
    assert kept(engine) == {ids["old"]}


@pytest.mark.parametrize("hours", ["0", "-2", "soon"])
def test_bad_hours(tmp_path, hours, capsys):
    with pytest.raises(SystemExit) as exit_info:
        file_scripts.clean_pending_main([str(tmp_path / "any.ini"), "--hours", hours])
    assert exit_info.value.code == 2
    assert "--hours" in capsys.readouterr().err


@pytest.mark.parametrize("main", [file_scripts.clean_pending_main, file_scripts.purge_deleted_main])
def test_missing_ini(tmp_path, capsys, main):
    assert main([str(tmp_path / "nowhere.ini")]) == 1
    assert "cannot read the configuration file" in capsys.readouterr().err

"""The console scripts, run against their own ini file and SQLite database.

Each test gets a fresh migrated SQLite file and an ini pointing at it, built from the
session's settings (so the OIDC provider and LiveKit fake are real, just not contacted).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from pyramid.paster import bootstrap
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from meet_web import models
from meet_web.models import Application, ApplicationScope, User
from meet_web.scripts import create_application, operator, pshell
from tests.conftest import migrate

BIN = Path(sys.executable).parent


@pytest.fixture
def script_db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'scripts.sqlite'}"
    migrate(url)
    return url


def write_ini(path: Path, settings: dict) -> Path:
    lines = ["[app:main]", "use = egg:meet_web"]
    lines += [f"{key} = {str(value).replace('%', '%%')}" for key, value in settings.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def ini_settings(settings, script_db) -> dict:
    return {**settings, "sqlalchemy.url": script_db, "testing.shared_connection": "false"}


@pytest.fixture
def ini(tmp_path, ini_settings) -> str:
    return str(write_ini(tmp_path / "scripts.ini", ini_settings))


@pytest.fixture
def db(script_db):
    """A session on the script's database, to prepare rows and read the results.

    A plain pysqlite engine on purpose: it opens no transaction for a SELECT, so reading
    the results leaves no lock that would block the next script run.
    """
    engine = create_engine(script_db)
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture(autouse=True)
def no_meet_environment(monkeypatch):
    """The scripts read MEET_* variables: keep the caller's out of the way."""
    for name in list(os.environ):
        if name.startswith("MEET_") and not name.startswith("MEET_TEST_"):
            monkeypatch.delenv(name)


def add_user(db: Session, sub: str | None, email: str, **fields) -> User:
    user = User(sub=sub, email=email, **fields)
    db.add(user)
    db.commit()
    return user


def operator_flags(db: Session) -> dict[str, bool]:
    db.expire_all()
    return {u.email: u.is_operator for u in db.scalars(select(User))}


def count_applications(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Application))


# meet-web-operator


def test_operator_grants_then_revokes(ini, db, capsys):
    add_user(db, "alice", "Alice@Example.org")
    add_user(db, "bob", "bob@example.org")

    assert operator.main([ini, "alice@EXAMPLE.org"]) == 0
    assert operator_flags(db) == {"Alice@Example.org": True, "bob@example.org": False}
    assert "is now an operator" in capsys.readouterr().out

    assert operator.main([ini, "  ALICE@example.org ", "--revoke"]) == 0
    assert operator_flags(db) == {"Alice@Example.org": False, "bob@example.org": False}
    assert "is no longer an operator" in capsys.readouterr().out


def test_operator_sets_every_user_with_that_email(ini, db):
    add_user(db, "alice-1", "alice@example.org")
    add_user(db, "alice-2", "ALICE@example.org")

    assert operator.main([ini, "alice@example.org"]) == 0

    assert set(operator_flags(db).values()) == {True}


def test_operator_unknown_email(ini, db, capsys):
    add_user(db, "alice", "alice@example.org")

    assert operator.main([ini, "nobody@example.org"]) == 1

    err = capsys.readouterr().err
    assert "no user has the email address nobody@example.org" in err
    assert operator_flags(db) == {"alice@example.org": False}


def test_operator_refuses_what_is_not_an_email(ini, capsys):
    with pytest.raises(SystemExit) as exc:
        operator.main([ini, "alice"])
    assert exc.value.code == 2
    assert "'alice' is not an email address" in capsys.readouterr().err


def test_operator_missing_ini_file(tmp_path, capsys):
    assert operator.main([str(tmp_path / "missing.ini"), "alice@example.org"]) == 1
    assert "cannot read the configuration file" in capsys.readouterr().err


def test_operator_reports_settings_errors_without_traceback(tmp_path, ini_settings, capsys):
    del ini_settings["livekit.api_key"]
    ini = write_ini(tmp_path / "broken.ini", ini_settings)

    assert operator.main([str(ini), "alice@example.org"]) == 1

    err = capsys.readouterr().err
    assert "Meet Web cannot start" in err
    assert "livekit.api_key is required" in err
    assert "Traceback" not in err


def test_operator_applies_environment_overrides(tmp_path, ini_settings, db, monkeypatch):
    """bootstrap goes through the app factory, so MEET_* variables apply."""
    add_user(db, "alice", "alice@example.org")
    monkeypatch.setenv("MEET_SQLALCHEMY_URL", ini_settings["sqlalchemy.url"])
    ini_settings["sqlalchemy.url"] = f"sqlite:///{tmp_path / 'elsewhere' / 'none.sqlite'}"
    ini = write_ini(tmp_path / "env.ini", ini_settings)

    assert operator.main([str(ini), "alice@example.org"]) == 0

    assert operator_flags(db) == {"alice@example.org": True}


def test_operator_console_script(ini, db):
    add_user(db, "alice", "alice@example.org")

    done = subprocess.run(
        [str(BIN / "meet-web-operator"), ini, "ALICE@example.org"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert "alice@example.org" in done.stdout
    assert operator_flags(db) == {"alice@example.org": True}

    done = subprocess.run(
        [str(BIN / "meet-web-operator"), ini, "nobody@example.org"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 1
    assert "no user has the email address nobody@example.org" in done.stderr
    assert "Traceback" not in done.stderr


# meet-web-create-application


def test_create_application(ini, db, capsys):
    status = create_application.main(
        [
            ini,
            "--name",
            "  Calendar  ",
            "--scope",
            "rooms:retrieve",
            "--scope",
            "rooms:create",
            "--scope",
            "rooms:create",
            "--domain",
            "Example.ORG",
            "--domain",
            "sub.example.net",
            "--domain",
            "example.org",
        ]
    )

    assert status == 0
    out = capsys.readouterr().out
    printed = json.loads(out)
    assert set(printed) == {"client_id", "client_secret"}
    secret = printed["client_secret"]
    assert len(secret) == 128
    assert secret.isascii() and secret.isalnum()

    application = db.scalars(select(Application)).one()
    assert application.client_id == printed["client_id"]
    assert application.name == "Calendar"
    assert application.is_active is True
    assert application.scopes == [ApplicationScope.ROOMS_CREATE, ApplicationScope.ROOMS_RETRIEVE]
    assert [d.domain for d in application.allowed_domains] == ["example.org", "sub.example.net"]
    # Stored hashed, never in clear.
    assert secret not in application.client_secret
    assert application.check_secret(secret)
    assert not application.check_secret(secret[:-1])
    assert application.can_delegate_email("someone@EXAMPLE.org")
    assert not application.can_delegate_email("someone@example.com")


def test_create_inactive_application_without_domains(ini, db, capsys):
    assert (
        create_application.main([ini, "--name", "Bot", "--scope", "rooms:list", "--inactive"]) == 0
    )
    printed = json.loads(capsys.readouterr().out)

    application = db.scalars(select(Application)).one()
    assert application.client_id == printed["client_id"]
    assert application.is_active is False
    assert application.scopes == ["rooms:list"]
    assert application.allowed_domains == []
    assert application.can_delegate_email("anyone@anywhere.test")


def test_each_application_gets_its_own_credentials(ini, db, capsys):
    for _ in range(2):
        assert create_application.main([ini, "--name", "Same", "--scope", "rooms:list"]) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())

    assert first["client_id"] != second["client_id"]
    assert first["client_secret"] != second["client_secret"]
    assert count_applications(db) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scope", "rooms:list"], "the following arguments are required: --name"),
        (["--name", "X"], "the following arguments are required: --scope"),
        (["--name", "X", "--scope", "rooms:fly"], "argument --scope: invalid choice: 'rooms:fly'"),
        (["--name", "   ", "--scope", "rooms:list"], "argument --name: must not be blank"),
        (["--name", "x" * 256, "--scope", "rooms:list"], "argument --name: at most 255"),
        (
            ["--name", "X", "--scope", "rooms:list", "--domain", "bob@example.org"],
            "argument --domain: 'bob@example.org' is not a domain name",
        ),
        (
            ["--name", "X", "--scope", "rooms:list", "--domain", "localhost"],
            "argument --domain: 'localhost' is not a domain name",
        ),
        (
            ["--name", "X", "--scope", "rooms:list", "--domain", "exa_mple..org"],
            "argument --domain: 'exa_mple..org' is not a domain name",
        ),
    ],
)
def test_create_application_refuses_bad_input(ini, db, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        create_application.main([ini, *args])

    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""
    assert count_applications(db) == 0


def test_create_application_settings_error_writes_nothing(tmp_path, ini_settings, db, capsys):
    ini_settings["session.secret"] = "too short"
    ini = write_ini(tmp_path / "broken.ini", ini_settings)

    assert create_application.main([str(ini), "--name", "X", "--scope", "rooms:list"]) == 1

    captured = capsys.readouterr()
    assert "session.secret must be at least 32 bytes" in captured.err
    assert captured.out == ""
    assert count_applications(db) == 0


def test_create_application_console_script(ini, db):
    command = [str(BIN / "meet-web-create-application"), ini, "--name", "CLI"]
    done = subprocess.run(
        [*command, "--scope", "rooms:delete", "--domain", "EXAMPLE.org"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    application = db.scalars(select(Application)).one()
    assert application.client_id == printed["client_id"]
    assert application.check_secret(printed["client_secret"])
    assert application.scopes == ["rooms:delete"]
    assert [d.domain for d in application.allowed_domains] == ["example.org"]

    done = subprocess.run(
        [*command, "--scope", "nope"], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 2
    assert "invalid choice: 'nope'" in done.stderr
    assert done.stdout == ""
    assert count_applications(db) == 1


# pshell


def test_pshell_setup(ini, db):
    with bootstrap(ini) as env:
        shell = contextmanager(pshell.setup)
        with shell(env):
            assert env["models"] is models
            assert env["tm"] is env["request"].tm
            env["dbsession"].add(User(sub="kept", email="kept@example.org"))
            env["tm"].commit()
            env["tm"].begin()
            env["dbsession"].add(User(sub="dropped", email="dropped@example.org"))
            env["dbsession"].flush()
        # Leaving the shell rolled back what was not committed.
        env["registry"]["dbengine"].dispose()

    assert operator_flags(db) == {"kept@example.org": False}


def test_pshell_console(tmp_path, ini_settings, db):
    ini = write_ini(tmp_path / "shell.ini", ini_settings)
    with ini.open("a", encoding="utf-8") as f:
        f.write("\n[pshell]\nsetup = meet_web.scripts.pshell.setup\n")
    commands = (
        "dbsession.add(models.User(sub='shell', email='shell@example.org'))\n"
        "tm.commit()\n"
        "print('users:', tm.begin() and dbsession.query(models.User).count())\n"
    )

    done = subprocess.run(
        [str(BIN / "pshell"), str(ini)],
        input=commands,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert "users: 1" in done.stdout
    for name in ("dbsession", "models", "tm"):
        assert f"\n  {name} " in done.stderr  # the banner lists them
    assert operator_flags(db) == {"shell@example.org": False}

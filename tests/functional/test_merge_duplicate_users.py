"""Merging users who share an email address: the rules (services/user_merge.py) and
`meet-web-merge-duplicate-users` (dry run, email filter, one transaction)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from meet_web.db import utcnow
from meet_web.models import (
    AccessLevel,
    File,
    Recording,
    RecordingAccess,
    ResourceAccess,
    Role,
    Room,
    User,
)
from meet_web.models.audit import AuditEvent
from meet_web.scripts import merge_duplicate_users
from meet_web.services.user_merge import duplicate_groups, merge_duplicates
from tests.functional.test_scripts import (  # noqa: F401 (fixtures)
    db,
    ini,
    ini_settings,
    no_meet_environment,
    script_db,
)

NOW = utcnow()


def person(session: Session, sub: str | None, email: str | None, days_old: int) -> User:
    user = User(sub=sub, email=email, created_at=NOW - timedelta(days=days_old))
    session.add(user)
    session.flush()
    return user


def room_with(session: Session, name: str) -> Room:
    room = Room(name=name, slug=name.lower(), access_level=AccessLevel.PUBLIC)
    session.add(room)
    session.flush()
    return room


def grant(session: Session, room: Room, user: User, role: Role) -> None:
    session.add(ResourceAccess(resource_id=room.id, user_id=user.id, role=role))
    session.flush()


def roles_on(session: Session, model, column, resource_id) -> dict:
    rows = session.execute(
        select(model.user_id, model.role).where(getattr(model, column) == resource_id)
    )
    return dict(rows.all())


@pytest.fixture
def family(dbsession):
    """Three users of ann@example.org (any case), the newest kept, with overlapping accesses."""
    oldest = person(dbsession, "ann-1", "ANN@example.org", 30)
    older = person(dbsession, "ann-2", "ann@Example.org ", 20)
    newest = person(dbsession, "ann-3", "ann@example.org", 1)
    bystander = person(dbsession, "bob", "bob@example.org", 5)
    shared = room_with(dbsession, "Shared")
    grant(dbsession, shared, oldest, Role.OWNER)
    grant(dbsession, shared, newest, Role.MEMBER)
    mine = room_with(dbsession, "Mine")
    grant(dbsession, mine, older, Role.ADMINISTRATOR)
    grant(dbsession, mine, bystander, Role.OWNER)
    recording = Recording(room_id=shared.id)
    dbsession.add(recording)
    dbsession.flush()
    dbsession.add_all(
        [
            RecordingAccess(recording_id=recording.id, user_id=older.id, role=Role.OWNER),
            RecordingAccess(recording_id=recording.id, user_id=newest.id, role=Role.ADMINISTRATOR),
        ]
    )
    upload = File(creator_id=oldest.id, filename="cat.png")
    dbsession.add(upload)
    dbsession.flush()
    return {
        "oldest": oldest.id,
        "older": older.id,
        "newest": newest.id,
        "bob": bystander.id,
        "shared": shared.id,
        "mine": mine.id,
        "recording": recording.id,
        "file": upload.id,
    }


def test_the_newest_is_kept_and_the_higher_role_wins(dbsession, family):
    plan = merge_duplicates(dbsession)

    [group] = plan.groups
    assert group.email == "ann@example.org"
    assert group.kept.id == family["newest"]
    assert {u.id for u in group.merged} == {family["oldest"], family["older"]}
    dbsession.expunge_all()
    assert dbsession.get(User, family["oldest"]) is None
    assert dbsession.get(User, family["older"]) is None
    newest = family["newest"]
    assert roles_on(dbsession, ResourceAccess, "resource_id", family["shared"]) == {
        newest: Role.OWNER
    }
    assert roles_on(dbsession, ResourceAccess, "resource_id", family["mine"]) == {
        newest: Role.ADMINISTRATOR,
        family["bob"]: Role.OWNER,
    }
    assert roles_on(dbsession, RecordingAccess, "recording_id", family["recording"]) == {
        newest: Role.OWNER
    }
    assert dbsession.get(File, family["file"]).creator_id == newest


def test_blank_and_missing_emails_are_never_merged(dbsession):
    for sub in ("x1", "x2"):
        person(dbsession, sub, None, 3)
    for sub in ("y1", "y2"):
        person(dbsession, sub, "  ", 3)
    assert duplicate_groups(dbsession) == []
    assert merge_duplicates(dbsession).merged_count == 0


def test_the_email_filter_limits_the_merge(dbsession, family):
    person(dbsession, "carl-1", "carl@example.org", 9)
    person(dbsession, "carl-2", "carl@example.org", 2)
    plan = merge_duplicates(dbsession, "CARL")
    assert [g.email for g in plan.groups] == ["carl@example.org"]
    assert dbsession.get(User, family["oldest"]) is not None


def test_a_dry_run_changes_nothing_but_counts(dbsession, family):
    plan = merge_duplicates(dbsession, dry_run=True)
    assert plan.merged_count == 2
    [group] = plan.groups
    assert group.moved_room_accesses == 2 and group.moved_files == 1
    dbsession.expire_all()
    assert dbsession.get(User, family["oldest"]) is not None
    assert roles_on(dbsession, ResourceAccess, "resource_id", family["shared"]) == {
        family["oldest"]: Role.OWNER,
        family["newest"]: Role.MEMBER,
    }


# -- the console script --------------------------------------------------------------


def seed(session: Session) -> dict:
    old = person(session, "dee-1", "dee@example.org", 10)
    new = person(session, "dee-2", "DEE@example.org", 1)
    room = room_with(session, "Dee")
    grant(session, room, old, Role.OWNER)
    person(session, "eve-1", "eve@example.org", 10)
    person(session, "eve-2", "eve@example.org", 1)
    session.commit()
    return {"old": old.id, "new": new.id, "room": room.id}


def users(session: Session) -> set:
    session.expire_all()
    return {u.sub for u in session.scalars(select(User))}


def test_the_script_dry_run(ini, db, capsys):  # noqa: F811
    ids = seed(db)
    assert merge_duplicate_users.main([ini, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"dee@example.org: keeping {ids['new']}, merging {ids['old']}" in out
    assert "would merge 2 user(s) in 2 email group(s)" in out
    assert users(db) == {"dee-1", "dee-2", "eve-1", "eve-2"}
    assert db.scalars(select(AuditEvent)).all() == []


def test_the_script_merges_with_a_filter(ini, db, capsys):  # noqa: F811
    ids = seed(db)
    assert merge_duplicate_users.main([ini, "dee@"]) == 0
    assert "merged 1 user(s) in 1 email group(s)" in capsys.readouterr().out
    assert users(db) == {"dee-2", "eve-1", "eve-2"}
    assert roles_on(db, ResourceAccess, "resource_id", ids["room"]) == {ids["new"]: Role.OWNER}
    [event] = db.scalars(select(AuditEvent)).all()
    assert (event.action, event.target_id, event.actor_label) == (
        "user.merge",
        str(ids["new"]),
        "system",
    )


def test_the_script_is_atomic(ini, db, capsys):  # noqa: F811
    """A failure while merging the second email undoes the first email's merge too."""
    ids = seed(db)
    db.execute(
        text(
            "CREATE TRIGGER keep_eve BEFORE DELETE ON users WHEN old.sub = 'eve-1' "
            "BEGIN SELECT RAISE(ABORT, 'eve stays'); END"
        )
    )
    db.commit()
    assert merge_duplicate_users.main([ini]) == 1
    assert "the merge failed and nothing was changed" in capsys.readouterr().err
    assert users(db) == {"dee-1", "dee-2", "eve-1", "eve-2"}
    assert roles_on(db, ResourceAccess, "resource_id", ids["room"]) == {ids["old"]: Role.OWNER}

"""The models: slugs, lookups, the database constraints and the model-level guards."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from meet_web.db import utcnow
from meet_web.models import (
    AccessLevel,
    Application,
    ApplicationDomain,
    LastOwnerError,
    Recording,
    RecordingAccess,
    RecordingMode,
    RecordingStatus,
    ResourceAccess,
    Role,
    Room,
    SlugError,
    User,
    slug_for_name,
    slugify,
)
from meet_web.models.room import RESERVED_SLUGS
from tests.conftest import make_room, make_user


def refused(dbsession, *objects) -> None:
    """Adding `objects` violates a constraint; the test's transaction stays usable.

    New rows name their parents by id: setting a relationship to a persistent parent
    would put them in its collection, and begin_nested() flushes before the SAVEPOINT.
    """
    with pytest.raises(IntegrityError), dbsession.begin_nested():
        dbsession.add_all(objects)


def accepted(dbsession, *objects) -> None:
    with dbsession.begin_nested():
        dbsession.add_all(objects)


def room_row(name: str, **fields) -> Room:
    fields.setdefault("access_level", AccessLevel.PUBLIC)
    return Room(name=name, slug=slugify(name), **fields)


# Slugs


@pytest.mark.parametrize(
    ("value", "slug"),
    [
        ("Team Room", "team-room"),
        ("  Weekly   stand-up  ", "weekly-stand-up"),
        ("Réunion d'équipe", "reunion-dequipe"),
        ("Ça va? Oui!", "ca-va-oui"),
        ("Straße Ölmühle", "strae-olmuhle"),
        ("Hello, World!!!", "hello-world"),
        ("a -- b", "a-b"),
        ("--edge--", "edge"),
        ("snake_case name", "snake_case-name"),
        ("_under_", "under"),
        ("MiXeD 42", "mixed-42"),
        ("tab\tand\nnewline", "tab-and-newline"),
        ("会议室", ""),
        ("!!!", ""),
    ],
)
def test_slugify(value, slug):
    assert slugify(value) == slug


def test_slug_for_name():
    assert slug_for_name("Planning Q3 — Paris") == "planning-q3-paris"
    assert slug_for_name("x" * 100) == "x" * 100


@pytest.mark.parametrize("name", ["", "   ", "!!!", "会议室", "-_-"])
def test_slug_for_name_refuses_empty_slugs(name):
    with pytest.raises(SlugError, match="at least one letter or digit"):
        slug_for_name(name)


def test_slug_for_name_refuses_long_slugs():
    with pytest.raises(SlugError, match="longer than 100 characters"):
        slug_for_name("x" * 101)
    with pytest.raises(SlugError, match="longer than 100"):
        slug_for_name("word " * 21)  # 21 words of 4 letters and 20 dashes: 104


@pytest.mark.parametrize(
    "name",
    [
        str(uuid.uuid4()),
        uuid.uuid4().hex,
        str(uuid.uuid4()).upper(),
        "{" + str(uuid.uuid4()) + "}",
    ],
)
def test_slug_for_name_refuses_uuid_like_names(name):
    with pytest.raises(SlugError, match="is reserved"):
        slug_for_name(name)


@pytest.mark.parametrize("name", ["API", "Rooms", "static", "Admin!", " recordings ", "join"])
def test_slug_for_name_refuses_reserved_slugs(name):
    with pytest.raises(SlugError, match="is reserved"):
        slug_for_name(name)


def test_reserved_slugs_are_slugs():
    """A reserved name that slugify could not produce would guard nothing."""
    for slug in RESERVED_SLUGS - {"", "favicon.ico", "robots.txt"}:
        assert slugify(slug) == slug or slug.startswith("__")


def test_rename_recomputes_the_slug(dbsession):
    room = make_room(dbsession, "Old Name")

    room.rename("New Name!")

    assert (room.name, room.slug) == ("New Name!", "new-name")
    with pytest.raises(SlugError):
        room.rename("api")
    assert (room.name, room.slug) == ("New Name!", "new-name")


# Room.lookup


@pytest.fixture
def room(dbsession):
    return make_room(dbsession, "Team Room", make_user(dbsession, "alice"))


@pytest.mark.parametrize(
    "key",
    [
        lambda r: str(r.id),
        lambda r: r.id.hex,
        lambda r: str(r.id).upper(),
        lambda r: r.slug,
        lambda r: "Team Room",
        lambda r: "  TEAM room! ",
    ],
    ids=["uuid", "uuid-hex", "uuid-upper", "slug", "name", "unslugified"],
)
def test_room_lookup(dbsession, room, key):
    found = Room.lookup(dbsession, key(room))

    assert found is room
    assert [a.role for a in found.accesses] == [Role.OWNER]


@pytest.mark.parametrize("key", ["", "!!!", "team", "team-room-2", str(uuid.uuid4())])
def test_room_lookup_misses(dbsession, room, key):
    assert Room.lookup(dbsession, key) is None


def test_room_role_of(dbsession, room):
    bob = make_user(dbsession, "bob")
    room.accesses.append(ResourceAccess(user=bob, role=Role.ADMINISTRATOR))
    dbsession.flush()

    assert room.role_of(room.accesses[0].user_id) == Role.OWNER
    assert room.role_of(bob.id) == Role.ADMINISTRATOR
    assert room.role_of(uuid.uuid4()) is None
    assert room.role_of(None) is None


def test_room_is_public(dbsession):
    assert make_room(dbsession, "Open").is_public
    assert not make_room(dbsession, "Closed", access_level=AccessLevel.RESTRICTED).is_public


def test_slug_taken(dbsession, room):
    assert Room.slug_taken(dbsession, "team-room")
    assert not Room.slug_taken(dbsession, "team-room", other_than=room.id)
    assert not Room.slug_taken(dbsession, "other-room")


# Unique constraints


def test_slug_is_unique(dbsession, room):
    refused(dbsession, Room(name="Team room", slug="team-room", access_level=AccessLevel.PUBLIC))
    accepted(dbsession, room_row("Team Room 2"))


def test_role_is_unique_per_user_and_room(dbsession, room):
    alice = room.accesses[0].user
    refused(dbsession, ResourceAccess(resource_id=room.id, user_id=alice.id, role=Role.MEMBER))

    other = make_room(dbsession, "Other Room")
    accepted(dbsession, ResourceAccess(resource_id=other.id, user_id=alice.id, role=Role.MEMBER))


def test_pin_is_unique(dbsession):
    accepted(dbsession, room_row("First", pin_code="0123456789"))
    refused(dbsession, room_row("Second", pin_code="0123456789"))
    # Rooms without a PIN do not collide.
    accepted(dbsession, room_row("Third"), room_row("Fourth"))


def test_external_process_id_is_unique(dbsession, room):
    accepted(dbsession, Recording(room=room, external_process_id="job-1"))
    refused(
        dbsession,
        Recording(room=room, status=RecordingStatus.SAVED, external_process_id="job-1"),
    )


# At most one recording in progress per room


@pytest.mark.parametrize("first", [RecordingStatus.INITIATED, RecordingStatus.ACTIVE])
@pytest.mark.parametrize("second", [RecordingStatus.INITIATED, RecordingStatus.ACTIVE])
def test_one_recording_in_progress_per_room(dbsession, room, first, second):
    accepted(dbsession, Recording(room=room, status=first))
    refused(dbsession, Recording(room=room, status=second))


def test_finished_recordings_do_not_count(dbsession, room):
    finished = [
        Recording(room=room, status=status)
        for status in RecordingStatus
        if status not in {RecordingStatus.INITIATED, RecordingStatus.ACTIVE}
    ]
    accepted(dbsession, *finished)
    accepted(dbsession, Recording(room=room, status=RecordingStatus.ACTIVE))


def test_recordings_in_progress_in_different_rooms(dbsession, room):
    other = make_room(dbsession, "Other Room")

    accepted(
        dbsession,
        Recording(room=room, status=RecordingStatus.ACTIVE),
        Recording(room=other, status=RecordingStatus.INITIATED),
    )


def test_new_recording_once_the_previous_one_stopped(dbsession, room):
    current = Recording(room=room, status=RecordingStatus.ACTIVE)
    accepted(dbsession, current)

    with dbsession.begin_nested():
        current.status = RecordingStatus.STOPPED
    accepted(dbsession, Recording(room=room))

    with pytest.raises(IntegrityError), dbsession.begin_nested():
        current.status = RecordingStatus.ACTIVE


# RecordingAccess: a user or a team, not both, not neither


@pytest.fixture
def recording(dbsession, room):
    recording = Recording(room=room, mode=RecordingMode.TRANSCRIPT)
    accepted(dbsession, recording)
    return recording


def test_recording_access_for_a_user_or_a_team(dbsession, recording):
    bob = make_user(dbsession, "bob")

    accepted(
        dbsession,
        RecordingAccess(recording_id=recording.id, user_id=bob.id, role=Role.OWNER),
        RecordingAccess(recording_id=recording.id, team="designers"),
    )


def test_recording_access_needs_a_user_or_a_team(dbsession, recording):
    refused(dbsession, RecordingAccess(recording_id=recording.id))
    refused(dbsession, RecordingAccess(recording_id=recording.id, user=None, team=""))


def test_recording_access_cannot_be_both(dbsession, recording):
    bob = make_user(dbsession, "bob")

    refused(dbsession, RecordingAccess(recording_id=recording.id, user_id=bob.id, team="designers"))


def test_recording_access_unique_per_user_and_per_team(dbsession, recording):
    bob = make_user(dbsession, "bob")
    accepted(
        dbsession,
        RecordingAccess(recording_id=recording.id, user_id=bob.id),
        RecordingAccess(recording_id=recording.id, team="designers"),
    )

    refused(dbsession, RecordingAccess(recording_id=recording.id, user_id=bob.id, role=Role.OWNER))
    refused(dbsession, RecordingAccess(recording_id=recording.id, team="designers"))
    accepted(dbsession, RecordingAccess(recording_id=recording.id, team="developers"))


def test_deleting_a_recording_deletes_its_accesses(dbsession, recording):
    accepted(dbsession, RecordingAccess(recording_id=recording.id, team="designers"))

    dbsession.delete(recording)
    dbsession.flush()

    assert dbsession.query(RecordingAccess).count() == 0


# Provisional users: email unique, case-insensitively, among users without a sub


def test_provisional_user_email_is_unique(dbsession):
    accepted(dbsession, User(sub=None, email="Carol@Example.org"))

    refused(dbsession, User(sub=None, email="carol@example.ORG"))
    refused(dbsession, User(sub=None, email="Carol@Example.org"))


def test_users_with_a_sub_may_share_an_email(dbsession):
    accepted(
        dbsession,
        User(sub=None, email="dave@example.org"),
        User(sub="dave-1", email="dave@example.org"),
        User(sub="dave-2", email="DAVE@example.org"),
    )
    # The partial index constrains only the sub-less row; by_email finds them all.
    assert len(User.by_email(dbsession, " Dave@Example.org ")) == 3


def test_provisional_users_without_email(dbsession):
    accepted(dbsession, User(sub=None, email=None), User(sub=None, email=None))


def test_sub_is_unique(dbsession):
    accepted(dbsession, User(sub="erin", email="erin@example.org"))
    refused(dbsession, User(sub="erin", email="other@example.org"))


def test_user_lookups(dbsession):
    alice = make_user(dbsession, "alice")

    assert User.by_id(dbsession, alice.id) is alice
    assert User.by_id(dbsession, str(alice.id)) is alice
    assert User.by_id(dbsession, "not-a-uuid") is None
    assert User.by_sub(dbsession, "alice") is alice
    assert User.by_sub(dbsession, "nobody") is None
    assert User.by_email(dbsession, "ALICE@example.org") == [alice]
    assert User.by_email(dbsession, "nobody@example.org") == []
    assert str(alice) == "alice@example.org"
    assert alice.display_name == "Alice Example"
    assert str(User(id=alice.id)) == str(alice.id)


# The last owner of a room


@pytest.fixture
def owned(dbsession):
    alice, bob = make_user(dbsession, "alice"), make_user(dbsession, "bob")
    room = make_room(dbsession, "Owned Room", alice)
    room.accesses.append(ResourceAccess(user=bob, role=Role.MEMBER))
    dbsession.flush()
    return room, room.accesses[0], room.accesses[1]


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMINISTRATOR])
def test_last_owner_cannot_step_down(dbsession, owned, role):
    _room, owner, _member = owned

    with pytest.raises(LastOwnerError):
        owner.change_role(dbsession, role)

    assert owner.role == Role.OWNER


def test_last_owner_cannot_leave(dbsession, owned):
    room, owner, _member = owned

    with pytest.raises(LastOwnerError):
        owner.delete(dbsession)
    dbsession.flush()

    dbsession.expire_all()
    assert [a.role for a in room.accesses] == [Role.OWNER, Role.MEMBER]


def test_last_owner_may_stay_owner(dbsession, owned):
    _room, owner, _member = owned

    owner.change_role(dbsession, Role.OWNER)

    assert owner.role == Role.OWNER


def test_two_owners(dbsession, owned):
    room, first, second = owned
    second.change_role(dbsession, Role.OWNER)
    dbsession.flush()

    first.change_role(dbsession, Role.ADMINISTRATOR)
    dbsession.flush()
    # `second` is now the only owner.
    with pytest.raises(LastOwnerError):
        second.delete(dbsession)

    first.change_role(dbsession, Role.OWNER)
    second.delete(dbsession)
    dbsession.flush()

    dbsession.expire_all()
    assert [(a.user.sub, a.role) for a in room.accesses] == [("alice", Role.OWNER)]


def test_two_owners_cannot_both_leave(dbsession, owned):
    _room, first, second = owned
    second.change_role(dbsession, Role.OWNER)

    first.delete(dbsession)
    with pytest.raises(LastOwnerError):
        second.delete(dbsession)


def test_non_owners_come_and_go(dbsession, owned):
    room, _owner, member = owned

    member.change_role(dbsession, Role.ADMINISTRATOR)
    assert member.role == Role.ADMINISTRATOR
    member.delete(dbsession)
    dbsession.flush()

    dbsession.expire_all()
    assert [a.role for a in room.accesses] == [Role.OWNER]


def test_access_by_id(dbsession, owned):
    _room, owner, _member = owned

    assert ResourceAccess.by_id(dbsession, str(owner.id)) is owner
    assert ResourceAccess.by_id(dbsession, str(uuid.uuid4())) is None
    assert ResourceAccess.by_id(dbsession, "nope") is None


# PINs


def test_random_pin():
    pins = {Room.random_pin(10) for _ in range(20)}

    assert len(pins) == 20
    for pin in pins:
        assert len(pin) == 10
        assert pin.isdigit()


def test_random_pin_is_zero_padded():
    # a 1-digit PIN is one of the ten digits; a 4-digit one keeps its leading zeros
    assert {Room.random_pin(1) for _ in range(400)} == set("0123456789")
    assert any(Room.random_pin(4).startswith("0") for _ in range(400))
    assert all(len(Room.random_pin(4)) == 4 for _ in range(100))


# Applications


def test_application_secret_is_hashed(dbsession):
    application = Application(name="Calendar", scopes=["rooms:create"])
    application.set_secret("s3cret-value")
    accepted(dbsession, application)

    algorithm, iterations, salt, digest = application.client_secret.split("$")
    assert algorithm == "pbkdf2_sha256"
    assert int(iterations) >= 100_000
    assert salt and len(digest) == 64
    assert "s3cret-value" not in application.client_secret
    assert application.check_secret("s3cret-value")
    assert not application.check_secret("s3cret-valuE")
    assert not application.check_secret("")
    assert len(application.client_id) == 40
    assert application.client_id.isalnum()
    assert application.is_active is True


def test_same_secret_hashes_differently():
    first, second = Application(name="A"), Application(name="B")
    first.set_secret("same")
    second.set_secret("same")

    assert first.client_secret != second.client_secret


def test_malformed_stored_secret_never_matches():
    application = Application(name="Broken", client_secret="plain-text")

    assert not application.check_secret("plain-text")


def test_client_id_is_unique(dbsession):
    first = Application(name="A", client_id="same-id", client_secret="x")
    accepted(dbsession, first)
    refused(dbsession, Application(name="B", client_id="same-id", client_secret="x"))


def test_can_delegate_email_without_domains():
    application = Application(name="Any")

    assert application.can_delegate_email("anyone@anywhere.test")


def test_can_delegate_email_with_domains(dbsession):
    application = Application(name="Calendar", client_secret="x")
    application.allowed_domains = [
        ApplicationDomain(domain="  Example.ORG "),
        ApplicationDomain(domain="partner.net"),
    ]
    accepted(dbsession, application)

    assert [d.domain for d in application.allowed_domains] == ["example.org", "partner.net"]
    assert application.can_delegate_email("alice@example.org")
    assert application.can_delegate_email("Alice@EXAMPLE.org")
    assert application.can_delegate_email("bob@partner.net")
    assert not application.can_delegate_email("alice@sub.example.org")
    assert not application.can_delegate_email("alice@example.org.evil.test")
    assert not application.can_delegate_email("alice@other.net")


def test_application_domain_is_unique_per_application(dbsession):
    application = Application(name="Calendar", client_secret="x")
    application.allowed_domains = [ApplicationDomain(domain="example.org")]
    accepted(dbsession, application)

    refused(dbsession, ApplicationDomain(application_id=application.id, domain="EXAMPLE.org"))
    other = Application(name="Other", client_secret="x")
    other.allowed_domains = [ApplicationDomain(domain="example.org")]
    accepted(dbsession, other)


# Recordings


def test_recording_key_and_extension(dbsession, room):
    screen = Recording(room=room, status=RecordingStatus.SAVED)
    transcript = Recording(room=room, mode=RecordingMode.TRANSCRIPT)
    accepted(dbsession, screen, transcript)

    assert screen.mode == RecordingMode.SCREEN_RECORDING
    assert screen.key("recordings") == f"recordings/{screen.id}.mp4"
    assert transcript.key("out") == f"out/{transcript.id}.ogg"


def test_recording_expiry(dbsession, room):
    recording = Recording(room=room, created_at=utcnow() - timedelta(days=3))
    accepted(dbsession, recording)

    assert recording.expired_at(None) is None
    assert not recording.is_expired(None)
    assert recording.expired_at(5) == recording.created_at + timedelta(days=5)
    assert not recording.is_expired(5)
    assert recording.is_expired(2)

    # The same once read back from the database (SQLite returns naive timestamps).
    dbsession.expire(recording)
    assert recording.expired_at(5).utcoffset() == timedelta(0)
    assert not recording.is_expired(5)
    assert recording.is_expired(2)


def test_recording_is_final():
    assert not Recording(status=RecordingStatus.INITIATED).is_final
    assert not Recording(status=RecordingStatus.ACTIVE).is_final
    # Unlike the reference: the usual saved recording, once mailed, may be deleted.
    assert Recording(status=RecordingStatus.NOTIFICATION_SUCCEEDED).is_final
    assert Recording(status=RecordingStatus.STOPPED).is_final
    assert Recording(status=RecordingStatus.FAILED_TO_START).is_final

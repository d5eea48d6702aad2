"""Room PINs (reference §1, §6): drawn for rooms created by every path when telephony
or roomkit is on, `telephony.pin_length` digits, zero-padded, unique by the database
(retried in savepoints, never checked first), and after `telephony.pin_max_retries`
taken ones the room is saved without a PIN and a warning logged.

The last test forces collisions on PostgreSQL: a 4-digit PIN space nearly full and
concurrent creations from real threads, every request committing for real.
"""

from __future__ import annotations

import logging
import os
import uuid

import pytest
from sqlalchemy import create_engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meet_web import main
from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from meet_web.telephony.pins import write_with_pin
from tests.conftest import make_room, telephony_settings
from tests.multiprocess.test_races import at_once, browser, outcomes, signed_in

ROOMS = "/api/v1.0/rooms/"
POSTGRESQL = (os.environ.get("MEET_TEST_DATABASE_URL") or "").startswith("postgresql")


def pin_of(dbsession, slug: str) -> str | None:
    dbsession.expire_all()
    return dbsession.scalars(select(Room.pin_code).where(Room.slug == slug)).one()


def take_pins(dbsession, pins) -> None:
    """Rooms holding these PINs, written in one statement."""
    dbsession.execute(
        insert(Room),
        [
            {
                "name": f"Taken {pin}",
                "slug": f"taken-{pin}",
                "access_level": AccessLevel.PUBLIC,
                "configuration": {},
                "pin_code": pin,
            }
            for pin in pins
        ],
    )
    dbsession.flush()


@pytest.fixture
def owner(dbsession, user):
    return user


# -- every path gives a PIN -----------------------------------------------------------


def test_api_rooms_get_a_ten_digit_pin(telephony_app, owner, dbsession):
    client = telephony_app()
    client.login_as(owner)
    res = client.post_json(ROOMS, {"name": "Phone Room"}, status=201)
    pin = pin_of(dbsession, "phone-room")
    assert pin is not None and len(pin) == 10 and pin.isdigit()
    assert res.json["pin_code"] == pin  # the owner may join: they see it


def test_rooms_created_with_a_callback_id_get_a_pin(telephony_app, owner, dbsession):
    client = telephony_app()
    client.login_as(owner)
    client.post_json(ROOMS, {"name": "From Calendar", "callback_id": "cb-1"}, status=201)
    res = client.post_json(f"{ROOMS}creation-callback/", {"callback_id": "cb-1"}, status=200)
    assert res.json["room"] == {"slug": "from-calendar"}
    assert pin_of(dbsession, "from-calendar").isdigit()


def test_rooms_created_from_the_home_page_get_a_pin(telephony_app, owner, dbsession):
    client = telephony_app()
    client.login_as(owner)
    client.get("/", status=200)  # the CSRF cookie
    client.post("/rooms/", {"name": "Page Room"}, status=303)
    assert len(pin_of(dbsession, "page-room")) == 10


def test_roomkit_alone_gives_pins(testapp_with, owner, dbsession):
    client = testapp_with({"roomkit.enabled": "true"})
    client.login_as(owner)
    client.post_json(ROOMS, {"name": "Kit Room"}, status=201)
    assert pin_of(dbsession, "kit-room") is not None


def test_no_pin_without_telephony_or_roomkit(testapp, owner, dbsession):
    testapp.login_as(owner)
    res = testapp.post_json(ROOMS, {"name": "Plain Room"}, status=201)
    assert res.json["pin_code"] is None
    assert pin_of(dbsession, "plain-room") is None


def test_the_length_is_a_setting(telephony_app, owner, dbsession):
    client = telephony_app(**{"telephony.pin_length": "6"})
    client.login_as(owner)
    for n in range(5):
        client.post_json(ROOMS, {"name": f"Six {n}"}, status=201)
    pins = [pin_of(dbsession, f"six-{n}") for n in range(5)]
    assert all(len(p) == 6 and p.isdigit() for p in pins)
    assert len(set(pins)) == 5


def test_a_pin_is_kept_on_update(telephony_app, owner, dbsession):
    client = telephony_app()
    client.login_as(owner)
    res = client.post_json(ROOMS, {"name": "Keeps"}, status=201)
    pin = res.json["pin_code"]
    client.patch_json(f"{ROOMS}{res.json['id']}/", {"name": "Keeps Renamed"}, status=200)
    client.patch_json(f"{ROOMS}{res.json['id']}/", {"pin_code": "1111111111"}, status=200)
    assert pin_of(dbsession, "keeps-renamed") == pin


def test_a_pin_set_by_hand_is_kept_whatever_the_settings(telephony_app, owner, dbsession):
    room = make_room(dbsession, "Hand Set", owner, pin_code="42")
    client = telephony_app()
    client.login_as(owner)
    client.patch_json(f"{ROOMS}{room.id}/", {"access_level": "restricted"}, status=200)
    assert pin_of(dbsession, "hand-set") == "42"


# -- collisions: retried in savepoints --------------------------------------------------


def test_taken_pins_are_retried_until_a_free_one(telephony_app, owner, dbsession):
    free = {f"{n:04d}" for n in range(0, 10000, 100)}  # 100 free PINs of 10,000
    take_pins(dbsession, (f"{n:04d}" for n in range(10000) if f"{n:04d}" not in free))
    client = telephony_app(**{"telephony.pin_length": "4", "telephony.pin_max_retries": "3000"})
    client.login_as(owner)
    for n in range(3):
        client.post_json(ROOMS, {"name": f"Lucky {n}"}, status=201)
    pins = [pin_of(dbsession, f"lucky-{n}") for n in range(3)]
    assert set(pins) <= free  # zero-padded: "0000", "0100", ...
    assert len(set(pins)) == 3
    # each room was written once, with its owner
    assert (
        dbsession.scalar(select(func.count()).select_from(Room).where(Room.slug.like("lucky-%")))
        == 3
    )
    owners = dbsession.scalars(
        select(ResourceAccess.role)
        .join(Room, Room.id == ResourceAccess.resource_id)
        .where(Room.slug.like("lucky-%"))
    ).all()
    assert owners == [Role.OWNER] * 3


def test_all_pins_taken_saves_the_room_without_one(telephony_app, owner, dbsession, caplog):
    take_pins(dbsession, (f"{n:04d}" for n in range(10000)))
    client = telephony_app(**{"telephony.pin_length": "4", "telephony.pin_max_retries": "5"})
    client.login_as(owner)
    with caplog.at_level(logging.WARNING, logger="meet_web.telephony.pins"):
        res = client.post_json(ROOMS, {"name": "Unlucky"}, status=201)
    assert res.json["pin_code"] is None
    assert pin_of(dbsession, "unlucky") is None
    assert "room 'unlucky' saved without a PIN: 5 random PINs of 4 digits were all taken" in (
        caplog.text
    )


def test_a_taken_slug_is_not_taken_for_a_pin_clash(dbsession, owner):
    make_room(dbsession, "Clash", owner)
    room = Room(name="Clash", slug="clash", access_level=AccessLevel.PUBLIC, configuration={})
    with pytest.raises(IntegrityError):
        write_with_pin(dbsession, room, length=10, retries=5)


def test_a_taken_slug_with_pins_on_is_a_400(telephony_app, owner, dbsession):
    make_room(dbsession, "Twice", owner)
    client = telephony_app()
    client.login_as(owner)
    res = client.post_json(ROOMS, {"name": "Twice"}, status=400)
    assert res.json == {"slug": ["Room with this Slug already exists."]}
    assert dbsession.scalar(select(func.count()).select_from(Room).where(Room.slug == "twice")) == 1


# -- PostgreSQL: concurrent creations in a nearly full space --------------------------------


FREE_PINS = 40
CREATIONS = 16


@pytest.fixture
def crowded_pg_app(settings, app, oidc_provider):
    """An app committing for real, with 4-digit PINs of which only FREE_PINS are free."""
    if not POSTGRESQL:
        pytest.skip("needs MEET_TEST_DATABASE_URL on PostgreSQL: SQLite serializes writes")
    racing = main(
        {},
        **{
            **settings,
            **telephony_settings(),
            "testing.shared_connection": "false",
            "telephony.pin_length": "4",
            "telephony.pin_max_retries": "1500",
        },
    )
    engine = create_engine(settings["sqlalchemy.url"])
    tag = uuid.uuid4().hex[:8]
    free = {f"{n:04d}" for n in range(0, 10000, 10000 // FREE_PINS)}
    with Session(engine) as session:
        session.execute(
            insert(Room),
            [
                {
                    "name": f"Taken {tag} {n:04d}",
                    "slug": f"taken-{tag}-{n:04d}",
                    "access_level": AccessLevel.PUBLIC,
                    "configuration": {},
                    "pin_code": f"{n:04d}",
                }
                for n in range(10000)
                if f"{n:04d}" not in free
            ],
        )
        session.commit()
    login = f"pin-racer-{tag}"
    cookies = signed_in(racing, oidc_provider, login)
    try:
        yield racing, cookies, tag, free, engine
    finally:
        with Session(engine) as session:
            rooms = select(Room.id).where(Room.name.contains(tag))
            session.execute(delete(ResourceAccess).where(ResourceAccess.resource_id.in_(rooms)))
            session.execute(delete(Room).where(Room.name.contains(tag)))
            session.execute(delete(User).where(User.sub == login))
            session.commit()
        engine.dispose()
        racing.registry["dbengine"].dispose()


def test_concurrent_creations_never_share_a_pin(crowded_pg_app, oidc_provider):
    racing, cookies, tag, free, engine = crowded_pg_app
    clients = [browser(racing, oidc_provider, cookies) for _ in range(CREATIONS)]
    results = at_once(
        *[
            lambda c=c, n=n: c.post_json(ROOMS, {"name": f"Race {tag} {n}"}, expect_errors=True)
            for n, c in enumerate(clients)
        ]
    )
    assert outcomes(results) == [201] * CREATIONS, [getattr(r, "text", r) for r in results]
    given = [r.json["pin_code"] for r in results if r.json["pin_code"] is not None]
    assert len(given) == len(set(given))  # no PIN twice
    assert set(given) <= free
    with Session(engine) as session:
        pins = session.scalars(
            select(Room.pin_code).where(Room.name.like(f"Race {tag} %"), Room.pin_code.isnot(None))
        ).all()
        assert sorted(pins) == sorted(given)
        duplicates = session.execute(
            select(Room.pin_code, func.count())
            .where(Room.pin_code.isnot(None))
            .group_by(Room.pin_code)
            .having(func.count() > 1)
        ).all()
        assert duplicates == []

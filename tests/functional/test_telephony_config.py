"""The dial-in number where people read it: `/api/v1.0/config/`'s telephony block exactly
as the reference's (§6: `{enabled, default_country, international_phone_number}`, parsed
with libphonenumber; `{"enabled": false}` and a warning when it cannot be read), and the
number with the room's PIN on the room page, the meeting page and in invitations."""

from __future__ import annotations

import logging
import uuid

import pytest

from meet_web.models import AccessLevel
from tests.conftest import TELEPHONY_NUMBER, make_room, telephony_settings

CONFIG = "/api/v1.0/config/"
PIN = "0123456789"


def telephony_block(client) -> dict:
    return client.get(CONFIG, status=200).json["telephony"]


# -- /config/ -------------------------------------------------------------------------------


def test_off_by_default(testapp):
    assert telephony_block(testapp) == {"enabled": False}


def test_roomkit_alone_shows_no_number(testapp_with):
    assert telephony_block(testapp_with({"roomkit.enabled": "true"})) == {"enabled": False}


def test_the_configured_number(telephony_app):
    assert telephony_block(telephony_app()) == {
        "enabled": True,
        "default_country": "FR",
        "international_phone_number": "+33 1 23 45 67 89",
    }


@pytest.mark.parametrize(
    ("number", "country", "region", "international"),
    [
        ("01 23 45 67 89", "FR", "FR", "+33 1 23 45 67 89"),  # national, read in the country
        ("+33123456789", "US", "FR", "+33 1 23 45 67 89"),  # the number's own region
        ("(201) 555-0123", "US", "US", "+1 201-555-0123"),
        ("+49 30 901820", "FR", "DE", "+49 30 901820"),
    ],
)
def test_numbers_are_parsed(testapp_with, number, country, region, international):
    client = testapp_with(
        telephony_settings(
            **{"telephony.phone_number": number, "telephony.default_country": country}
        )
    )
    assert telephony_block(client) == {
        "enabled": True,
        "default_country": region,
        "international_phone_number": international,
    }


@pytest.mark.parametrize("number", ["not a number", "", "12", "01 23 45 67 89"])
def test_an_unreadable_number_turns_the_block_off(testapp_with, caplog, number):
    # unique settings: the app is built (and warns) here; "01 23…" has no country to read it in
    overrides = {
        "telephony.phone_number": number,
        "telephony.default_country": "" if number.startswith("01") else "FR",
        "frontend.configuration": f'{{"test": "{uuid.uuid4()}"}}',
    }
    with caplog.at_level(logging.WARNING, logger="meet_web.telephony.config"):
        client = testapp_with(telephony_settings(**overrides))
        block = telephony_block(client)
    assert block == {"enabled": False}
    assert "the dial-in number is not shown" in caplog.text


# -- pages ----------------------------------------------------------------------------------


@pytest.fixture
def room(dbsession, user):
    return make_room(dbsession, "Phone Room", user, pin_code=PIN)


def test_the_room_page_shows_the_number_and_pin(telephony_app, room):
    page = telephony_app().get(f"/{room.slug}", status=200)
    dial_in = page.html.select_one("[data-dial-in]")
    assert dial_in is not None
    assert TELEPHONY_NUMBER in dial_in.text and PIN in dial_in.text
    assert dial_in.select_one("a")["href"] == "tel:+33123456789"


def test_the_room_page_hides_the_pin_from_those_who_wait(telephony_app, room, dbsession):
    room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    page = telephony_app().get(f"/{room.slug}", status=200)
    assert page.html.select_one("[data-dial-in]") is None
    assert PIN not in page.text


def test_the_meeting_page_shows_the_number_and_pin(telephony_app, room):
    page = telephony_app().get(f"/{room.slug}/meeting", params={"username": "Ann"}, status=200)
    dial_in = page.html.select_one("[data-dial-in]")
    assert "By phone: call" in dial_in.text
    assert TELEPHONY_NUMBER in dial_in.text and PIN in dial_in.text


@pytest.mark.parametrize("path", ["/{slug}", "/{slug}/meeting"])
def test_no_number_without_telephony(testapp, room, path):
    page = testapp.get(path.format(slug=room.slug), status=200)
    assert page.html.select_one("[data-dial-in]") is None


def test_no_number_for_a_room_without_pin(telephony_app, dbsession, user):
    bare = make_room(dbsession, "Bare Room", user)
    page = telephony_app().get(f"/{bare.slug}", status=200)
    assert page.html.select_one("[data-dial-in]") is None


# -- invitations ------------------------------------------------------------------------------


def invite(client, room):
    client.post_json(f"/api/v1.0/rooms/{room.id}/invite/", {"emails": ["ann@example.net"]})


def test_invitations_carry_the_number_and_pin(testapp_with, smtp, room, user):
    client = testapp_with(
        telephony_settings(**{"mail.host": smtp.host, "mail.port": str(smtp.port)})
    )
    client.login_as(user)
    invite(client, room)
    [mail] = smtp.wait_for(1)
    line = f"To join by phone, call {TELEPHONY_NUMBER} and enter the PIN {PIN}."
    assert line in mail.text
    assert line in mail.html


def test_invitations_without_telephony_have_no_number(mailing, smtp, room, user):
    mailing.login_as(user)
    invite(mailing, room)
    [mail] = smtp.wait_for(1)
    assert "by phone" not in mail.text
    assert PIN not in mail.text and PIN not in mail.html

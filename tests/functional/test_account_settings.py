"""The account's time zone and notification settings, on the account page and the
users API: the zones offered (canonical names by region), the browser's zone offered
until one is chosen, and the "a guest is waiting" e-mail opt-in."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from meet_web.models import User
from meet_web.views.pages.common import (
    TIMEZONE_REGIONS,
    offered_timezones,
    timezone_groups,
    timezone_label,
    timezone_names,
)
from tests.api_checks import assert_error
from tests.conftest import make_user

USERS = "/api/v1.0/users/"
ALIASES = ("US/Eastern", "Etc/GMT+5", "GB", "Japan", "Asia/Calcutta", "Europe/Kiev", "Zulu")


def account_form(**changes) -> dict:
    data = {
        "language": "en-us",
        "timezone": "UTC",
        "default_room_access_level": "",
        "can_publish_sources": ["camera", "microphone", "screen_share", "screen_share_audio"],
        "everyone_can_mute": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def stored(dbsession, user) -> tuple:
    dbsession.expire_all()
    return dbsession.execute(
        select(User.timezone, User.timezone_chosen, User.guest_waiting_emails).where(
            User.id == user.id
        )
    ).one()


@pytest.fixture
def alice(dbsession, testapp):
    user = make_user(dbsession, "alice")
    testapp.login_as(user)
    return user


# -- the zones offered -----------------------------------------------------------------


def test_zones_are_grouped_by_region_then_utc():
    regions = [region for region, _zones in timezone_groups()]
    assert regions == [*TIMEZONE_REGIONS, "UTC"]
    for region, zones in timezone_groups():
        assert zones, region
        labels = [label for _name, label in zones]
        assert labels == sorted(labels)
        if region != "UTC":
            assert all(name.startswith(region + "/") for name, _label in zones)


def test_only_canonical_names_are_offered():
    offered = offered_timezones()
    for alias in ALIASES:
        assert alias in timezone_names()  # known, may be stored
        assert alias not in offered
    assert {"Asia/Kolkata", "Europe/Kyiv", "America/New_York", "UTC"} <= offered
    assert not [name for name in offered if name.startswith(("Etc/", "US/", "SystemV/"))]
    assert len(offered) < len(timezone_names())


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("America/New_York", "New York"),
        ("Europe/Paris", "Paris"),
        ("America/Argentina/Buenos_Aires", "Buenos Aires (Argentina)"),
        ("America/Indiana/Indianapolis", "Indianapolis (Indiana)"),
        ("UTC", "UTC"),
    ],
)
def test_labels_are_readable(name, label):
    assert timezone_label(name) == label


def test_the_page_shows_regions_and_places(testapp, alice):
    page = testapp.get("/account", status=200).text
    assert '<optgroup label="America">' in page
    assert '<optgroup label="Indian Ocean">' in page
    assert '<option value="America/New_York">New York</option>' in page
    assert '<option value="UTC" selected>UTC</option>' in page
    for alias in ALIASES:
        assert f'value="{alias}"' not in page
    assert len(re.findall(r"<option value=\"[A-Z]", page)) == len(offered_timezones())


# -- the browser's zone ----------------------------------------------------------------


def test_the_browser_zone_is_offered_until_one_is_chosen(testapp, alice, dbsession):
    page = testapp.get("/account", status=200).text
    assert "data-browser-zone" in page
    assert '<p class="hint" id="account-timezone-browser" hidden>' in page
    assert "/static/js/account.js" in page
    testapp.post("/account", account_form(timezone="UTC"), status=303)
    assert stored(dbsession, alice)[:2] == ("UTC", True)  # UTC, chosen this time
    assert "data-browser-zone" not in testapp.get("/account", status=200).text


def test_a_refused_form_keeps_what_was_posted(testapp, alice, dbsession):
    res = testapp.post("/account", account_form(timezone="Mars/Olympus"), status=400)
    assert "“Mars/Olympus” is not a known time zone." in res.text
    assert "data-browser-zone" not in res.text  # the posted value stands
    assert stored(dbsession, alice) == ("UTC", False, False)


def test_a_zone_set_through_the_api_counts_as_chosen(testapp, alice, dbsession):
    testapp.patch_json(f"{USERS}{alice.id}/", {"timezone": "Asia/Tokyo"}, status=200)
    assert stored(dbsession, alice)[:2] == ("Asia/Tokyo", True)
    page = testapp.get("/account", status=200).text
    assert "data-browser-zone" not in page
    assert '<option value="Asia/Tokyo" selected>Tokyo</option>' in page


def test_other_api_changes_leave_the_zone_unchosen(testapp, alice, dbsession):
    testapp.patch_json(f"{USERS}{alice.id}/", {"language": "fr-fr"}, status=200)
    assert stored(dbsession, alice)[:2] == ("UTC", False)


@pytest.mark.parametrize("alias", ["US/Eastern", "Etc/GMT+5", "Japan"])
def test_an_alias_stays_accepted_and_shown(testapp, alice, dbsession, alias):
    """The API accepts every name it did; the page shows a stored alias and saves it."""
    testapp.patch_json(f"{USERS}{alice.id}/", {"timezone": alias}, status=200)
    page = testapp.get("/account", status=200).text
    assert f'<option value="{alias}" selected>{alias}</option>' in page
    testapp.post("/account", account_form(timezone=alias), status=303)
    assert stored(dbsession, alice)[:2] == (alias, True)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "utc", "Europe/Paris\x00", "x" * 65])
def test_the_page_refuses_unknown_zones(testapp, alice, dbsession, zone):
    res = testapp.post("/account", account_form(timezone=zone), status=400)
    assert 'aria-invalid="true"' in res.text
    assert stored(dbsession, alice) == ("UTC", False, False)


# -- the guest-waiting e-mail opt-in ---------------------------------------------------


def test_the_opt_in_is_off_by_default(testapp, alice, dbsession):
    page = testapp.get("/account", status=200).text
    assert '<input type="checkbox" name="guest_waiting_emails" value="on">' in page
    assert testapp.get(f"{USERS}me/").json["guest_waiting_emails"] is False


def test_the_page_turns_the_opt_in_on_and_off(testapp, alice, dbsession):
    testapp.post("/account", account_form(guest_waiting_emails="on"), status=303)
    assert stored(dbsession, alice)[2] is True
    page = testapp.get("/account", status=200).text
    assert 'name="guest_waiting_emails" value="on" checked' in page
    testapp.post("/account", account_form(), status=303)  # unticked: not sent
    assert stored(dbsession, alice)[2] is False


def test_a_refused_form_keeps_the_ticked_box(testapp, alice, dbsession):
    form = account_form(guest_waiting_emails="on", language="xx")
    res = testapp.post("/account", form, status=400)
    assert 'name="guest_waiting_emails" value="on" checked' in res.text
    assert stored(dbsession, alice)[2] is False


def test_the_api_turns_the_opt_in_on(testapp, alice, dbsession):
    res = testapp.patch_json(f"{USERS}{alice.id}/", {"guest_waiting_emails": True}, status=200)
    assert res.json["guest_waiting_emails"] is True
    assert testapp.get(f"{USERS}me/").json["guest_waiting_emails"] is True
    assert stored(dbsession, alice)[2] is True


@pytest.mark.parametrize("value", ["yes", 1, None, [], {"on": True}])
@pytest.mark.parametrize("method", ["put_json", "patch_json"])
def test_the_api_refuses_a_non_boolean_opt_in(testapp, alice, dbsession, method, value):
    res = getattr(testapp, method)(
        f"{USERS}{alice.id}/",
        {"guest_waiting_emails": value, "timezone": "Asia/Tokyo"},
        status=400,
    )
    assert_error(res, 400, "guest_waiting_emails")
    assert stored(dbsession, alice) == ("UTC", False, False)


def test_others_do_not_see_the_opt_in(testapp_with, dbsession):
    bob = make_user(dbsession, "bob", guest_waiting_emails=True)
    client = testapp_with({"users.allow_listing": "true"})
    client.login_as(make_user(dbsession, "carol"))
    (found,) = client.get(f"{USERS}?q=bob@").json["results"]
    assert found["id"] == str(bob.id)
    assert "guest_waiting_emails" not in found

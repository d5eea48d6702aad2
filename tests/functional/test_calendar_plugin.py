"""A calendar plugin's whole life with the external API, as one would write it against
the reference: it knows the site's address, its client id and secret and the organiser's
email; it gets a token by client credentials, creates the meeting's room, finds it in the
list, reads it back, changes it when the event changes, and deletes it with the event.
The organiser, signed in on the site, sees and joins the same room.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest

from meet_web.models import Room
from tests.conftest import CLIENT_SECRET, make_application, make_user

API = "/external-api/v1.0"


class CalendarPlugin:
    """The plugin's side: plain HTTP, nothing of the app but its URLs."""

    def __init__(self, http, client_id: str, client_secret: str, organiser: str):
        self.http, self.organiser = http, organiser
        self.client_id, self.client_secret = client_id, client_secret
        self.token: str | None = None

    def authenticate(self) -> dict:
        # As OAuth 2 client libraries send it: a form.
        res = self.http.post(
            f"{API}/application/token/",
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "scope": self.organiser,
            },
            status=200,
        )
        self.token = res.json["access_token"]
        return res.json

    def call(self, method: str, path: str, body=None, status=200):
        headers = {"Authorization": f"Bearer {self.token}"}
        if body is None:
            return self.http.request(f"{API}{path}", method=method, headers=headers, status=status)
        send = getattr(self.http, f"{method.lower()}_json")
        return send(f"{API}{path}", body, headers=headers, status=status)


@pytest.fixture
def organiser(dbsession):
    return make_user(dbsession, "olivia")


@pytest.fixture
def plugin(external_api, dbsession, organiser):
    client = external_api(**{"applications.base_url": "https://meet.example.org"})
    application = make_application(dbsession, "Calendar", domains=["example.org"])
    return CalendarPlugin(client, application.client_id, CLIENT_SECRET, organiser.email)


def test_a_calendar_plugin_manages_a_meetings_room(plugin, organiser, dbsession, new_testapp):
    granted = plugin.authenticate()
    assert granted["token_type"] == "Bearer" and granted["expires_in"] == 3600
    assert set(granted["scope"].split()) == {
        "rooms:create",
        "rooms:list",
        "rooms:retrieve",
        "rooms:update",
        "rooms:delete",
    }

    # The event is created: a room for it.
    room = plugin.call("POST", "/rooms/", {"access_level": "restricted"}, status=201).json
    assert re.fullmatch(r"[a-z]{3}-[a-z]{4}-[a-z]{3}", room["slug"])
    assert room["url"] == f"https://meet.example.org/{room['slug']}"
    assert room["access_level"] == "restricted"

    # It is among the organiser's rooms, and reads back the same.
    listed = plugin.call("GET", "/rooms/").json
    assert [r["id"] for r in listed["results"]] == [room["id"]]
    assert plugin.call("GET", f"/rooms/{room['id']}/").json == room
    assert plugin.call("GET", f"/rooms/{room['slug']}/").json == room

    # The organiser, on the site, owns that room and may join it.
    browser = new_testapp()
    browser.login_as(organiser)
    seen = browser.get(f"/api/v1.0/rooms/{room['slug']}/", status=200).json
    assert seen["is_administrable"] is True and "livekit" in seen

    # The event now welcomes guests from the organisation, without their camera.
    changes = {"access_level": "trusted", "configuration": {"can_publish_sources": ["microphone"]}}
    changed = plugin.call("PATCH", f"/rooms/{room['id']}/", changes).json
    assert (changed["access_level"], changed["configuration"]) == (
        "trusted",
        {"can_publish_sources": ["microphone"]},
    )
    assert plugin.call("GET", f"/rooms/{room['id']}/").json == changed
    assert browser.get(f"/api/v1.0/rooms/{room['slug']}/").json["access_level"] == "trusted"

    # The event is cancelled: the room goes with it.
    plugin.call("DELETE", f"/rooms/{room['id']}/", status=204)
    plugin.call("GET", f"/rooms/{room['id']}/", status=404)
    assert plugin.call("GET", "/rooms/").json["count"] == 0
    dbsession.expire_all()
    assert dbsession.get(Room, uuid.UUID(room["id"])) is None


def test_the_plugin_gets_a_new_token_when_its_own_expired(external_api, dbsession, organiser):
    client = external_api(**{"applications.jwt_expiration_seconds": "1"})
    application = make_application(dbsession, "Calendar")
    plugin = CalendarPlugin(client, application.client_id, CLIENT_SECRET, organiser.email)
    plugin.authenticate()
    plugin.call("GET", "/rooms/", status=200)
    time.sleep(2.1)  # PyJWT compares whole seconds
    res = plugin.call("GET", "/rooms/", status=401)
    assert res.json == {"detail": "Token expired."}
    plugin.authenticate()
    plugin.call("GET", "/rooms/", status=200)


def test_the_plugin_cannot_act_for_someone_of_another_organisation(plugin, dbsession):
    outsider = make_user(dbsession, "mallory")
    outsider.email = "mallory@elsewhere.test"
    dbsession.flush()
    plugin.organiser = outsider.email
    res = plugin.http.post(
        f"{API}/application/token/",
        {
            "grant_type": "client_credentials",
            "client_id": plugin.client_id,
            "client_secret": plugin.client_secret,
            "scope": outsider.email,
        },
        status=403,
    )
    assert res.json == {"error": "This application is not authorized for this email domain."}

"""The marketing sync: a first sign-in adds the new user to Brevo's contact lists once it
has committed; later sign-ins, failures and stalls of the API change nothing of the
sign-in. The API is a loopback HTTP server started here that records what it gets."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from meet_web import main
from meet_web.models import User
from meet_web.settings import SettingsError
from tests.servers.oidc import complete_login

API_KEY = "brevo-test-key"


class ContactsApi:
    """Records each request; answers `status`, after `stall` seconds."""

    def __init__(self):
        self.calls: list[dict] = []
        self.status = 201
        self.stall = 0.0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                api.calls.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if api.stall:
                    time.sleep(api.stall)
                answer = b'{"id": 1}' if api.status < 300 else b'{"code": "bad"}'
                try:
                    self.send_response(api.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:  # the client gave up (a stall)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/v3"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def contacts_api():
    api = ContactsApi()
    yield api
    api.close()


@pytest.fixture
def brevo(contacts_api):
    contacts_api.calls.clear()
    contacts_api.status, contacts_api.stall = 201, 0.0
    return contacts_api


def brevo_settings(api: ContactsApi, **overrides) -> dict:
    return {
        "marketing.backend": "brevo",
        "marketing.api_key": API_KEY,
        "marketing.api_url": api.url,
        "marketing.list_ids": "7 12",
        "marketing.contact_attributes": '{"VISIO_USER": true}',
        **overrides,
    }


def new_login() -> str:
    return f"newcomer-{uuid.uuid4().hex[:8]}"


def signed_in_as(client) -> str:
    return client.get("/api/v1.0/users/me/", status=200).json["email"]


def test_a_first_sign_in_adds_the_contact(testapp_with, brevo, dbsession):
    client = testapp_with(brevo_settings(brevo))
    login = new_login()
    client.login(login)
    assert signed_in_as(client) == f"{login}@example.org"
    [call] = brevo.calls
    assert call["path"] == "/v3/contacts"
    assert call["headers"]["api-key"] == API_KEY
    body = call["body"]
    assert body["email"] == f"{login}@example.org"
    assert body["listIds"] == [7, 12]
    assert body["updateEnabled"] is True
    assert body["attributes"]["VISIO_USER"] is True
    assert login.capitalize() in body["attributes"]["FULLNAME"]


def test_later_sign_ins_add_nothing(testapp_with, brevo):
    client = testapp_with(brevo_settings(brevo))
    login = new_login()
    client.login(login)
    client.login(login)
    assert len(brevo.calls) == 1


def test_an_existing_user_is_not_added(testapp_with, brevo, cast):
    client = testapp_with(brevo_settings(brevo))
    client.login(cast.owner.sub)
    assert brevo.calls == []


def test_off_by_default(testapp, brevo):
    testapp.login(new_login())
    assert brevo.calls == []


def test_a_failing_api_does_not_stop_sign_in(testapp_with, brevo, caplog):
    brevo.status = 500
    client = testapp_with(brevo_settings(brevo))
    login = new_login()
    client.login(login)
    assert signed_in_as(client) == f"{login}@example.org"
    assert len(brevo.calls) == 1
    warnings = [r for r in caplog.records if r.name == "meet_web.services.marketing"]
    assert [r.levelname for r in warnings] == ["WARNING"]
    assert "500" in warnings[0].getMessage()
    assert API_KEY not in warnings[0].getMessage()


def test_a_stalled_api_costs_at_most_the_timeout(testapp_with, brevo, caplog):
    brevo.stall = 3.0
    client = testapp_with(brevo_settings(brevo, **{"marketing.timeout": "0.5"}))
    login = new_login()
    started = time.monotonic()
    client.login(login)
    assert time.monotonic() - started < 2.5
    assert signed_in_as(client) == f"{login}@example.org"
    assert any("Timeout" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_an_unreachable_api_does_not_stop_sign_in(testapp_with, brevo):
    client = testapp_with(brevo_settings(brevo, **{"marketing.api_url": "http://127.0.0.1:1/v3"}))
    login = new_login()
    client.login(login)
    assert signed_in_as(client) == f"{login}@example.org"


def test_a_refused_sign_in_calls_nothing(testapp_with, brevo, dbsession):
    """No account is created (user creation is off): nothing committed, nothing sent."""
    client = testapp_with(brevo_settings(brevo, **{"oidc.create_user": "false"}))
    login = new_login()
    start = client.get("/api/v1.0/authenticate/", params={"returnTo": "/"}, status=302)
    back = complete_login(start.location, login)
    client.get("/" + back.split("://", 1)[1].split("/", 1)[1], status=400)
    assert brevo.calls == []
    assert dbsession.query(User).filter_by(sub=login).count() == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"marketing.backend": "mailchimp"}, "marketing.backend must be"),
        ({"marketing.api_key": ""}, "marketing.api_key is required"),
        ({"marketing.list_ids": "seven"}, "marketing.list_ids must be numbers"),
        ({"marketing.timeout": "0"}, "marketing.timeout must be more than 0"),
    ],
)
def test_bad_settings_stop_start_up(settings, brevo, overrides, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        main({}, **{**settings, **brevo_settings(brevo, **overrides)})

"""`/admin/applications/`: list, create (the secret shown once, stored hashed), edit
scopes, domains and the active flag, rotate the secret; each audited, bad input a 400
that writes nothing; the notice when applications are off."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, func, select

from meet_web.models import Application
from meet_web.models.audit import AuditEvent
from meet_web.services import audit
from tests.conftest import CLIENT_SECRET, fetch_token, make_application, make_user

LIST = "/admin/applications/"


@pytest.fixture
def operator(external_api, cast, dbsession):
    client = external_api()
    client.login_as(cast.operator)
    dbsession.execute(delete(AuditEvent))  # the sign-in's
    return client


def audit_events(dbsession, action) -> list[AuditEvent]:
    dbsession.expire_all()
    return list(dbsession.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def application_count(dbsession) -> int:
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(Application))


def create_form(**changes) -> dict:
    return {
        "name": "Calendar",
        "scopes": ["rooms:list", "rooms:create"],
        "domains": "Example.ORG\nsub.example.net, example.org",
        "is_active": "on",
        **changes,
    }


def test_list(operator, dbsession):
    make_application(dbsession, "Zeta", domains=["example.org"])
    make_application(dbsession, "Alpha", is_active=False)
    res = operator.get(LIST)
    names = [row.select_one("a").text for row in res.html.select("tbody tr")]
    assert names == ["Alpha", "Zeta"]
    cells = [td.text for td in res.html.select("tbody tr")[1].select("td")]
    assert cells[2:5] == [
        "Yes",
        "rooms:create, rooms:list, rooms:retrieve, rooms:update, rooms:delete",
        "example.org",
    ]
    assert "Applications are turned off" not in res.text


def test_the_notice_when_applications_are_off(testapp, cast, dbsession):
    make_application(dbsession)
    testapp.login_as(cast.operator)
    res = testapp.get(LIST)
    assert "Applications are turned off on this site (applications.enabled)" in res.text
    assert [row.select_one("a").text for row in res.html.select("tbody tr")] == ["Calendar"]


def test_create_shows_the_secret_once(operator, dbsession, cast):
    res = operator.post(LIST, create_form(), status=200)
    assert "no-store" in res.headers["Cache-Control"]
    client_id = res.html.select_one("#client-id").text
    secret = res.html.select_one("#client-secret").text
    assert len(secret) == 128 and secret.isalnum()
    application = dbsession.scalars(select(Application)).one()
    assert application.client_id == client_id
    assert (application.name, application.is_active) == ("Calendar", True)
    assert application.scopes == ["rooms:create", "rooms:list"]
    assert [d.domain for d in application.allowed_domains] == ["example.org", "sub.example.net"]
    assert secret not in application.client_secret and application.check_secret(secret)
    # never again
    assert secret not in operator.get(f"{LIST}{application.id}/").text
    assert secret not in operator.get(LIST).text
    (event,) = audit_events(dbsession, audit.APPLICATION_CREATE)
    assert (event.actor_id, event.target_id) == (cast.operator.id, client_id)
    assert event.changes == {
        "name": "Calendar",
        "active": True,
        "scopes": ["rooms:create", "rooms:list"],
        "domains": ["example.org", "sub.example.net"],
    }
    assert secret not in json.dumps(event.changes)


def test_a_created_application_gets_tokens(operator, dbsession):
    res = operator.post(LIST, create_form(domains=""), status=200)
    client_id = res.html.select_one("#client-id").text
    secret = res.html.select_one("#client-secret").text
    alice = make_user(dbsession, "alice")
    token = operator.post_json(
        "/external-api/v1.0/application/token/",
        {
            "client_id": client_id,
            "client_secret": secret,
            "grant_type": "client_credentials",
            "scope": alice.email,
        },
    )
    assert token.json["access_token"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "  "}, "name", "This field may not be blank."),
        ({"name": "x" * 256}, "name", "Ensure this field has no more than 255 characters."),
        ({"scopes": []}, "scopes", "Choose at least one scope."),
        (
            {"scopes": ["rooms:list", "rooms:everything"]},
            "scopes",
            '"rooms:everything" is not a valid choice.',
        ),
        (
            {"domains": "example.org\nnot a domain"},
            "domains",
            "“not a domain” is not a domain name.",
        ),
        (
            {"domains": "\n".join(f"d{i}.example.org" for i in range(51))},
            "domains",
            "At most 50 domains.",
        ),
    ],
)
def test_create_bad_input(operator, dbsession, changes, field, message):
    form = create_form(**changes)
    res = operator.post(LIST, form, status=400)
    assert res.html.select_one(f"#{field}-error").text.strip() == message
    assert application_count(dbsession) == 0
    assert audit_events(dbsession, audit.APPLICATION_CREATE) == []
    # what was typed is kept
    assert res.html.select_one("#application-name")["value"] == form["name"]


def test_create_without_a_name(operator, dbsession):
    form = create_form()
    del form["name"]
    res = operator.post(LIST, form, status=400)
    assert res.html.select_one("#name-error").text.strip() == "This field is required."
    assert application_count(dbsession) == 0


def test_create_without_csrf_is_refused(operator, dbsession):
    operator.post(LIST, create_form(), headers={"X-CSRF-Token": ""}, status=403)
    assert application_count(dbsession) == 0


# -- edit -------------------------------------------------------------------------------------


def test_edit(operator, dbsession, cast):
    application = make_application(dbsession, scopes=["rooms:list"], domains=["example.org"])
    page = operator.get(f"{LIST}{application.id}/")
    assert page.html.select_one("#application-domains").text == "example.org"
    form = {
        "name": "Agenda",
        "scopes": ["rooms:list", "rooms:retrieve"],
        "domains": "example.org\nexample.net",
    }
    res = operator.post(f"{LIST}{application.id}/", form, status=303)
    assert res.location == f"http://localhost{LIST}{application.id}/"
    assert "The application was saved." in res.follow().text
    dbsession.expire_all()
    application = dbsession.get(Application, application.id)
    assert (application.name, application.is_active) == ("Agenda", False)
    assert application.scopes == ["rooms:list", "rooms:retrieve"]
    assert [d.domain for d in application.allowed_domains] == ["example.net", "example.org"]
    assert application.check_secret(CLIENT_SECRET), "the secret is left alone"
    (event,) = audit_events(dbsession, audit.APPLICATION_UPDATE)
    assert event.changes["changed"] == ["domains", "is_active", "name", "scopes"]
    assert event.changes["before"]["name"] == "Calendar"
    assert event.changes["is_active"] is False


def test_deactivated_application_gets_no_token(operator, dbsession, external_api):
    application = make_application(dbsession)
    alice = make_user(dbsession, "alice")
    form = {"name": application.name, "scopes": list(application.scopes)}
    operator.post(f"{LIST}{application.id}/", form, status=303)
    fetch_token(external_api(), alice.email, client_id=application.client_id, status=401)


def test_saving_unchanged_writes_no_event(operator, dbsession):
    application = make_application(dbsession, scopes=["rooms:list"])
    form = {"name": "Calendar", "scopes": ["rooms:list"], "domains": "", "is_active": "on"}
    operator.post(f"{LIST}{application.id}/", form, status=303)
    assert audit_events(dbsession, audit.APPLICATION_UPDATE) == []


def test_edit_bad_input_changes_nothing(operator, dbsession):
    application = make_application(dbsession, scopes=["rooms:list"])
    res = operator.post(f"{LIST}{application.id}/", {"name": "New", "scopes": []}, status=400)
    assert res.html.select_one("#scopes-error").text.strip() == "Choose at least one scope."
    dbsession.expire_all()
    assert dbsession.get(Application, application.id).name == "Calendar"
    assert audit_events(dbsession, audit.APPLICATION_UPDATE) == []


def test_unknown_application_is_404(operator):
    operator.get(f"{LIST}0c1f3d4e-5a6b-4c7d-8e9f-a0b1c2d3e4f5/", status=404)
    operator.get(f"{LIST}calendar/", status=404)


# -- rotate -----------------------------------------------------------------------------------


def test_rotate_after_confirmation(operator, dbsession, external_api, cast):
    application = make_application(dbsession)
    alice = make_user(dbsession, "alice")
    confirm = operator.get(f"{LIST}{application.id}/rotate-secret")
    assert "Rotate the secret of Calendar?" in confirm.text
    (form,) = [f for f in confirm.forms.values() if f.action.endswith("/rotate-secret")]
    res = form.submit(status=200)
    secret = res.html.select_one("#client-secret").text
    assert secret != CLIENT_SECRET and len(secret) == 128
    dbsession.expire_all()
    assert dbsession.get(Application, application.id).check_secret(secret)
    api = external_api()
    fetch_token(api, alice.email, client_id=application.client_id, status=401)  # the old one
    token = api.post_json(
        "/external-api/v1.0/application/token/",
        {
            "client_id": application.client_id,
            "client_secret": secret,
            "grant_type": "client_credentials",
            "scope": alice.email,
        },
    )
    assert token.json["access_token"]
    (event,) = audit_events(dbsession, audit.APPLICATION_ROTATE)
    assert (event.actor_id, event.target_id) == (cast.operator.id, application.client_id)
    assert secret not in json.dumps(event.changes)


def test_rotate_without_confirmation_is_refused(operator, dbsession):
    application = make_application(dbsession)
    res = operator.post(f"{LIST}{application.id}/rotate-secret", status=400)
    assert "Please confirm this action." in res.text
    dbsession.expire_all()
    assert dbsession.get(Application, application.id).check_secret(CLIENT_SECRET)
    assert audit_events(dbsession, audit.APPLICATION_ROTATE) == []

"""Who may read the audit log and export it, and use the recordings and applications
sections: operators only. Anonymous visitors are sent to sign in (a page) or refused (a
write); a deactivated operator is signed out like any deactivated account, so is
treated as anonymous; bad input answers 400 (or 409) to operators alone."""

from __future__ import annotations

import pytest

from tests.conftest import ACTORS, make_application, make_recording, make_user

from .matrix import by

ADMIN_ACTORS = (*ACTORS, "deactivated_operator")


def statuses(operator: int, anonymous: int) -> dict:
    others = {actor: 403 for actor in ("stranger", "member", "administrator", "owner")}
    return by(anonymous=anonymous, operator=operator, **others)


PAGE = statuses(200, anonymous=303)
BAD_PAGE = statuses(400, anonymous=303)
CONFLICT_PAGE = statuses(409, anonymous=303)
REDIRECTING_WRITE = statuses(303, anonymous=403)
ANSWERING_WRITE = statuses(200, anonymous=403)
BAD_WRITE = statuses(400, anonymous=403)
CONFLICT_WRITE = statuses(409, anonymous=403)


def expected(matrix: dict, actor: str) -> int:
    return matrix["anonymous"] if actor == "deactivated_operator" else matrix[actor]


@pytest.fixture
def scene(dbsession, cast):
    deactivated = make_user(dbsession, "operator2", is_operator=True)
    saved = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="saved")
    active = make_recording(dbsession, cast.room, {cast.owner: "owner"}, status="active")
    application = make_application(dbsession)
    return {
        "cast": cast,
        "deactivated": deactivated,
        "saved": saved.id,
        "active": active.id,
        "application": application.id,
    }


@pytest.fixture
def client(recording_app):
    return recording_app()


def sign_in(client, dbsession, scene, actor):
    if actor == "deactivated_operator":
        client.login_as(scene["deactivated"])
        scene["deactivated"].is_active = False
        dbsession.flush()
    else:
        client.login_as(scene["cast"][actor])


PAGES = (
    ("/admin/audit/", PAGE),
    ("/admin/audit/?actor=owner&action=room.&since=2026-11-01&until=2026-12-01", PAGE),
    ("/admin/audit/?since=yesterday", BAD_PAGE),
    ("/admin/audit/export.csv", PAGE),
    ("/admin/audit/export.csv?target_type=room", PAGE),
    ("/admin/audit/export.csv?since=2026-12-02&until=2026-12-01", BAD_PAGE),
    ("/admin/recordings/", PAGE),
    ("/admin/recordings/?status=saved&owner=owner", PAGE),
    ("/admin/recordings/?status=lost", BAD_PAGE),
    ("/admin/recordings/{active}/mark-failed-to-stop", PAGE),
    ("/admin/recordings/{saved}/mark-failed-to-stop", CONFLICT_PAGE),
    ("/admin/applications/", PAGE),
    ("/admin/applications/{application}/", PAGE),
    ("/admin/applications/{application}/rotate-secret", PAGE),
)

APPLICATION_FORM = {"name": "Agenda", "scopes": "rooms:list", "is_active": "on"}

WRITES = (
    ("/admin/recordings/{saved}/resend-notification", {}, REDIRECTING_WRITE),
    ("/admin/recordings/{active}/resend-notification", {}, CONFLICT_WRITE),
    ("/admin/recordings/{active}/mark-failed-to-stop", {"confirm": "yes"}, REDIRECTING_WRITE),
    ("/admin/recordings/{active}/mark-failed-to-stop", {}, BAD_WRITE),
    ("/admin/recordings/{saved}/mark-failed-to-stop", {"confirm": "yes"}, CONFLICT_WRITE),
    ("/admin/applications/", APPLICATION_FORM, ANSWERING_WRITE),
    ("/admin/applications/", {"name": "Agenda"}, BAD_WRITE),
    ("/admin/applications/{application}/", APPLICATION_FORM, REDIRECTING_WRITE),
    ("/admin/applications/{application}/", {"name": "", "scopes": "rooms:list"}, BAD_WRITE),
    ("/admin/applications/{application}/rotate-secret", {"confirm": "yes"}, ANSWERING_WRITE),
    ("/admin/applications/{application}/rotate-secret", {}, BAD_WRITE),
)


@pytest.mark.parametrize("actor", ADMIN_ACTORS)
@pytest.mark.parametrize(("path", "matrix"), PAGES)
def test_pages(client, dbsession, scene, actor, path, matrix):
    sign_in(client, dbsession, scene, actor)
    res = client.get(path.format(**scene), status=expected(matrix, actor))
    if res.status_int == 303:
        assert res.location.startswith("http://localhost/api/v1.0/authenticate/")
    elif res.status_int != 200 or "export.csv" not in path:
        assert res.content_type == "text/html"
    else:
        assert res.content_type == "text/csv"


@pytest.mark.parametrize("actor", ADMIN_ACTORS)
@pytest.mark.parametrize(("path", "fields", "matrix"), WRITES)
def test_writes(client, dbsession, scene, actor, path, fields, matrix):
    sign_in(client, dbsession, scene, actor)
    token = (client.cookies.get("csrftoken") or "").strip('"')
    res = client.post(
        path.format(**scene), {**fields, "csrf_token": token}, status=expected(matrix, actor)
    )
    if res.status_int == 303:
        assert res.location.startswith("http://localhost/admin/")
    else:
        assert res.content_type == "text/html"
    if expected(matrix, actor) == 200:
        assert res.html.select_one("#client-secret") is not None


@pytest.mark.parametrize("path", ["/admin/audit/", "/admin/audit/export.csv"])
@pytest.mark.parametrize("actor", ADMIN_ACTORS)
def test_the_audit_log_takes_no_writes(client, dbsession, scene, actor, path):
    """The audit log is only read here: a POST finds no view, whoever sends it."""
    sign_in(client, dbsession, scene, actor)
    token = (client.cookies.get("csrftoken") or "").strip('"')
    client.post(path, {"actor": "x", "csrf_token": token}, status=404)

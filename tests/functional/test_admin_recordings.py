"""`/admin/recordings/`: the list and its filters, "resend notification" (mail through
aiosmtpd) and "mark failed_to_stop", each audited; the notice when recording is off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from meet_web.models import Recording, RecordingStatus
from meet_web.models.audit import AuditEvent
from meet_web.services import audit
from tests.conftest import make_recording, make_room
from tests.servers.smtp import closed_port

LIST = "/admin/recordings/"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def operator(recording_app, cast, dbsession):
    client = recording_app()
    client.login_as(cast.operator)
    dbsession.execute(delete(AuditEvent))  # the sign-in's
    return client


@pytest.fixture
def shelf(dbsession, cast):
    other = make_room(dbsession, "Board Room", cast.member)
    return {
        "saved": make_recording(
            dbsession, cast.room, {cast.owner: "owner"}, status="saved", created_at=NOW
        ),
        "active": make_recording(
            dbsession,
            cast.room,
            {cast.owner: "owner"},
            status="active",
            created_at=NOW - timedelta(hours=1),
        ),
        "transcript": make_recording(
            dbsession,
            other,
            {cast.member: "owner", cast.owner: "administrator"},
            status="stopped",
            mode="transcript",
            created_at=NOW - timedelta(days=1),
        ),
    }


def listed(res) -> list[str]:
    return [row.select("code")[0].text for row in res.html.select("tbody tr")]


def audit_events(dbsession, action) -> list[AuditEvent]:
    dbsession.expire_all()
    return list(dbsession.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_list_newest_first(operator, shelf):
    res = operator.get(LIST)
    assert listed(res) == ["saved", "active", "stopped"]
    assert "3 recordings" in res.text
    assert "Recording is turned off" not in res.text


@pytest.mark.parametrize(
    ("query", "statuses"),
    [
        ({"status": "active"}, ["active"]),
        ({"mode": "transcript"}, ["stopped"]),
        ({"room": "board"}, ["stopped"]),
        ({"room": "team-room"}, ["saved", "active"]),
        ({"owner": "MEMBER@"}, ["stopped"]),
        ({"owner": "owner@example.org"}, ["saved", "active"]),
        ({"owner": "owner", "mode": "screen_recording", "status": "saved"}, ["saved"]),
        ({"owner": "_"}, []),
    ],
)
def test_filters(operator, shelf, query, statuses):
    assert listed(operator.get(LIST, query)) == statuses


def test_htmx_gets_the_results(operator, shelf):
    res = operator.get(
        LIST, {"status": "saved"}, headers={"HX-Request": "true", "HX-Target": "admin-results"}
    )
    assert res.html.select_one("form.admin-filters") is None
    assert listed(res) == ["saved"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"status": "lost"}, '"lost" is not a valid choice.'),
        ({"mode": "video"}, '"video" is not a valid choice.'),
        ({"room": "x" * 101}, "Ensure this field has no more than 100 characters."),
        ({"owner": "a\x00"}, "Ensure this field has no more than 100 characters."),
        ({"page": "0"}, "A valid integer is required."),
        ({"sort": "name"}, '"name" is not a valid choice.'),
    ],
)
def test_bad_filters(operator, shelf, query, message):
    res = operator.get(LIST, query, status=400)
    assert message in res.html.get_text()


def test_the_notice_when_recording_is_off(testapp, cast, shelf, dbsession):
    testapp.login_as(cast.operator)
    res = testapp.get(LIST)
    assert "Recording is turned off on this site (recording.enabled)" in res.text
    assert listed(res) == ["saved", "active", "stopped"]


# -- resend notification ----------------------------------------------------------------------


def test_resend_mails_the_owners_again(operator, shelf, dbsession, smtp, cast):
    recording = shelf["saved"]
    recording.notified_at = NOW
    dbsession.flush()
    page = operator.get(LIST, {"status": "saved"})
    action = f"/admin/recordings/{recording.id}/resend-notification"
    assert page.html.select_one(f'form[action$="{action}"]') is not None
    res = operator.post(action, {"back": "?status=saved"}, status=303)
    assert res.location == "http://localhost/admin/recordings/?status=saved"
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == [cast.owner.email]
    assert f"http://localhost/recordings/{recording.id}" in mail.text
    dbsession.expire_all()
    assert dbsession.get(Recording, recording.id).notified_at is not None
    (event,) = audit_events(dbsession, audit.RECORDING_RESEND_NOTIFICATION)
    assert (event.actor_label, event.target_id) == (cast.operator.email, str(recording.id))
    assert event.changes == {"room": str(cast.room.id), "notified_before": True}
    shown = res.follow()
    assert "The owners are being mailed again" in shown.text


def test_resend_when_the_relay_is_down_leaves_it_owed(recording_app, cast, shelf, dbsession, smtp):
    client = recording_app(**{"mail.port": str(closed_port())})
    client.login_as(cast.operator)
    recording = shelf["saved"]
    client.post(f"/admin/recordings/{recording.id}/resend-notification", status=303)
    dbsession.expire_all()
    assert dbsession.get(Recording, recording.id).notified_at is None  # the cron retries
    assert len(audit_events(dbsession, audit.RECORDING_RESEND_NOTIFICATION)) == 1


@pytest.mark.parametrize("status", ["active", "stopped"])
def test_resend_refused_for_a_recording_not_saved(operator, shelf, dbsession, smtp, status):
    recording = next(r for r in shelf.values() if r.status == status)
    res = operator.post(f"/admin/recordings/{recording.id}/resend-notification", status=409)
    assert "Only a saved recording has a notification to send." in res.text
    assert smtp.messages() == []
    assert audit_events(dbsession, audit.RECORDING_RESEND_NOTIFICATION) == []


def test_resend_without_a_base_url_is_refused(recording_app, cast, shelf, dbsession, smtp):
    client = recording_app(**{"app.base_url": "", "app.trusted_hosts": "*"})
    client.login_as(cast.operator)
    res = client.post(f"/admin/recordings/{shelf['saved'].id}/resend-notification", status=409)
    assert "Set app.base_url or recording.download_base_url" in res.text
    assert audit_events(dbsession, audit.RECORDING_RESEND_NOTIFICATION) == []


def test_resend_of_an_unknown_recording_is_404(operator):
    operator.post(
        "/admin/recordings/0c1f3d4e-5a6b-4c7d-8e9f-a0b1c2d3e4f5/resend-notification", status=404
    )
    operator.post("/admin/recordings/not-an-id/resend-notification", status=404)


# -- mark failed_to_stop ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["active", "transcript"])
def test_mark_failed_to_stop_after_confirmation(operator, shelf, dbsession, cast, name):
    recording = shelf[name]
    before = str(recording.status)
    page = operator.get(LIST)
    link = page.html.select_one(f'a[href*="/{recording.id}/mark-failed-to-stop"]')["href"]
    confirm = operator.get(link)
    assert "as failed to stop?" in confirm.text
    (form,) = [f for f in confirm.forms.values() if f.action.endswith("/mark-failed-to-stop")]
    res = form.submit(status=303)
    assert res.location == "http://localhost/admin/recordings/?sort=-created&page=1"  # as it was
    dbsession.expire_all()
    assert dbsession.get(Recording, recording.id).status == RecordingStatus.FAILED_TO_STOP
    (event,) = audit_events(dbsession, audit.RECORDING_MARK_FAILED_TO_STOP)
    assert event.changes["from"] == before
    assert "The recording was marked as failed to stop" in res.follow().text


def test_mark_without_confirmation_is_refused(operator, shelf, dbsession):
    recording = shelf["active"]
    res = operator.post(f"/admin/recordings/{recording.id}/mark-failed-to-stop", status=400)
    assert "Please confirm this action." in res.text
    dbsession.expire_all()
    assert dbsession.get(Recording, recording.id).status == RecordingStatus.ACTIVE
    assert audit_events(dbsession, audit.RECORDING_MARK_FAILED_TO_STOP) == []


def test_mark_refused_for_a_finished_recording(operator, shelf, dbsession):
    recording = shelf["saved"]
    path = f"/admin/recordings/{recording.id}/mark-failed-to-stop"
    assert "Only a recording that is still running" in operator.get(path, status=409).text
    operator.post(path, {"confirm": "yes"}, status=409)
    dbsession.expire_all()
    assert dbsession.get(Recording, recording.id).status == RecordingStatus.SAVED
    assert audit_events(dbsession, audit.RECORDING_MARK_FAILED_TO_STOP) == []


def test_a_marked_room_may_record_again(operator, shelf, cast, livekit, recording_app):
    recording = shelf["active"]
    operator.post(
        f"/admin/recordings/{recording.id}/mark-failed-to-stop", {"confirm": "yes"}, status=303
    )
    livekit.add_room(str(cast.room.id))
    owner = recording_app()
    owner.login_as(cast.owner)
    owner.post_json(
        f"/api/v1.0/rooms/{cast.room.id}/start-recording/", {"mode": "screen_recording"}, status=201
    )

"""The "a guest is waiting" e-mail: a guest's first knock, with no manager in the
meeting, mails the room's owners and administrators who opted in, at most once per
room and interval; the knock itself never waits for it, nor fails with it.

The job runs on a worker thread in its own database session, as in production: it sees
committed rows only, so these tests commit their room and users (and delete them
after), and wait for the worker (`drain`) before looking at the inbox.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from meet_web.services.ephemeral import EphemeralStore
from meet_web.services.livekit import LiveKitGateway
from meet_web.services.lobby_alerts import GuestWaitingAlerts
from meet_web.services.mail import MailConfig, SmtpMailer
from tests.servers.smtp import closed_port

# in the French of the owner who is mailed (the subject, made one line, has plain spaces)
WAITING_SUBJECT = "Un invité attend pour entrer dans «\u00a0Alerted Room\u00a0»"


@pytest.fixture
def committed(app):
    """A restricted room with an owner who opted in (French), an administrator who did
    not, and a member who did (members are not managers), committed."""
    engine = app.registry["dbengine"]
    tag = uuid.uuid4().hex[:8]

    def user(name, **fields):
        return User(
            sub=f"{name}-{tag}", email=f"{name}-{tag}@example.org", full_name=name, **fields
        )

    owner = user("owner", language="fr-fr", guest_waiting_emails=True)
    administrator = user("administrator")
    member = user("member", guest_waiting_emails=True)
    room = Room(name="Alerted Room", slug=f"alerted-{tag}", access_level=AccessLevel.RESTRICTED)
    for person, role in ((owner, Role.OWNER), (administrator, Role.ADMINISTRATOR)):
        room.accesses.append(ResourceAccess(user=person, role=role))
    room.accesses.append(ResourceAccess(user=member, role=Role.MEMBER))
    with Session(engine) as session:
        session.add_all([owner, administrator, member, room])
        session.commit()
        rows = {"room": room.id, "users": [owner.id, administrator.id, member.id]}
        info = {
            "room": room.id,
            "slug": room.slug,
            "owner": owner.id,
            "owner_email": owner.email,
            "administrator": administrator.id,
            "administrator_email": administrator.email,
        }
    yield info
    with Session(engine) as session:
        session.execute(delete(ResourceAccess).where(ResourceAccess.resource_id == rows["room"]))
        session.execute(delete(Room).where(Room.id == rows["room"]))
        session.execute(delete(User).where(User.id.in_(rows["users"])))
        session.commit()


def set_user(app, user_id, **fields):
    with Session(app.registry["dbengine"]) as session:
        user = session.get(User, user_id)
        for name, value in fields.items():
            setattr(user, name, value)
        session.commit()


def alerts(client) -> GuestWaitingAlerts:
    return client.app.registry["meet_services"][GuestWaitingAlerts]


def knock(client, room_id, username="Guest", **kw):
    url = f"/api/v1.0/rooms/{room_id}/request-entry/"
    res = client.post_json(url, {"username": username}, **kw)
    alerts(client).drain()
    return res


def guest(client):
    """Another browser on the same app (its own lobby cookie)."""
    client.reset()
    return client


def test_a_guest_knocks_and_the_opted_in_owner_is_mailed(committed, mailing, smtp, livekit):
    res = knock(mailing, committed["room"])
    assert res.json["status"] == "waiting"
    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == [committed["owner_email"]]  # not the administrator, nor a member
    assert mail.subject == WAITING_SUBJECT
    assert mail["Content-Language"] == "fr"  # the owner's language, not the guest's
    link = f"http://localhost/{committed['slug']}/meeting#lobby-panel"
    assert link in mail.text
    assert f'href="{link}"' in mail.html


def test_polls_of_the_same_guest_send_nothing_more(committed, mailing, smtp, livekit):
    knock(mailing, committed["room"])
    assert len(smtp.wait_for(1)) == 1
    smtp.reset()
    for _ in range(3):
        assert knock(mailing, committed["room"]).json["status"] == "waiting"
    assert smtp.messages() == []


def test_a_second_guest_within_the_interval_sends_no_second_mail(committed, mailing, smtp, livekit):
    knock(mailing, committed["room"], "First")
    assert len(smtp.wait_for(1)) == 1
    res = knock(guest(mailing), committed["room"], "Second")
    assert res.json["status"] == "waiting"
    assert len(smtp.messages()) == 1


def test_without_an_interval_every_new_guest_sends(committed, testapp_with, smtp, livekit):
    # lobby.waiting_email_interval = 0: no limit
    client = testapp_with(
        {"mail.host": smtp.host, "mail.port": str(smtp.port), "lobby.waiting_email_interval": "0"}
    )
    knock(client, committed["room"], "First")
    knock(guest(client), committed["room"], "Second")
    assert len(smtp.wait_for(2)) == 2


def test_every_opted_in_manager_is_mailed(committed, mailing, smtp, livekit, app):
    set_user(app, committed["administrator"], guest_waiting_emails=True)
    knock(mailing, committed["room"])
    mails = smtp.wait_for(2)
    assert sorted(mail.rcpt_tos[0] for mail in mails) == sorted(
        [committed["owner_email"], committed["administrator_email"]]
    )
    by_recipient = {mail.rcpt_tos[0]: mail for mail in mails}
    assert by_recipient[committed["administrator_email"]]["Content-Language"] == "en"


@pytest.mark.parametrize("role", ["owner", "administrator"])
def test_no_mail_when_a_manager_is_in_the_meeting(committed, mailing, smtp, livekit, role):
    livekit.add_participant(
        str(committed["room"]),
        str(committed[role]),
        "Manager",
        attributes={"room_role": role, "is_authenticated": "true"},
    )
    assert knock(mailing, committed["room"]).json["status"] == "waiting"
    assert smtp.messages() == []


def test_a_member_in_the_meeting_does_not_count(committed, mailing, smtp, livekit):
    livekit.add_participant(
        str(committed["room"]),
        str(uuid.uuid4()),
        "Member",
        attributes={"room_role": "member", "is_authenticated": "true"},
    )
    knock(mailing, committed["room"])
    assert len(smtp.wait_for(1)) == 1


def test_a_manager_seen_only_by_identity_counts(committed, mailing, smtp, livekit):
    # e.g. promoted after joining: their token's role is older than their access
    livekit.add_participant(str(committed["room"]), str(committed["owner"]), "Owner")
    knock(mailing, committed["room"])
    assert smtp.messages() == []


def test_no_mail_when_nobody_opted_in(committed, mailing, smtp, livekit, app):
    set_user(app, committed["owner"], guest_waiting_emails=False)
    knock(mailing, committed["room"])
    assert smtp.messages() == []


def test_no_mail_for_an_inactive_manager(committed, mailing, smtp, livekit, app):
    set_user(app, committed["owner"], is_active=False)
    knock(mailing, committed["room"])
    assert smtp.messages() == []


def test_a_manager_without_an_address_is_skipped(committed, mailing, smtp, livekit, app):
    set_user(app, committed["owner"], email=None)
    knock(mailing, committed["room"])
    assert smtp.messages() == []


def test_the_meeting_page_knock_mails_too(committed, mailing, smtp, livekit):
    res = mailing.get(f"/{committed['slug']}/meeting", params={"username": "Guest"})
    assert res.status_int == 200
    alerts(mailing).drain()
    (mail,) = smtp.wait_for(1)
    assert mail.subject == WAITING_SUBJECT


def test_a_refused_knock_sends_nothing(committed, mailing, smtp, livekit):
    knock(mailing, committed["room"], "", status=400)
    assert smtp.messages() == []


def test_smtp_down_the_knock_still_succeeds(committed, testapp_with, livekit, caplog):
    client = testapp_with({"mail.host": "127.0.0.1", "mail.port": str(closed_port())})
    with caplog.at_level(logging.ERROR, logger="meet_web"):
        res = knock(client, committed["room"])
    assert res.json["status"] == "waiting"
    (record,) = [r for r in caplog.records if r.name == "meet_web.services.mail"]
    assert committed["owner_email"] in record.getMessage()
    assert "unreachable" in record.getMessage()
    # nothing else broke: the guest keeps polling, the lobby lists them
    assert knock(client, committed["room"]).json["status"] == "waiting"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and "failed" in r.msg]


def test_smtp_refusing_is_logged(committed, mailing, smtp, livekit, caplog):
    with smtp.refusing("550 5.1.1 No such user"), caplog.at_level(logging.ERROR, "meet_web"):
        assert knock(mailing, committed["room"]).json["status"] == "waiting"
    (record,) = [r for r in caplog.records if r.name == "meet_web.services.mail"]
    assert "550 5.1.1 No such user" in record.getMessage()
    assert smtp.messages() == []


def test_livekit_down_mails_anyway(committed, testapp_with, smtp, caplog):
    """Who is in the meeting is unknown: better a needless e-mail than a guest waiting
    unseen."""
    client = testapp_with(
        {
            "mail.host": smtp.host,
            "mail.port": str(smtp.port),
            "livekit.url": f"http://127.0.0.1:{closed_port()}",
        }
    )
    with caplog.at_level(logging.WARNING, logger="meet_web"):
        assert knock(client, committed["room"]).json["status"] == "waiting"
    (mail,) = smtp.wait_for(1)
    assert mail.subject == WAITING_SUBJECT
    assert any("who is in the meeting is unknown" in r.getMessage() for r in caplog.records)


def test_uncommitted_rooms_are_not_read_by_the_worker(
    mailing, smtp, livekit, restricted, cast, dbsession
):
    # the test's own rows (rolled back at its end) stay invisible to the worker's
    # session: the knock works and nobody is mailed
    cast.owner.guest_waiting_emails = True
    dbsession.flush()
    assert knock(mailing, restricted.id).json["status"] == "waiting"
    assert smtp.messages() == []


def test_the_job_for_an_unknown_room_does_nothing(mailing, smtp):
    assert alerts(mailing).run(uuid.uuid4(), "http://localhost") is False
    assert alerts(mailing).run("not-a-uuid", "http://localhost") is False
    assert smtp.messages() == []


def test_two_processes_send_one_mail(committed, app, smtp, livekit):
    """The mark of a sent mail lives in the shared store (Redis in production): a second
    process's job, sharing nothing else, finds it."""
    services = app.registry["meet_services"]
    mailer = SmtpMailer(
        MailConfig.from_settings(
            {**app.registry.settings, "mail.host": smtp.host, "mail.port": smtp.port}
        )
    )

    def process() -> GuestWaitingAlerts:
        return GuestWaitingAlerts(
            store=services[EphemeralStore],
            livekit=services[LiveKitGateway],
            mailer=mailer,
            sessions=app.registry["dbsession_factory"],
            interval=300,
        )

    first, second = process(), process()
    assert first.run(committed["room"], "https://meet.example.org/") is True
    assert second.run(committed["room"], "https://meet.example.org/") is False
    (mail,) = smtp.wait_for(1)
    assert f"https://meet.example.org/{committed['slug']}/meeting#lobby-panel" in mail.text


@pytest.mark.parametrize("hosts", ["", "*"])
def test_no_mail_when_links_would_follow_any_host(committed, testapp_with, smtp, livekit, hosts):
    client = testapp_with(
        {
            "mail.host": smtp.host,
            "mail.port": str(smtp.port),
            "app.base_url": "",
            "app.trusted_hosts": hosts,
        }
    )
    res = knock(client, committed["room"], headers={"Host": "evil.example.com"})
    assert res.json["status"] == "waiting"
    assert smtp.messages() == []


def test_links_follow_a_checked_host(committed, testapp_with, smtp, livekit):
    client = testapp_with(
        {
            "mail.host": smtp.host,
            "mail.port": str(smtp.port),
            "app.base_url": "",
            "app.trusted_hosts": "meet.example.org",
        }
    )
    knock(client, committed["room"], headers={"Host": "meet.example.org"})
    (mail,) = smtp.wait_for(1)
    assert f"http://meet.example.org/{committed['slug']}/meeting#lobby-panel" in mail.text

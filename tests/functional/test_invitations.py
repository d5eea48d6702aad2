"""Invitations by e-mail (`POST /api/v1.0/rooms/{id}/invite/`), through the loopback
SMTP server: one message, every recipient in BCC, the sender in To, in the sender's
language, with the room's link; bad input and a relay that fails send nothing."""

from __future__ import annotations

import pytest

from tests.servers.smtp import closed_port

LINK = "http://localhost/team-room"


def invite_url(room) -> str:
    return f"/api/v1.0/rooms/{room.id}/invite/"


@pytest.fixture
def owner_app(mailing, cast):
    mailing.login_as(cast.owner)
    return mailing


def test_one_message_every_recipient_in_bcc(owner_app, cast, smtp):
    emails = ["ann@example.net", "bob@example.com", "carl@example.org"]
    res = owner_app.post_json(invite_url(cast.room), {"emails": emails}, status=200)
    assert res.json == {"status": "success", "message": "invitations sent"}
    [mail] = smtp.wait_for(1)
    assert sorted(mail.rcpt_tos) == sorted([*emails, cast.owner.email])
    # BCC never reaches the recipients; To names only the sender
    assert mail["Bcc"] is None
    assert mail["To"] == cast.owner.email
    assert mail["Reply-To"] == cast.owner.email
    for address in emails:
        assert address not in mail.raw.decode()
    assert mail.subject == "Owner Example invites you to the meeting “Team Room”"


def test_html_and_text_parts_carry_the_link(owner_app, cast, smtp):
    owner_app.post_json(invite_url(cast.room), {"emails": ["ann@example.net"]}, status=200)
    [mail] = smtp.wait_for(1)
    assert mail.message.get_content_type() == "multipart/alternative"
    assert "Owner Example invites you to join the video meeting “Team Room”." in mail.text
    assert LINK in mail.text
    assert f'href="{LINK}"' in mail.html
    assert "Join the meeting" in mail.html


def test_french_sender_writes_in_french(owner_app, cast, dbsession, smtp):
    cast.owner.language = "fr-fr"
    dbsession.flush()
    owner_app.post_json(invite_url(cast.room), {"emails": ["ann@example.net"]}, status=200)
    [mail] = smtp.wait_for(1)
    assert mail.subject == "Owner Example vous invite à la réunion «\u00a0Team Room\u00a0»"
    assert "vous invite à rejoindre la réunion vidéo" in mail.text
    assert "Rejoindre la réunion" in mail.html
    assert mail["Content-Language"] == "fr"
    assert LINK in mail.text


def test_addresses_are_deduplicated_whatever_their_case(owner_app, cast, smtp):
    emails = ["Ann@Example.net", "ann@example.NET", "bob@example.com", "ann@example.net"]
    owner_app.post_json(invite_url(cast.room), {"emails": emails}, status=200)
    [mail] = smtp.wait_for(1)
    assert sorted(mail.rcpt_tos) == sorted(["Ann@Example.net", "bob@example.com", cast.owner.email])


def test_the_sender_listed_among_the_recipients_gets_one_copy(owner_app, cast, smtp):
    emails = [cast.owner.email.upper(), "ann@example.net"]
    owner_app.post_json(invite_url(cast.room), {"emails": emails}, status=200)
    [mail] = smtp.wait_for(1)
    assert sorted(mail.rcpt_tos) == sorted(["ann@example.net", cast.owner.email])


def test_administrator_invites_too(mailing, cast, smtp):
    mailing.login_as(cast.administrator)
    mailing.post_json(invite_url(cast.room), {"emails": ["ann@example.net"]}, status=200)
    [mail] = smtp.wait_for(1)
    assert mail["To"] == cast.administrator.email
    assert mail.subject.startswith("Administrator Example invites you")


BAD_BODIES = {
    "missing": ({}, {"emails": ["This field is required."]}),
    "empty": ({"emails": []}, {"emails": ["This list may not be empty."]}),
    "not a list": (
        {"emails": "ann@example.net"},
        {"emails": ['Expected a list of items but got type "str".']},
    ),
    "bad addresses": (
        {"emails": ["ann@example.net", "not an address", "bob@example.com", "x@y", 7]},
        {
            "emails": {
                "1": ["Enter a valid email address."],
                "3": ["Enter a valid email address."],
                "4": ["Enter a valid email address."],
            }
        },
    ),
    "header injection": (
        {"emails": ["ann@example.net\r\nBcc: eve@example.org"]},
        {"emails": {"0": ["Enter a valid email address."]}},
    ),
    "two in one": (
        {"emails": ["ann@example.net, eve@example.org"]},
        {"emails": {"0": ["Enter a valid email address."]}},
    ),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_input_sends_nothing(owner_app, cast, smtp, case):
    body, errors = BAD_BODIES[case]
    res = owner_app.post_json(invite_url(cast.room), body, status=400)
    assert res.json == errors
    assert smtp.messages() == []


def test_not_json_sends_nothing(owner_app, cast, smtp):
    res = owner_app.post(invite_url(cast.room), "{", content_type="application/json", status=400)
    assert res.json == {"detail": "JSON parse error - the request body is not valid JSON."}
    assert smtp.messages() == []


def test_too_many_recipients(owner_app, cast, smtp):
    emails = [f"guest{n}@example.net" for n in range(51)]
    res = owner_app.post_json(invite_url(cast.room), {"emails": emails}, status=400)
    assert res.json == {"emails": ["Ensure this field has no more than 50 elements."]}
    assert smtp.messages() == []
    owner_app.post_json(invite_url(cast.room), {"emails": emails[:50]}, status=200)
    [mail] = smtp.wait_for(1)
    assert len(mail.rcpt_tos) == 51


def test_the_limit_is_a_setting(testapp_with, cast, smtp):
    app = testapp_with(
        {
            "mail.host": smtp.host,
            "mail.port": str(smtp.port),
            "invitations.max_recipients": "2",
        }
    )
    app.login_as(cast.owner)
    emails = ["a@example.net", "b@example.net", "c@example.net"]
    res = app.post_json(invite_url(cast.room), {"emails": emails}, status=400)
    assert res.json == {"emails": ["Ensure this field has no more than 2 elements."]}
    assert smtp.messages() == []


def test_relay_down_is_a_502(testapp_with, cast, caplog):
    app = testapp_with({"mail.host": "127.0.0.1", "mail.port": str(closed_port())})
    app.login_as(cast.owner)
    res = app.post_json(invite_url(cast.room), {"emails": ["ann@example.net"]}, status=502)
    assert res.json == {"error": "The invitation could not be sent. Try again later."}
    assert "invitation" in caplog.text and "unreachable" in caplog.text


def test_relay_refusing_is_a_502(owner_app, cast, smtp):
    with smtp.refusing():
        res = owner_app.post_json(
            invite_url(cast.room), {"emails": ["ann@example.net"]}, status=502
        )
    assert res.json == {"error": "The invitation could not be sent. Try again later."}
    assert smtp.messages() == []


def test_by_slug(owner_app, cast, smtp):
    owner_app.post_json(
        f"/api/v1.0/rooms/{cast.room.slug}/invite/", {"emails": ["ann@example.net"]}, status=200
    )
    assert len(smtp.wait_for(1)) == 1


def test_get_is_not_allowed(owner_app, cast):
    res = owner_app.get(invite_url(cast.room), status=405)
    assert res.json == {"detail": 'Method "GET" not allowed.'}


def test_without_a_trusted_site_address_nothing_is_sent(testapp_with, cast, smtp):
    """No app.base_url and unchecked Host headers: a link could point anywhere."""
    app = testapp_with({"app.base_url": "", "mail.host": smtp.host, "mail.port": str(smtp.port)})
    app.login_as(cast.owner)
    res = app.post_json(invite_url(cast.room), {"emails": ["ann@example.net"]}, status=503)
    assert res.json == {
        "error": "Invitations are not available: the site's address is not configured."
    }
    assert smtp.messages() == []


def test_behind_trusted_hosts_the_request_address_is_used(testapp_with, cast, smtp):
    app = testapp_with(
        {
            "app.base_url": "",
            "app.trusted_hosts": "localhost",
            "mail.host": smtp.host,
            "mail.port": str(smtp.port),
        }
    )
    app.login_as(cast.owner)
    app.post_json(invite_url(cast.room), {"emails": ["ann@example.net"]}, status=200)
    [mail] = smtp.wait_for(1)
    assert LINK in mail.text

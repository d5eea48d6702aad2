"""The invite form of the room settings page, with htmx (the partial) and without
(a 303 back to the page, or the page again with the errors), through the SMTP server."""

from __future__ import annotations

import pytest

from tests.servers.smtp import closed_port

HX = {"HX-Request": "true"}


@pytest.fixture
def owner_app(mailing, cast):
    mailing.login_as(cast.owner)
    return mailing


def invite_form(page):
    return next(form for form in page.forms.values() if form.action.endswith("/invite"))


def test_the_settings_page_shows_the_form(owner_app):
    page = owner_app.get("/team-room/settings")
    form = invite_form(page)
    assert form.method.lower() == "post"
    assert form["csrf_token"].value
    assert 'hx-post="/team-room/invite"' in page.text


def test_without_javascript_the_form_posts_and_comes_back(owner_app, cast, smtp):
    form = invite_form(owner_app.get("/team-room/settings"))
    form["emails"] = "ann@example.net, Bob@Example.com\nann@EXAMPLE.net; carl@example.org"
    res = form.submit(status=303)
    assert res.location == "http://localhost/team-room/settings#invite"
    assert "The invitation has been sent." in res.follow().text
    [mail] = smtp.wait_for(1)
    assert sorted(mail.rcpt_tos) == sorted(
        ["ann@example.net", "Bob@Example.com", "carl@example.org", cast.owner.email]
    )
    assert mail["Bcc"] is None


def test_with_htmx_the_partial_says_it_was_sent(owner_app, smtp):
    res = owner_app.post("/team-room/invite", {"emails": "ann@example.net"}, headers=HX)
    assert res.status_int == 200
    assert res.text.lstrip().startswith('<section id="invite"')
    assert "The invitation has been sent." in res.text
    assert res.headers["Vary"] == "HX-Request, Cookie"
    assert len(smtp.wait_for(1)) == 1


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_bad_addresses_are_shown_one_by_one(owner_app, smtp, headers):
    res = owner_app.post(
        "/team-room/invite",
        {"emails": "ann@example.net not-an-address bob@ eve@example.org"},
        headers=headers,
        status=400,
    )
    assert "Correct these addresses; nothing was sent:" in res.text
    assert "<strong>not-an-address</strong>: Enter a valid email address." in res.text
    assert "<strong>bob@</strong>: Enter a valid email address." in res.text
    assert "<strong>ann@example.net</strong>" not in res.text
    # what was typed is kept, to be corrected
    assert "ann@example.net not-an-address bob@ eve@example.org</textarea>" in res.text
    assert smtp.messages() == []


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_no_address(owner_app, smtp, headers):
    res = owner_app.post("/team-room/invite", {"emails": "  \n "}, headers=headers, status=400)
    assert "Enter at least one email address." in res.text
    assert smtp.messages() == []


def test_too_many_addresses(owner_app, smtp):
    emails = " ".join(f"guest{n}@example.net" for n in range(51))
    res = owner_app.post("/team-room/invite", {"emails": emails}, headers=HX, status=400)
    assert "Invite at most 50 addresses at a time." in res.text
    assert smtp.messages() == []


def test_in_french(owner_app, cast, dbsession):
    cast.owner.language = "fr-fr"
    dbsession.flush()
    res = owner_app.post("/team-room/invite", {"emails": "nope"}, headers=HX, status=400)
    assert "Saisissez une adresse e-mail valide." in res.text


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_relay_down(testapp_with, cast, headers):
    app = testapp_with({"mail.host": "127.0.0.1", "mail.port": str(closed_port())})
    app.login_as(cast.owner)
    # htmx swaps no 5xx answer (the layout's htmx-config): its fragment comes as a 200
    expected = 200 if headers else 502
    res = app.post(
        "/team-room/invite", {"emails": "ann@example.net"}, headers=headers, status=expected
    )
    assert "The invitation could not be sent. Try again later." in res.text
    assert "ann@example.net</textarea>" in res.text


def test_without_csrf_token_nothing_is_sent(owner_app, smtp):
    owner_app.post(
        "/team-room/invite",
        {"emails": "ann@example.net"},
        headers={"X-CSRF-Token": ""},
        status=403,
    )
    assert smtp.messages() == []


def test_members_do_not_see_the_form(mailing, cast):
    mailing.login_as(cast.member)
    mailing.get("/team-room/settings", status=403)


# -- the meeting page's invite dialog ---------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "shown"),
    [("owner", True), ("administrator", True), ("member", False)],
)
def test_the_meeting_page_offers_the_dialog_to_managers(mailing, cast, actor, shown):
    mailing.login_as(cast[actor])
    page = mailing.get("/team-room/meeting", status=200)
    assert ('id="invite-dialog"' in page.text) is shown
    assert ("/static/js/meeting/invite.js" in page.text) is shown
    if shown:
        form = invite_form(page)
        assert form["csrf_token"].value
        assert form.action == "http://localhost/team-room/invite"
        assert 'hx-post="http://localhost/team-room/invite"' in page.text


def test_the_dialog_form_sends_through_htmx(mailing, cast, smtp):
    mailing.login_as(cast.owner)
    form = invite_form(mailing.get("/team-room/meeting"))
    form["emails"] = "ann@example.net bob@example.com"
    res = form.submit(headers=HX, status=200)
    assert res.text.lstrip().startswith('<section id="invite"')
    assert "The invitation has been sent." in res.text
    [mail] = smtp.wait_for(1)
    assert sorted(mail.rcpt_tos) == sorted(["ann@example.net", "bob@example.com", cast.owner.email])

"""An administrator invites people from the meeting page's dialog and from the room
settings page, in a real browser; the mail reaches the loopback SMTP server.

The app is served here with its mail going to that server (the folder's `live_server`
has no relay), on a database of its own.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from tests.browser.conftest import serve_app, sign_in
from tests.browser.test_meeting_page import serve_stand_in


@pytest.fixture(scope="module")
def mailing_server(settings, smtp_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("invite-db")
    mail = {"mail.host": smtp_server.host, "mail.port": str(smtp_server.port)}
    with serve_app(settings, folder, **mail) as server:
        yield server


@pytest.fixture
def mailing_page(browser, mailing_server):
    context = browser.new_context(
        base_url=mailing_server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def room_with_administrator(server, login: str, slug: str, language: str) -> None:
    with Session(bind=server.app.registry["dbengine"]) as db:
        admin = User(
            sub=login,
            email=f"{login}@example.org",
            full_name=f"{login.capitalize()} Example",
            language=language,
        )
        room = Room(name="Planning", slug=slug, access_level=AccessLevel.PUBLIC)
        room.accesses.append(ResourceAccess(user=admin, role=Role.ADMINISTRATOR))
        db.add(room)
        db.commit()


def test_an_administrator_invites_two_people_from_the_meeting(mailing_page, mailing_server, smtp):
    page = mailing_page
    room_with_administrator(mailing_server, "adele", "planning-fr", "fr-fr")
    serve_stand_in(page)
    sign_in(page, "adele")
    page.goto("/planning-fr/meeting")
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "connected")

    page.get_by_role("button", name="Inviter", exact=True).click()
    dialog = page.locator("#invite-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Adresses e-mail").fill("ann@example.net, nope")
    dialog.get_by_role("button", name="Envoyer l\u2019invitation").click()
    # the addresses to correct, in the dialog, and nothing sent
    expect(dialog.get_by_role("alert")).to_contain_text("nope")
    assert smtp.messages() == []

    dialog.get_by_label("Adresses e-mail").fill("ann@example.net\nBob@Example.com")
    dialog.get_by_role("button", name="Envoyer l\u2019invitation").click()
    expect(dialog.get_by_role("status")).to_have_text("L\u2019invitation a été envoyée.")
    [mail] = smtp.wait_for(1)
    assert sorted(mail.rcpt_tos) == ["Bob@Example.com", "adele@example.org", "ann@example.net"]
    assert mail["To"] == "adele@example.org"
    assert mail["Bcc"] is None
    assert mail.subject == "Adele Example vous invite à la réunion «\u00a0Planning\u00a0»"
    assert f"{mailing_server.url}/planning-fr" in mail.text

    dialog.get_by_role("button", name="Fermer").click()
    expect(dialog).to_be_hidden()


def test_the_settings_page_shows_errors_inline_then_sends(mailing_page, mailing_server, smtp):
    page = mailing_page
    room_with_administrator(mailing_server, "basil", "planning-en", "en-us")
    sign_in(page, "basil")
    page.goto("/planning-en/settings")
    section = page.locator("#invite")
    section.get_by_label("Email addresses").fill("carl@example.org bad@ also-bad")
    section.get_by_role("button", name="Send the invitation").click()
    alert = page.locator("#invite").get_by_role("alert")
    expect(alert).to_contain_text("Correct these addresses; nothing was sent:")
    expect(alert.locator("li")).to_have_count(2)
    assert page.url == f"{mailing_server.url}/planning-en/settings"  # swapped, no reload

    page.locator("#invite").get_by_label("Email addresses").fill("carl@example.org")
    page.locator("#invite").get_by_role("button", name="Send the invitation").click()
    expect(page.locator("#invite").get_by_role("status")).to_have_text(
        "The invitation has been sent."
    )
    [mail] = smtp.wait_for(1)
    assert mail.subject == "Basil Example invites you to the meeting “Planning”"

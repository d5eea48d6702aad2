"""The mail service: messages rendered in their recipient's language, sent to the
loopback SMTP server, failures reported rather than raised where asked."""

from __future__ import annotations

import contextlib
import io
import logging
import re

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from pyramid.i18n import Localizer, Translations
from pyramid.scripting import prepare
from transaction.interfaces import NoTransaction

from meet_web.i18n import DOMAIN
from meet_web.services.mail import (
    LogMailer,
    MailConfig,
    MailError,
    SmtpMailer,
    localizer_for,
    make_mailer,
)
from meet_web.settings import SettingsError, load_settings
from tests.servers.smtp import closed_port

SENDER = "meet@example.org"
VALUES = {"room_name": "Team Room", "link": "http://localhost/team-room/meeting#lobby-panel"}
SUBJECT = "A guest is waiting to join “%(room)s”"
BODY = (
    "Someone is waiting in the lobby of “%(room)s”, and nobody who can let them in is in"
    " the meeting."
)
REQUIRED = {
    "sqlalchemy.url": "sqlite://",
    "session.secret": "s" * 32,
    "livekit.url": "http://127.0.0.1:7880",
    "livekit.api_key": "key",
    "livekit.api_secret": "l" * 32,
    "oidc.issuer": "http://127.0.0.1:9000",
    "oidc.client_id": "meet",
    "oidc.client_secret": "secret",
}


def config(**changes) -> MailConfig:
    values = {
        "host": "127.0.0.1",
        "port": 25,
        "username": "",
        "password": "",
        "use_tls": False,
        "use_ssl": False,
        "timeout": 5.0,
        "default_sender": SENDER,
    }
    return MailConfig(**{**values, **changes})


def smtp_mailer(smtp, **changes) -> SmtpMailer:
    return SmtpMailer(config(host=smtp.host, port=smtp.port, **changes))


def french_localizer() -> Localizer:
    """A French localizer with the message's subject and first line translated, as the
    catalogs will have them."""
    catalog = Catalog(locale="fr", domain=DOMAIN)
    catalog.add(SUBJECT, "Un invité attend d'entrer dans « %(room)s »")
    catalog.add(BODY, "Quelqu'un attend dans la salle d'attente de « %(room)s ».")
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Localizer("fr", Translations(buffer, domain=DOMAIN))


def compose(mailer, **kw):
    kw.setdefault("values", VALUES)
    return mailer.compose("guest_waiting", to="owner@example.org", **kw)


# -- composing -------------------------------------------------------------------------


def test_a_message_is_text_and_html_alternatives():
    message = compose(LogMailer(config()), language="en-us")
    assert message["Subject"] == "A guest is waiting to join “Team Room”"
    assert (message["From"], message["To"]) == (SENDER, "owner@example.org")
    assert message["Content-Language"] == "en"
    assert message["Message-ID"].endswith("@example.org>")
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert VALUES["link"] in text.get_content()
    assert f'href="{VALUES["link"]}"' in html.get_content()
    assert '<html lang="en">' in html.get_content()


def test_values_are_escaped_in_html_only():
    values = {**VALUES, "room_name": "<b>Q&A</b>"}
    message = compose(LogMailer(config()), language="en-us", values=values)
    text, html = message.iter_parts()
    assert "“<b>Q&A</b>”" in text.get_content()
    assert "&lt;b&gt;Q&amp;A&lt;/b&gt;" in html.get_content()
    assert "<b>Q&A</b>" not in html.get_content()
    assert message["Subject"] == "A guest is waiting to join “<b>Q&A</b>”"


def test_rendered_through_the_recipients_localizer():
    message = compose(LogMailer(config()), language="fr-fr", localizer=french_localizer())
    assert message["Subject"] == "Un invité attend d'entrer dans « Team Room »"
    assert message["Content-Language"] == "fr"
    text, html = message.iter_parts()
    assert "Quelqu'un attend dans la salle d'attente de « Team Room »." in text.get_content()
    assert "Quelqu'un attend dans la salle d'attente de « Team Room »." in html.get_content()
    assert '<html lang="fr">' in html.get_content()


def test_the_language_picks_the_catalog():
    assert localizer_for("fr-fr").locale_name == "fr"
    assert localizer_for("en-us").locale_name == "en"
    assert localizer_for("fr-fr") is localizer_for("fr-fr")  # read once
    message = compose(LogMailer(config()), language="fr-fr")
    assert message["Content-Language"] == "fr"


def test_a_missing_value_is_an_error():
    with pytest.raises(Exception, match="link"):
        compose(LogMailer(config()), language="en-us", values={"room_name": "Team Room"})


# -- sending ---------------------------------------------------------------------------


def test_smtp_delivers(smtp):
    mailer = smtp_mailer(smtp)
    mailer.send(compose(mailer, language="en-us"))
    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == ["owner@example.org"]
    assert mail.mail_from == SENDER
    assert mail.subject == "A guest is waiting to join “Team Room”"
    assert VALUES["link"] in mail.text
    assert VALUES["link"] in mail.html


def test_a_refusal_is_a_mail_error_with_the_reply(smtp):
    mailer = smtp_mailer(smtp)
    with (
        smtp.refusing("554 5.7.1 No thanks"),
        pytest.raises(MailError, match=re.escape("554 5.7.1 No thanks")),
    ):
        mailer.send(compose(mailer, language="en-us"))
    assert smtp.messages() == []


def test_a_relay_down_is_a_mail_error():
    mailer = SmtpMailer(config(port=closed_port()))
    with pytest.raises(MailError, match="unreachable"):
        mailer.send(compose(mailer, language="en-us"))


def test_send_quietly_logs_what_failed(smtp, caplog):
    mailer = smtp_mailer(smtp)
    with smtp.refusing("451 4.3.0 Try later"), caplog.at_level(logging.ERROR):
        assert mailer.send_quietly(compose(mailer, language="en-us")) is False
    (record,) = [r for r in caplog.records if r.name == "meet_web.services.mail"]
    message = record.getMessage()
    assert "owner@example.org" in message
    assert "A guest is waiting to join" in message
    assert "451 4.3.0 Try later" in message
    assert mailer.send_quietly(compose(mailer, language="en-us")) is True
    assert len(smtp.wait_for(1)) == 1


def test_login_is_refused_by_a_relay_without_auth(smtp):
    # the loopback server offers no AUTH: the failure names the relay's answer
    mailer = smtp_mailer(smtp, username="meet", password="secret")
    with pytest.raises(MailError, match=f"{smtp.host}:{smtp.port}"):
        mailer.send(compose(mailer, language="en-us"))
    assert smtp.messages() == []


def test_without_a_host_mail_goes_to_the_log(caplog):
    mailer = make_mailer(load_settings(REQUIRED, {}))
    assert isinstance(mailer, LogMailer)
    with caplog.at_level(logging.INFO, logger="meet_web.services.mail"):
        mailer.send(compose(mailer, language="en-us"))
    (record,) = caplog.records
    assert "owner@example.org" in record.getMessage()
    assert VALUES["link"] in record.getMessage()


# -- settings --------------------------------------------------------------------------


def test_mail_settings(tmp_path):
    secret = tmp_path / "mail-password"
    secret.write_text("hunter2\n")
    environ = {"MEET_MAIL_HOST": "smtp.example.org", "MEET_MAIL_PASSWORD_FILE": str(secret)}
    settings = load_settings({**REQUIRED, "mail.use_tls": "true"}, environ)
    mail = MailConfig.from_settings(settings)
    assert (mail.host, mail.port, mail.password, mail.use_tls, mail.use_ssl) == (
        "smtp.example.org",
        25,
        "hunter2",
        True,
        False,
    )
    assert mail.timeout == 10.0
    assert isinstance(make_mailer(settings), SmtpMailer)
    assert settings["lobby.waiting_email_interval"] == 300


def test_tls_and_ssl_are_exclusive():
    with pytest.raises(SettingsError, match=r"mail\.use_tls and mail\.use_ssl are exclusive"):
        load_settings({**REQUIRED, "mail.use_tls": "true", "mail.use_ssl": "true"}, {})


@pytest.mark.parametrize(
    ("key", "value"),
    [("mail.port", "smtp"), ("mail.timeout", "soon"), ("lobby.waiting_email_interval", "x")],
)
def test_malformed_mail_settings(key, value):
    with pytest.raises(SettingsError, match=key):
        load_settings({**REQUIRED, key: value}, {})


def test_a_negative_interval_is_refused():
    with pytest.raises(SettingsError, match="must be 0 or more seconds"):
        load_settings({**REQUIRED, "lobby.waiting_email_interval": "-1"}, {})


def test_the_password_is_never_shown():
    with pytest.raises(SettingsError) as caught:
        load_settings({**REQUIRED, "mail.password": "hunter2", "mail.use_tls": "maybe"}, {})
    assert "hunter2" not in str(caught.value)


# -- after the commit ------------------------------------------------------------------


@pytest.fixture
def request_in(app):
    """A request of the session's app, in a transaction of its own."""
    env = prepare(registry=app.registry)
    request = env["request"]
    request.tm.begin()
    yield request
    with contextlib.suppress(NoTransaction):  # the test may have ended it
        request.tm.abort()
    env["closer"]()


def test_sent_once_the_transaction_commits(smtp, request_in):
    mailer = smtp_mailer(smtp)
    mailer.send_after_commit(request_in, compose(mailer, language="en-us"))
    assert smtp.messages() == []
    request_in.tm.commit()
    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == ["owner@example.org"]


def test_never_sent_when_the_transaction_aborts(smtp, request_in):
    mailer = smtp_mailer(smtp)
    mailer.send_after_commit(request_in, compose(mailer, language="en-us"))
    request_in.tm.abort()
    assert smtp.messages() == []


def test_a_failure_after_the_commit_is_logged_not_raised(smtp, request_in, caplog):
    mailer = smtp_mailer(smtp)
    mailer.send_after_commit(request_in, compose(mailer, language="en-us"))
    with smtp.refusing("452 4.2.2 Mailbox full"), caplog.at_level(logging.ERROR):
        request_in.tm.commit()
    (record,) = [r for r in caplog.records if r.name == "meet_web.services.mail"]
    assert "452 4.2.2 Mailbox full" in record.getMessage()

"""Mail: messages rendered in their recipient's language, sent through an SMTP relay.

A message is a template set under `templates/mail/<name>/`: `subject.txt.jinja2`,
`body.txt.jinja2` and `body.html.jinja2`, rendered with the recipient's language (not
the request's: the person who triggers a mail is seldom the one who reads it) into a
multipart/alternative message, text first.

Mail leaves after the transaction that caused it has committed (`send_after_commit`),
or from a background worker (`send`). A relay that refuses or cannot be reached is
logged with the recipients, the subject and the reason; it never fails the page that
merely triggered a notification. Without `mail.host` (development), messages are
written to the log instead.
"""

from __future__ import annotations

import functools
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pyramid.i18n import Localizer, make_localizer
from pyramid.path import AssetResolver

from ..db import after_commit
from ..i18n import DOMAIN, TRANSLATION_DIRS, gettext_locale
from ..metrics import count_mail_failure
from ..templating import TEMPLATES_DIR
from . import register

log = logging.getLogger(__name__)

MAIL_TEMPLATES_DIR = TEMPLATES_DIR / "mail"


class MailError(Exception):
    """The relay refused the message or could not be reached."""


@dataclass(frozen=True)
class MailConfig:
    host: str
    port: int
    username: str
    password: str
    use_tls: bool
    use_ssl: bool
    timeout: float
    default_sender: str

    @classmethod
    def from_settings(cls, settings) -> MailConfig:
        return cls(
            host=settings["mail.host"],
            port=settings["mail.port"],
            username=settings["mail.username"],
            password=settings["mail.password"],
            use_tls=settings["mail.use_tls"],
            use_ssl=settings["mail.use_ssl"],
            timeout=settings["mail.timeout"],
            default_sender=settings["mail.default_sender"],
        )


@functools.cache
def localizer_for(language: str) -> Localizer:
    """The localizer of a site language (`fr-fr`), whoever the current request is for.

    Catalogs do not change while the process runs, so each is read once.
    """
    directory = AssetResolver().resolve(TRANSLATION_DIRS).abspath()
    return make_localizer(gettext_locale(language), [directory])


class MailTemplates:
    """Renders a message's three templates through a given localizer."""

    def __init__(self, directory: Path = MAIL_TEMPLATES_DIR):
        self.environment = Environment(
            loader=FileSystemLoader(str(directory)),
            extensions=["jinja2.ext.i18n"],
            autoescape=select_autoescape(enabled_extensions=("html.jinja2",)),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(self, name: str, localizer: Localizer, values: dict) -> tuple[str, str, str]:
        """(subject, text, html) of the message `name`."""

        def gettext(message: str) -> str:
            return localizer.translate(message, domain=DOMAIN)

        def ngettext(singular: str, plural: str, n: int) -> str:
            return localizer.pluralize(singular, plural, n, domain=DOMAIN)

        # given per render, not installed on the environment: renders in several
        # languages run at once on one environment
        context = {
            **values,
            "lang": localizer.locale_name,
            "gettext": gettext,
            "ngettext": ngettext,
            "_": gettext,
        }

        def render(part: str) -> str:
            return self.environment.get_template(f"{name}/{part}.jinja2").render(context)

        # one line, whatever the template; no-break spaces (French « ») kept
        subject = " ".join(re.split(r"[ \t\r\n]+", render("subject.txt").strip(" \t\r\n")))
        return subject, render("body.txt"), render("body.html")


class Mailer:
    """Composes messages; subclasses say how they leave (SmtpMailer, LogMailer)."""

    def __init__(self, config: MailConfig, templates: MailTemplates | None = None):
        self.config = config
        self.templates = templates or MailTemplates()

    def compose(
        self,
        name: str,
        *,
        to: str | list[str],
        language: str,
        values: dict,
        localizer: Localizer | None = None,
    ) -> EmailMessage:
        """The message `name` for `to`, in `language` (a site language such as `fr-fr`)."""
        localizer = localizer or localizer_for(language)
        subject, text, html = self.templates.render(name, localizer, values)
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self.config.default_sender
        message["To"] = to if isinstance(to, str) else ", ".join(to)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.config.default_sender.rpartition("@")[2])
        message["Auto-Submitted"] = "auto-generated"  # no vacation replies to notifications
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        message["Content-Language"] = localizer.locale_name  # set_content drops it
        return message

    def send(self, message: EmailMessage) -> None:
        """Send now; raises MailError."""
        raise NotImplementedError

    def send_quietly(self, message: EmailMessage) -> bool:
        """Send now; a failure is logged (what failed and why) and False returned."""
        try:
            self.send(message)
        except MailError as exc:
            log.error("mail %r to %s not sent: %s", message["Subject"], message["To"], exc)
            return False
        return True

    def send_after_commit(self, request, message: EmailMessage) -> None:
        """Send once the request's transaction has committed; failures are logged."""
        after_commit(request, self.send_quietly, message)

    def ping(self) -> bool:
        return True


class SmtpMailer(Mailer):
    """One SMTP connection per message: notifications are rare, relays drop idle ones."""

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        if config.use_ssl:
            return smtplib.SMTP_SSL(
                config.host,
                config.port,
                timeout=config.timeout,
                context=ssl.create_default_context(),
            )
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        if config.use_tls:
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def send(self, message: EmailMessage) -> None:
        config = self.config
        where = f"{config.host}:{config.port}"
        try:
            with self._connect() as smtp:
                if config.username:
                    smtp.login(config.username, config.password)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            count_mail_failure()
            raise MailError(f"{where} refused every recipient: {_reasons(exc.recipients)}") from exc
        except smtplib.SMTPResponseException as exc:
            count_mail_failure()
            raise MailError(f"{where} answered {exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            count_mail_failure()
            raise MailError(f"{where} unreachable: {exc}") from exc
        if refused:
            log.error("mail %r: %s refused %s", message["Subject"], where, _reasons(refused))

    def ping(self) -> bool:
        try:
            with self._connect() as smtp:
                return smtp.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            return False


def _text(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _reasons(refused: dict) -> str:
    return ", ".join(
        f"{address} ({code} {_text(reason)})" for address, (code, reason) in refused.items()
    )


class LogMailer(Mailer):
    """No relay configured (development): each message is written to the log."""

    def send(self, message: EmailMessage) -> None:
        text = message.get_body(preferencelist=("plain",))
        log.info(
            "mail not sent (no mail.host) to %s: %s\n%s",
            message["To"],
            message["Subject"],
            text.get_content() if text is not None else "",
        )


def make_mailer(settings) -> Mailer:
    config = MailConfig.from_settings(settings)
    return SmtpMailer(config) if config.host else LogMailer(config)


def includeme(config):
    register(config, make_mailer(config.get_settings()), Mailer)

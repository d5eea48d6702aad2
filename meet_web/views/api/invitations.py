"""Inviting people to a room by e-mail (owners and administrators).

One message per invitation, every recipient in BCC and the sender in To (the site's
`mail.default_sender` when the sender has no address), so no recipient learns who else
was invited; replies go to the sender. It is written in the sender's language (the
people invited have no account to say theirs) and links to the room page
(`<app.base_url>/<slug>`, the site's address under the same rule as every e-mail link:
see `mail_base_url`).

An invitation writes nothing, so it is sent during the request: the sender learns at
once whether it left. A relay that refuses it or cannot be reached gives a 502 (the
reference lets it become a 500).
"""

from __future__ import annotations

import logging

from pyramid.view import view_config, view_defaults

from ...openapi import operation
from ...resources import RoomResource
from ...security.permissions import Permission
from ...services.errors import DomainError
from ...services.lobby_alerts import mail_base_url
from ...services.mail import Mailer, MailError
from ...telephony.config import DialIn, TelephonyConfig
from ...validation import Body, EmailList, Fields, json_body
from .serializers import object_schema

log = logging.getLogger(__name__)

TEMPLATE = "invitation"
NOT_SENT = "The invitation could not be sent. Try again later."
NO_SITE_ADDRESS = "Invitations are not available: the site's address is not configured."
SENT = {"status": "success", "message": "invitations sent"}

INVITE_BODY = Body(
    "Invitation",
    required=("emails",),
    emails=EmailList(
        description=(
            "The addresses to invite, at most `invitations.max_recipients` (50 by"
            " default); repeated addresses (whatever their case) get one message."
        )
    ),
)
SENT_SCHEMA = object_schema(
    {"status": {"const": "success"}, "message": {"const": "invitations sent"}}
)


class InvitationNotSent(DomainError):
    """The relay refused the invitation or could not be reached (answered with 502)."""

    status = 502

    def __init__(self, message: str = NOT_SENT):
        super().__init__(message, key="error")


class InvitationsUnavailable(DomainError):
    """No trustworthy site address for the link (answered with 503)."""

    status = 503

    def __init__(self, message: str = NO_SITE_ADDRESS):
        super().__init__(message, key="error")


def max_recipients(request) -> int:
    return request.registry.settings["invitations.max_recipients"]


def read_recipients(fields: Fields, request) -> list[str]:
    """The `emails` of a body or a form: valid, at most the limit, each once."""
    return fields.email_list("emails", required=True, max_items=max_recipients(request))


def telephony_lines(request, room) -> DialIn | None:
    """The dial-in number and the room's PIN for the message, when telephony is on
    (the templates show nothing for None)."""
    return request.service(TelephonyConfig).dial_in(room)


def send_invitation(request, room, recipients: list[str]) -> None:
    """Mail one invitation to `recipients` (valid, de-duplicated) from the signed-in
    user; raises InvitationNotSent or InvitationsUnavailable."""
    base_url = mail_base_url(request)
    if base_url is None:
        raise InvitationsUnavailable()
    sender = request.account
    mailer = request.service(Mailer)
    to = sender.email if sender.email else mailer.config.default_sender
    bcc = [address for address in recipients if address.lower() != to.lower()]
    message = mailer.compose(
        TEMPLATE,
        to=to,
        language=request.language,
        values={
            "room_name": room.name,
            "sender_name": sender.display_name,
            "sender_email": sender.email or "",
            "link": f"{base_url.rstrip('/')}/{room.slug}",
            "telephony": telephony_lines(request, room),
        },
    )
    if bcc:
        message["Bcc"] = ", ".join(bcc)
    if sender.email:
        message["Reply-To"] = sender.email
    try:
        mailer.send(message)
    except MailError as exc:
        # the relay's reason is for the operators, not for the sender
        log.error("invitation %r from %s not sent: %s", message["Subject"], to, exc)
        raise InvitationNotSent() from exc


@view_defaults(context=RoomResource, route_name="api", renderer="json")
class InvitationApi:
    def __init__(self, context, request):
        self.context, self.request = context, request

    @view_config(name="invite", request_method="POST", permission=Permission.ROOM_MANAGE)
    @operation(
        "Invite people to the room by e-mail (owners and administrators)",
        body=INVITE_BODY,
        responses={200: SENT_SCHEMA},
        tag="rooms",
    )
    def invite(self):
        fields = Fields(json_body(self.request))
        recipients = read_recipients(fields, self.request)
        fields.check()
        send_invitation(self.request, self.context.room, recipients)
        return SENT

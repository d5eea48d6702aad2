"""Roomkit: a room system's server readies a room for its phone call (reference §2.5).

`POST /api/v1.0/roomkit/join/` with `Authorization: Bearer <roomkit.api_token>` and the
room's `pin_code` makes sure the room's SIP dispatch rule exists, so that the room
system can dial in before anyone is in the meeting. The caller then meets the room's
admission rules as every phone caller does (telephony/callers.py).

In the reference's order: the token (401 when missing, malformed, wrong or not
configured; compared in constant time), then the flag (404 when `roomkit.enabled` is
off), the pace (429 past `roomkit.rate_limit` calls a minute per address), the body
(400), the room (404). A LiveKit failure is a 502 (503 when it cannot be reached), as
every LiveKit failure here; the reference lets it become a 500.
"""

from __future__ import annotations

import hmac
import logging

from pyramid.httpexceptions import HTTPNotFound
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import exception_view_config, view_config
from sqlalchemy import select

from ...models import Room
from ...openapi import operation
from ...resources import RoomkitSection
from ...services.ephemeral import EphemeralStore
from ...services.errors import DomainError, NotFound, Throttled
from ...telephony.config import TelephonyConfig
from ...telephony.dispatch import DispatchRules
from ...validation import Body, Fields, String, json_body
from ..errors import NOT_AUTHENTICATED, api_error
from .serializers import SUCCESS_SCHEMA

log = logging.getLogger(__name__)

NO_ROOM = "No room found for this PIN code."
INVALID_TOKEN = "Invalid token."  # noqa: S105 - a message, not a secret
MALFORMED_HEADER = "Invalid authorization header."
NOT_CONFIGURED = "Roomkit is not configured."
RATE_WINDOW = 60

JOIN_BODY = Body(
    "RoomkitJoin",
    required=("pin_code",),
    pin_code=String(32, "The room's PIN: exactly `telephony.pin_length` characters."),
)


class Unauthenticated(DomainError):
    status = 401


@exception_view_config(Unauthenticated, renderer="json")
def unauthenticated(exc, request):
    request.response.headers["WWW-Authenticate"] = "Bearer"
    return api_error(request, exc.status, exc.message)


def check_token(request, expected: str) -> None:
    """The request's `Bearer` token is `expected`; raises Unauthenticated otherwise."""
    header = request.headers.get("Authorization")
    if not header:
        raise Unauthenticated(NOT_AUTHENTICATED)
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or not token or " " in token.strip():
        raise Unauthenticated(MALFORMED_HEADER)
    if not expected:
        raise Unauthenticated(NOT_CONFIGURED)
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Unauthenticated(INVALID_TOKEN)


def read_pin(request, length: int) -> str:
    """The body's `pin_code`, of exactly `length` characters (DRF's messages)."""
    fields = Fields(json_body(request))
    pin = fields.string("pin_code", required=True, max_length=length)
    if isinstance(pin, str) and len(pin) < length:
        fields.errors["pin_code"] = f"Ensure this field has at least {length} characters."
    fields.check()
    return pin


@view_config(
    context=RoomkitSection,
    route_name="api",
    name="join",
    request_method="POST",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
    require_csrf=False,
)
@operation(
    "Ready a room for a room system's call by its PIN"
    " (`Authorization: Bearer <roomkit.api_token>`; roomkit.enabled)",
    body=JOIN_BODY,
    responses={200: SUCCESS_SCHEMA},
    tag="telephony",
)
def roomkit_join(request):
    telephony = request.service(TelephonyConfig)
    check_token(request, telephony.roomkit_token)
    if not telephony.roomkit_enabled:
        raise HTTPNotFound()
    hits = request.service(EphemeralStore).hit(
        f"rate:roomkit-join:{request.client_addr}", RATE_WINDOW
    )
    if hits > telephony.roomkit_rate_limit:
        raise Throttled(RATE_WINDOW)
    pin = read_pin(request, telephony.pin_length)
    room = request.dbsession.scalars(select(Room).where(Room.pin_code == pin)).one_or_none()
    if room is None:
        raise NotFound(NO_ROOM)
    request.service(DispatchRules).ensure(room.id, pin)
    log.info("roomkit joined room %s", room.id)
    return {"status": "success"}

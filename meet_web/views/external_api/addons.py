"""The calendar add-in's session exchange, /api/v1.0/addons/sessions/ (addons.enabled).

On the JSON API's route, as the reference has it, but part of the integrations: the
token the add-in leaves with is one for the external API. The steps and their rules
are services/addons.py's.
"""

from __future__ import annotations

import logging

from pyramid.httpexceptions import HTTPNotFound
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ...openapi import operation
from ...resources import AddonSessions
from ...security.permissions import Permission
from ...services.addons import SESSION_COOKIE, AddonExchange, AddonsConfig
from ...services.errors import DomainError
from ...validation import Body, String
from ..api.serializers import object_schema
from ..errors import NOT_AUTHENTICATED

security_log = logging.getLogger("meet_web.security")

COOKIE_PATH = "/api/v1.0/addons/sessions/"
CSRF_HEADERS = ("X-CSRFToken", "X-CSRF-Token")
FLAG = "addons.enabled"

EXCHANGE_BODY = Body(
    "AddonExchange",
    required=("transit_token",),
    transit_token=String(255, "The transit token the add-in got from init/."),
)
STARTED_SCHEMA = object_schema(
    {"transit_token": {"type": "string"}, "csrf_token": {"type": "string"}}
)
PENDING_SCHEMA = object_schema({"state": {"const": "pending"}})
AUTHENTICATED_SCHEMA = object_schema(
    {
        "state": {"const": "authenticated"},
        "access_token": {"type": "string"},
        "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer"},
        "scope": {"type": "string"},
    }
)
OK_SCHEMA = object_schema({"status": {"const": "ok"}})


class NoSession(DomainError):
    """A poll without the add-on session's cookie (answered with 401)."""

    status = 401


def exchange_service(request) -> AddonExchange:
    if not request.service(AddonsConfig).enabled:
        raise HTTPNotFound()
    return request.service(AddonExchange)


@view_config(
    context=AddonSessions,
    route_name="api",
    name="init",
    request_method="POST",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
    require_csrf=False,  # it starts a session of its own: nothing of a signed-in one
)
@operation(
    "Start an add-in's session: a transit token for the person to exchange, a CSRF token"
    f" for polling, and the session in the `{SESSION_COOKIE}` cookie",
    responses={201: STARTED_SCHEMA},
    tag="addons",
    enabled_by=FLAG,
)
def init_session(context, request):
    exchange = exchange_service(request)
    started = exchange.start()
    request.response.status = 201
    request.response.set_cookie(
        SESSION_COOKIE,
        started.session_id,
        max_age=exchange.config.session_ttl,
        path=COOKIE_PATH,
        httponly=True,
        secure=exchange.config.secure_cookies,
        # The add-in runs in another site's frame: None. Browsers (and webob) take
        # None only on a Secure cookie; without (plain http, development) Lax.
        samesite="None" if exchange.config.secure_cookies else "Lax",
    )
    return {"transit_token": started.transit_token, "csrf_token": started.csrf_token}


@view_config(
    context=AddonSessions,
    route_name="api",
    name="poll",
    request_method="POST",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
    require_csrf=False,  # checked below against the add-on session's own CSRF token
)
@operation(
    "The add-in's token once the person exchanged the transit token (once; 202 until"
    " then); needs the session cookie and the CSRF token as X-CSRFToken",
    responses={200: AUTHENTICATED_SCHEMA, 202: PENDING_SCHEMA},
    tag="addons",
    enabled_by=FLAG,
)
def poll_session(context, request):
    exchange = exchange_service(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        raise NoSession(NOT_AUTHENTICATED)
    csrf = next((request.headers[h] for h in CSRF_HEADERS if h in request.headers), "")
    if not csrf:
        raise DomainError("CSRF Failed: CSRF token missing.")
    if not exchange.csrf_matches(session_id, csrf):
        security_log.warning("add-on session polled with a wrong CSRF token")
        raise DomainError("CSRF Failed: CSRF token incorrect.")
    answer = exchange.poll(session_id)
    if answer is None:
        request.response.status = 202
        return {"state": "pending"}
    request.response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    request.response.headers["Cache-Control"] = "no-store"
    return answer


@view_config(
    context=AddonSessions,
    route_name="api",
    name="exchange",
    request_method="POST",
    renderer="json",
    permission=Permission.AUTHENTICATED,
)
@operation(
    "Lend the add-in whose transit token this is a token acting for the signed-in user"
    " (scope rooms:create)",
    body=EXCHANGE_BODY,
    responses={200: OK_SCHEMA},
    tag="addons",
    enabled_by=FLAG,
)
def exchange_transit_token(context, request):
    exchange = exchange_service(request)
    transit_token = EXCHANGE_BODY.parse(request)["transit_token"]
    exchange.exchange(transit_token, request.identity.user_id)
    return {"status": "ok"}

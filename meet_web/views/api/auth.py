"""OIDC login, callback and logout at the reference's paths."""

import logging
from urllib.parse import quote

from pyramid.httpexceptions import HTTPFound
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember
from pyramid.view import view_config

from ...openapi import Query, operation
from ...resources import ApiRoot
from ...security.oidc import LoginError
from ...services import audit
from ...services.ephemeral import EphemeralStore
from ...services.users import LoginRules, UnknownUser, user_from_claims
from ..errors import page_error

log = logging.getLogger(__name__)

# What the sign-in failure page says when the provider's answer is unusable: never the
# provider's own words, which anyone can put in the callback's query.
LOGIN_FAILED_MESSAGE = "The sign-in could not be completed. Please try again."

# Kept as they are in a Location: RFC 3986's reserved and unreserved characters, and
# `%` so escapes already there stay escapes. Everything else (spaces, quotes,
# non-ASCII) is percent-encoded as UTF-8.
URL_SAFE = "/?#[]@!$&'()*+,;=:-._~%"


def safe_return_to(value: str | None) -> str:
    """Only paths on this site: never another host (no open redirect).

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so a
    path with either could turn into "//other.host": refuse control characters and
    backslashes outright.
    """
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 32 or ord(c) == 127 for c in value)
    ):
        return "/"
    # A header holds only ASCII: `/€` would fail to encode. Percent-encoding cannot
    # turn the path into another host: it makes no slash, backslash or control character.
    return quote(value, safe=URL_SAFE)


def _record_failed_sign_in(request, reason: str, claims: dict | None = None) -> None:
    """The refusal is kept (its answer is a 400, which would abort the transaction);
    nothing else was written before it."""
    claims = claims or {}
    audit.record(
        request,
        audit.SIGN_IN_FAILED,
        target_type="user",
        target_id=str(claims.get("sub") or "")[:64],
        changes={"reason": reason, "email": claims.get("email")},
        actor=audit.ANONYMOUS,
    )
    audit.keep_despite_refusal(request)


def callback_url(request) -> str:
    return request.route_url("api", traverse=("callback", ""))


@view_config(
    context=ApiRoot,
    route_name="api",
    name="authenticate",
    request_method="GET",
    permission=NO_PERMISSION_REQUIRED,
    renderer="errors/error.jinja2",
)
@operation(
    "Start the OpenID Connect sign-in (a browser step: redirects to the provider)",
    responses={302: None},
    query=(Query("returnTo", {"type": "string"}, "A path on this site to come back to."),),
    tag="auth",
    html_errors=True,
)
def authenticate(request):
    oidc = request.registry["oidc"]
    try:
        url = oidc.authorization_url(
            request.service(EphemeralStore),
            request.session,
            callback_url(request),
            return_to=safe_return_to(request.GET.get("returnTo")),
        )
    except LoginError as exc:
        log.warning("login could not start: %s", exc)
        return page_error(
            request,
            502,
            "Sign-in unavailable",
            "The identity provider cannot be reached. Try again later.",
        )
    return HTTPFound(location=url)


@view_config(
    context=ApiRoot,
    route_name="api",
    name="callback",
    request_method="GET",
    permission=NO_PERMISSION_REQUIRED,
    renderer="errors/error.jinja2",
)
@operation(
    "The provider's redirect back after sign-in (a browser step)",
    responses={302: None},
    query=(
        Query("code", {"type": "string"}),
        Query("state", {"type": "string"}),
        Query("error", {"type": "string"}),
    ),
    tag="auth",
    html_errors=True,
)
def callback(request):
    oidc = request.registry["oidc"]
    try:
        login = oidc.finish(request.service(EphemeralStore), request.session, request.GET)
        user = user_from_claims(
            request.dbsession,
            login.claims,
            LoginRules.from_settings(request.registry.settings),
            language=request.language,  # before sign-in: the cookie's or the browser's
        )
    except LoginError as exc:
        log.info("login refused: %s", exc)
        _record_failed_sign_in(request, "provider")
        return page_error(request, 400, "Sign-in failed", LOGIN_FAILED_MESSAGE)
    except UnknownUser as exc:  # our own words: they tell the person what to do
        log.info("login refused: %s", exc)
        _record_failed_sign_in(request, str(exc), login.claims)
        return page_error(request, 400, "Sign-in failed", str(exc))
    audit.record(request, audit.SIGN_IN, target_type="user", target_id=user.id, actor=user)
    headers = remember(request, user.id)
    return HTTPFound(
        location=request.application_url + safe_return_to(login.return_to), headers=headers
    )


@view_config(
    context=ApiRoot,
    route_name="api",
    name="logout",
    request_method="GET",
    permission=NO_PERMISSION_REQUIRED,
)
@operation("Sign out (a browser step)", responses={302: None}, tag="auth", html_errors=True)
def logout(request):
    if request.identity is not None and request.identity.user_id is not None:
        user_id = request.identity.user_id
        audit.record(request, audit.SIGN_OUT, target_type="user", target_id=user_id)
    headers = forget(request)
    home = request.application_url + "/"
    location = request.registry["oidc"].logout_url(home) or home
    return HTTPFound(location=location, headers=headers)

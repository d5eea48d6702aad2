"""One error body for the JSON APIs, pages for the site; never a stack trace to the caller.

Under `/api/` and `/external-api/` errors have the reference's (Django REST framework's)
shape, which integrations written for it read: `{"<field>": ["message", ...]}` for
invalid fields, `{"detail": "message"}` otherwise (a few reference endpoints answer
`{"error": ...}` or `{"message": ...}`: the domain error says which, see
`services/errors.py`). Every API error body is built by `api_error` or `field_errors`.
"""

import logging

from pyramid.csrf import BadCSRFOrigin, BadCSRFToken
from pyramid.exceptions import PredicateMismatch
from pyramid.httpexceptions import (
    HTTPException,
    HTTPFound,
    HTTPSeeOther,
)
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config

from ..security.policy import LIVEKIT_TOKEN_VIEWS
from ..services.errors import DomainError, Throttled
from ..validation import ValidationError

log = logging.getLogger(__name__)

NOT_AUTHENTICATED = "Authentication credentials were not provided."
PERMISSION_DENIED = "You do not have permission to perform this action."
NOT_FOUND = "Not found."
CSRF_FAILED = "CSRF Failed: CSRF token missing or incorrect."


def is_api(request) -> bool:
    return request.path.startswith(("/api/", "/external-api/"))


def api_error(request, status: int, message: str, *, key: str = "detail") -> dict:
    request.response.status = status
    return {key: message}


def field_errors(request, fields: dict, status: int = 400) -> dict:
    """`{"field": ["message"]}`; a value already a list or an object (per-index errors
    of a list field) is kept as it is."""
    request.response.status = status
    return {
        name: value if isinstance(value, list | dict) else [value] for name, value in fields.items()
    }


def page_error(request, status: int, title: str, message: str):
    request.response.status = status
    request.override_renderer = "errors/error.jinja2"
    return {"title": title, "message": message, "status": status}


@exception_view_config(ValidationError, renderer="json")
def validation_error(exc, request):
    if is_api(request):
        if exc.fields and exc.status == 400:
            return field_errors(request, exc.fields)
        return api_error(request, exc.status, exc.message)
    details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    title = "Invalid request" if exc.status == 400 else "Not found"
    return page_error(request, exc.status, title, f"{exc.message} {details}".strip())


_DOMAIN_TITLES = {403: "Not allowed", 404: "Not found", 409: "Conflict"}


@exception_view_config(DomainError, renderer="json")
def domain_error(exc, request):
    if isinstance(exc, Throttled):
        request.response.headers["Retry-After"] = str(exc.retry_after)
    if is_api(request):
        return api_error(request, exc.status, exc.message, key=exc.key)
    return page_error(request, exc.status, _DOMAIN_TITLES.get(exc.status, "Error"), exc.message)


def allowed_methods(request) -> list[str]:
    """The methods some view of this context and view name answers (for a 405)."""
    route = request.matched_route.name if request.matched_route else None
    methods: set[str] = set()
    for entry in request.registry.introspector.get_category("views") or ():
        view = entry["introspectable"]
        if view["route_name"] != route or view["name"] != request.view_name:
            continue
        context = view["context"]
        if isinstance(context, type):
            if not isinstance(request.context, context):
                continue
        elif context is not None and not context.providedBy(request.context):
            continue
        wanted = view["request_methods"]
        methods.update((wanted,) if isinstance(wanted, str) else wanted or ())
    return sorted(methods)


def not_found_message(request) -> str:
    """The reference's message: a container whose child is missing names its model
    ("No Room matches the given query."); anything else is "Not found."."""
    context = getattr(request, "context", None)
    return getattr(context, "missing_child_message", None) or NOT_FOUND


@notfound_view_config(renderer="json")
def not_found(exc, request):
    if is_api(request) and isinstance(exc, PredicateMismatch):
        # Views exist here, but for other methods: the reference answers 405.
        allowed = allowed_methods(request)
        if allowed and request.method not in allowed:
            request.response.headers["Allow"] = ", ".join(allowed)
            return api_error(request, 405, f'Method "{request.method}" not allowed.')
    if is_api(request):
        return api_error(request, 404, not_found_message(request))
    return page_error(request, 404, "Not found", "There is nothing at this address.")


@forbidden_view_config(renderer="json")
def forbidden(exc, request):
    anonymous = request.identity is None
    if is_api(request):
        if anonymous and request.view_name in LIVEKIT_TOKEN_VIEWS:
            # As the reference: these views take a LiveKit token and advertise no login.
            return api_error(request, 403, NOT_AUTHENTICATED)
        if anonymous:
            request.response.headers["WWW-Authenticate"] = "Session"
            return api_error(request, 401, NOT_AUTHENTICATED)
        return api_error(request, 403, PERMISSION_DENIED)
    if anonymous and "HX-Request" in request.headers:
        # htmx would follow a redirect inside the fragment: send the whole page to login.
        returning = request.headers.get("HX-Current-URL", request.application_url + "/")
        path = returning.removeprefix(request.application_url) or "/"
        login = request.route_path("api", traverse=("authenticate", ""), _query={"returnTo": path})
        request.response.headers["HX-Redirect"] = login
        return page_error(request, 401, "Sign-in needed", "Please sign in again.")
    if anonymous and request.method in ("GET", "HEAD"):
        login = request.route_path(
            "api", traverse=("authenticate", ""), _query={"returnTo": request.path_qs}
        )
        return HTTPSeeOther(location=login)
    return page_error(request, 403, "Not allowed", "You may not see or do this.")


@exception_view_config(BadCSRFToken, renderer="json")
@exception_view_config(BadCSRFOrigin, renderer="json")
def bad_csrf(exc, request):
    # The reference (DRF) refuses a missing or wrong CSRF token with a 403.
    if is_api(request):
        return api_error(request, 403, CSRF_FAILED)
    return page_error(request, 403, "Invalid request", str(exc.detail or exc.explanation))


@exception_view_config(HTTPException, renderer="json")
def http_exception(exc, request):
    if isinstance(exc, HTTPFound | HTTPSeeOther) or exc.code < 400:
        return exc
    for name in ("Allow", "Retry-After"):
        if name in exc.headers:
            request.response.headers[name] = exc.headers[name]
    message = str(exc.detail or exc.explanation or exc.title)
    if is_api(request):
        return api_error(request, exc.code, message)
    return page_error(request, exc.code, exc.title, message)

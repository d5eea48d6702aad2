"""One error body for the API, pages for the site; never a stack trace to the caller.

API body: {"error": {"code", "message", "fields"}, "detail": message}. `detail` is the
key the reference's clients read.
"""

import logging

from pyramid.exceptions import PredicateMismatch
from pyramid.httpexceptions import (
    HTTPBadRequest,
    HTTPException,
    HTTPFound,
    HTTPSeeOther,
)
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config

from ..security.policy import LIVEKIT_TOKEN_VIEWS
from ..services.errors import Conflict, Refused
from ..validation import ValidationError

log = logging.getLogger(__name__)


def is_api(request) -> bool:
    return request.path.startswith(("/api/", "/external-api/"))


def error_body(code: str, message: str, fields=None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}, "detail": message}


def json_error(request, status: int, code: str, message: str, fields=None):
    request.response.status = status
    return error_body(code, message, fields)


def page_error(request, status: int, title: str, message: str):
    request.response.status = status
    request.override_renderer = "errors/error.jinja2"
    return {"title": title, "message": message, "status": status}


@exception_view_config(ValidationError, renderer="json")
def validation_error(exc, request):
    code = "invalid" if exc.status == 400 else "not_found"
    if is_api(request):
        return json_error(request, exc.status, code, exc.message, exc.fields)
    details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    title = "Invalid request" if exc.status == 400 else "Not found"
    return page_error(request, exc.status, title, f"{exc.message} {details}".strip())


@exception_view_config(Refused, renderer="json")
def refused(exc, request):
    if is_api(request):
        return json_error(request, 403, "forbidden", exc.message)
    return page_error(request, 403, "Not allowed", exc.message)


@exception_view_config(Conflict, renderer="json")
def conflict(exc, request):
    if is_api(request):
        return json_error(request, 409, "conflict", exc.message)
    return page_error(request, 409, "Conflict", exc.message)


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


@notfound_view_config(renderer="json")
def not_found(exc, request):
    if is_api(request) and isinstance(exc, PredicateMismatch):
        # Views exist here, but for other methods: the reference answers 405.
        allowed = allowed_methods(request)
        if allowed and request.method not in allowed:
            request.response.headers["Allow"] = ", ".join(allowed)
            return json_error(
                request,
                405,
                "method_not_allowed",
                f'Method "{request.method}" not allowed.',
            )
    if is_api(request):
        return json_error(request, 404, "not_found", "Not found.")
    return page_error(request, 404, "Not found", "There is nothing at this address.")


@forbidden_view_config(renderer="json")
def forbidden(exc, request):
    anonymous = request.identity is None
    if is_api(request):
        if anonymous and request.view_name in LIVEKIT_TOKEN_VIEWS:
            # As the reference: these views take a LiveKit token and advertise no login.
            return json_error(
                request, 403, "not_authenticated", "Authentication credentials were not provided."
            )
        if anonymous:
            request.response.headers["WWW-Authenticate"] = "Session"
            return json_error(
                request,
                401,
                "not_authenticated",
                "Authentication credentials were not provided.",
            )
        return json_error(
            request,
            403,
            "permission_denied",
            "You do not have permission to perform this action.",
        )
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


@exception_view_config(HTTPBadRequest, renderer="json")
def bad_request(exc, request):
    # Covers BadCSRFToken (a subclass) as well as explicit 400s.
    message = exc.detail or exc.explanation or "Bad request."
    if is_api(request):
        return json_error(request, 400, "bad_request", str(message))
    return page_error(request, 400, "Invalid request", str(message))


@exception_view_config(HTTPException, renderer="json")
def http_exception(exc, request):
    if isinstance(exc, HTTPFound | HTTPSeeOther) or exc.code < 400:
        return exc
    if is_api(request):
        body = json_error(
            request,
            exc.code,
            exc.title.lower().replace(" ", "_"),
            str(exc.detail or exc.explanation or exc.title),
        )
        for name in ("Allow", "Retry-After"):
            if name in exc.headers:
                request.response.headers[name] = exc.headers[name]
        return body
    return page_error(request, exc.code, exc.title, str(exc.detail or exc.explanation))

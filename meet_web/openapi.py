"""The OpenAPI 3.1 document of the JSON API, built from the views themselves.

Each API view carries an `Operation` (the `operation` decorator): its summary, the
`Body` it parses (the same object validates the request, see `validation.Body`), its
query parameters and the JSON Schema of each answer. The document is the list of the
registered views of the `api` route, so a path in it always exists; a view without an
`Operation` is a mistake the tests catch, unless it says why it is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .resources import (
    AccessContainer,
    AccessResource,
    AddonSessions,
    ApiRoot,
    DiagnosticsSection,
    FileContainer,
    FileResource,
    RecordingContainer,
    RecordingResource,
    RoomContainer,
    RoomkitSection,
    RoomResource,
    ShareLinkContainer,
    ShareLinkResource,
    UnregisteredRoom,
    UserContainer,
    UserResource,
)
from .validation import MAX_PAGE_SIZE, Body

API_PREFIX = "/api/v1.0"

# Where each resource sits in the API tree; `{id}` is the traversal key.
API_PATHS: dict[type, str] = {
    ApiRoot: "/",
    AddonSessions: "/addons/sessions/",
    DiagnosticsSection: "/diagnostics/",
    RoomkitSection: "/roomkit/",
    RoomContainer: "/rooms/",
    RoomResource: "/rooms/{id}/",
    UnregisteredRoom: "/rooms/{id}/",
    AccessContainer: "/resource-accesses/",
    AccessResource: "/resource-accesses/{id}/",
    UserContainer: "/users/",
    UserResource: "/users/{id}/",
    RecordingContainer: "/recordings/",
    RecordingResource: "/recordings/{id}/",
    FileContainer: "/files/",
    FileResource: "/files/{id}/",
    ShareLinkContainer: "/recordings/{id}/share-links/",
    ShareLinkResource: "/recordings/{id}/share-links/{link_id}/",
}
# Path parameters after the first (`{id}`), each with its description.
LATER_PATH_PARAMETERS = {"link_id": "The share link's id."}
PATH_PARAMETER_DESCRIPTIONS = {
    "/rooms/{id}/": "The room's id (with or without dashes) or its slug.",
    "/resource-accesses/{id}/": "The access's id.",
    "/users/{id}/": "The user's id.",
    "/recordings/{id}/": "The recording's id.",
    "/files/{id}/": "The file's id.",
}

ERROR_SCHEMA = {
    "description": (
        "The reference's (Django REST framework's) error shape: "
        '`{"<field>": ["message", ...]}` for invalid fields, `{"detail": "message"}` '
        'otherwise (a few endpoints answer `{"error": ...}` or `{"message": ...}`).'
    ),
    "type": "object",
    "minProperties": 1,
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            {"type": "object"},
        ]
    },
}


@dataclass(frozen=True)
class Query:
    name: str
    schema: dict
    description: str = ""

    def parameter(self) -> dict:
        data = {"name": self.name, "in": "query", "required": False, "schema": self.schema}
        if self.description:
            data["description"] = self.description
        return data


PAGING = (
    Query("page", {"type": "integer", "minimum": 1}, "Page number, from 1."),
    Query(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        "Items per page.",
    ),
)


@dataclass(frozen=True)
class Operation:
    summary: str
    responses: dict[int, dict | None] = field(default_factory=dict)
    body: Body | None = None
    query: tuple[Query, ...] = ()
    tag: str = ""
    # Non-empty: the view is left out of the document, for this reason.
    undocumented: str = ""
    # Non-empty: a boolean setting; while it is off the view answers 404 (as the
    # reference, whose feature flags unroute it) and is left out of the document.
    enabled_by: str = ""
    # Browser steps (the OIDC login) answer their own errors with an HTML page.
    html_errors: bool = False

    def document(self, method: str) -> dict:
        data: dict[str, Any] = {"summary": self.summary, "operationId": ""}
        if self.tag:
            data["tags"] = [self.tag]
        if self.query:
            data["parameters"] = [q.parameter() for q in self.query]
        if self.body is not None and method in ("POST", "PUT", "PATCH"):
            body_schema = self.body.json_schema(partial=method == "PATCH")
            data["requestBody"] = {
                # No body reads as `{}`: refused only when some field is required.
                "required": "required" in body_schema,
                "content": {"application/json": {"schema": body_schema}},
            }
        responses: dict[str, Any] = {}
        for status, schema in sorted(self.responses.items()):
            answer: dict[str, Any] = {"description": _STATUS_TEXT.get(status, str(status))}
            if schema is not None:
                answer["content"] = {"application/json": {"schema": schema}}
            responses[str(status)] = answer
        errors = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        if self.html_errors:
            # what a browser step answers; a request refused before it runs gets JSON
            errors = {"text/html": {"schema": {"type": "string"}}, **errors}
        responses["default"] = {"description": "An error.", "content": errors}
        data["responses"] = responses
        return data


_STATUS_TEXT = {
    200: "OK.",
    201: "Created.",
    204: "No content.",
    302: "A redirect.",
}


def operation(summary: str, **kwargs):
    """Declare the view's operation in the document (see `Operation`)."""

    def attach(view):
        view.__openapi__ = Operation(summary, **kwargs)
        return view

    return attach


@dataclass(frozen=True)
class ApiView:
    path: str
    method: str
    name: str  # the view's dotted name, for messages
    operation: Operation | None


def api_views(registry) -> list[ApiView]:
    """Every method of every view registered on the `api` route."""
    views = []
    for entry in registry.introspector.get_category("views") or ():
        view = entry["introspectable"]
        if view["route_name"] != "api":
            continue
        context = view["context"]
        base = API_PATHS[context]
        path = API_PREFIX + base + (f"{view['name']}/" if view["name"] else "")
        function = view["callable"]
        if view["attr"]:
            function = getattr(function, view["attr"])
        methods = view["request_methods"]
        for method in (methods,) if isinstance(methods, str) else methods:
            views.append(
                ApiView(
                    path=path,
                    method=method,
                    name=f"{function.__module__}.{function.__qualname__}",
                    operation=getattr(function, "__openapi__", None),
                )
            )
    return views


def build_document(registry) -> dict:
    paths: dict[str, dict] = {}
    for view in sorted(api_views(registry), key=lambda v: (v.path, v.method)):
        if view.operation is None or view.operation.undocumented:
            continue
        if view.operation.enabled_by and not registry.settings[view.operation.enabled_by]:
            continue
        item = paths.setdefault(view.path, {})
        operation = view.operation.document(view.method)
        operation["operationId"] = _operation_id(view)
        if "{id}" in view.path:
            described = next(
                (text for base, text in PATH_PARAMETER_DESCRIPTIONS.items() if base in view.path),
                "",
            )
            item["parameters"] = [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1},
                    "description": described,
                }
            ]
            item["parameters"] += [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1},
                    "description": text,
                }
                for name, text in LATER_PATH_PARAMETERS.items()
                if f"{{{name}}}" in view.path
            ]
        item[view.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Meet Web API",
            "version": "1.0",
            "description": (
                "The JSON API of Meet Web, compatible with La Suite Meet's `/api/v1.0/`. "
                "Signed-in browsers use the session cookie and send the CSRF token "
                "(cookie `csrftoken`) as `X-CSRFToken` on unsafe requests; some meeting "
                "actions take the participant's LiveKit token as a bearer token instead."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "meet_session"},
                "livekitToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    }


def _operation_id(view: ApiView) -> str:
    words = view.path.removeprefix(API_PREFIX).replace("{id}", "by-id").strip("/")
    for name in LATER_PATH_PARAMETERS:
        words = words.replace(f"{{{name}}}", f"by-{name.replace('_', '-')}")
    return f"{view.method.lower()}-{words.replace('/', '-') or 'root'}"


def document(registry) -> dict:
    """The document, built once per process (it depends only on the registered views)."""
    cached = registry.get("openapi.document")
    if cached is None:
        cached = registry["openapi.document"] = build_document(registry)
    return cached

"""The external API's own OpenAPI 3.1 document (/external-api/v1.0/openapi.json), built
from its views' `operation`s as the JSON API's is (meet_web/openapi.py)."""

from __future__ import annotations

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ...openapi import ERROR_SCHEMA, operation
from ...resources import (
    ApplicationSection,
    ExternalApiRoot,
    ExternalRoom,
    ExternalRoomContainer,
    MissingExternalRoom,
)
from .token import FORM

PREFIX = "/external-api/v1.0"
ROUTE = "external_api"
PATHS: dict[type, str] = {
    ExternalApiRoot: "/",
    ApplicationSection: "/application/",
    ExternalRoomContainer: "/rooms/",
    ExternalRoom: "/rooms/{id}/",
    MissingExternalRoom: "/rooms/{id}/",
}
ROOM_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1},
    "description": "The room's id (with or without dashes) or its slug.",
}
DESCRIPTION = (
    "The external API of Meet Web, compatible with La Suite Meet's `/external-api/v1.0/`"
    " (plus `rooms:update` and `rooms:delete`). An application exchanges its client"
    " credentials for a token acting for one user (`POST /application/token/`, `scope` ="
    " the user's email), then sends it as `Authorization: Bearer <token>`; calendar"
    " add-ins' tokens (`/api/v1.0/addons/sessions/`) are accepted too, and, when the"
    " site is so configured, the identity provider's access tokens of its users, checked"
    " at its introspection endpoint. Each operation"
    " needs one scope (matched case-insensitively), and on a room a role of the user:"
    " any to read it, administrator or owner to change it, owner to delete it."
)


def views(registry) -> list[tuple[str, str, object]]:
    """(path, method, operation) of every view of the external API's route."""
    found = []
    for entry in registry.introspector.get_category("views") or ():
        view = entry["introspectable"]
        if view["route_name"] != ROUTE or view["context"] not in PATHS:
            continue  # another route's, or an exception view (errors.py)
        function = view["callable"]
        if view["attr"]:
            function = getattr(function, view["attr"])
        op = getattr(function, "__openapi__", None)
        path = PREFIX + PATHS[view["context"]] + (f"{view['name']}/" if view["name"] else "")
        methods = view["request_methods"]
        for method in (methods,) if isinstance(methods, str) else methods:
            found.append((path, method, op))
    return found


def build_document(registry) -> dict:
    paths: dict[str, dict] = {}
    for path, method, op in sorted(views(registry), key=lambda v: (v[0], v[1])):
        if op is None or op.undocumented:
            continue
        item = paths.setdefault(path, {})
        data = op.document(method)
        words = path.removeprefix(PREFIX).replace("{id}", "by-id").strip("/")
        data["operationId"] = f"{method.lower()}-{words.replace('/', '-') or 'root'}"
        if "requestBody" in data and path.endswith("/token/"):
            content = data["requestBody"]["content"]
            content[FORM] = content["application/json"]  # OAuth 2 clients send forms
        if op.tag != "docs" and not path.endswith("/token/"):
            data["security"] = [{"delegatedToken": []}]
        if "{id}" in path:
            item["parameters"] = [ROOM_ID]
        item[method.lower()] = data
    return {
        "openapi": "3.1.0",
        "info": {"title": "Meet Web external API", "version": "1.0", "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "delegatedToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An application's or an add-in's JWT, or (when the"
                    " resource server is on) an access token of the identity provider.",
                }
            },
        },
    }


def document(registry) -> dict:
    """The document, built once per process."""
    cached = registry.get("openapi.external_document")
    if cached is None:
        cached = registry["openapi.external_document"] = build_document(registry)
    return cached


@view_config(
    context=ExternalApiRoot,
    route_name=ROUTE,
    name="openapi.json",
    request_method="GET",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
)
@operation("This document (OpenAPI 3.1)", responses={200: {"type": "object"}}, tag="docs")
def external_api_document(request):
    return document(request.registry)

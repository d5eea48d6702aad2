"""The external API's refusals, as the reference's token authentication answers them.

No token, or one of no kind accepted here: 401 "Authentication credentials were not
provided."; a refused one (expired, for an unknown or disabled application or user):
401 with the reason; a token without the scope the action needs: 403 "Insufficient
permissions"; one with the scope, for a user without the role the room needs: 403.
Every 401 says `WWW-Authenticate: Bearer`. Other errors are views/errors.py's.
"""

from __future__ import annotations

from pyramid.view import exception_view_config, forbidden_view_config

from ...security.permissions import SCOPE_PERMISSIONS
from ...security.policy import BEARER_REFUSAL
from ...services.applications import Unauthenticated
from ..errors import NOT_AUTHENTICATED, PERMISSION_DENIED, api_error

INSUFFICIENT_SCOPE = "Insufficient permissions"
SCOPE_OF = {permission: str(scope) for scope, permission in SCOPE_PERMISSIONS.items()}


def unauthenticated(request, message: str) -> dict:
    request.response.headers["WWW-Authenticate"] = "Bearer"
    return api_error(request, 401, message)


@forbidden_view_config(route_name="external_api", renderer="json")
def forbidden(exc, request):
    identity = request.identity
    if identity is None:
        return unauthenticated(request, request.environ.get(BEARER_REFUSAL, NOT_AUTHENTICATED))
    scope = SCOPE_OF.get(getattr(exc.result, "permission", None))
    if scope is None or scope not in identity.scopes:
        return api_error(request, 403, INSUFFICIENT_SCOPE)
    return api_error(request, 403, PERMISSION_DENIED)


@exception_view_config(Unauthenticated, renderer="json")
def refused_credentials(exc, request):
    return unauthenticated(request, exc.message)

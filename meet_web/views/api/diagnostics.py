"""Connection test: a short-lived token for a throw-away LiveKit room (behind a flag)."""

import uuid
from datetime import timedelta

from pyramid.httpexceptions import HTTPNotFound
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ...openapi import operation
from ...resources import DiagnosticsSection
from ...services.ephemeral import EphemeralStore
from ...services.errors import Throttled
from ...services.livekit import CONNECTION_TEST_PREFIX, LiveKitGateway
from .serializers import LIVEKIT_BLOCK_SCHEMA, object_schema

CONNECTION_TEST_SCHEMA = object_schema(
    {
        "livekit": object_schema(
            {**LIVEKIT_BLOCK_SCHEMA["properties"], "expires_in": {"type": "integer"}}
        )
    }
)


@view_config(
    context=DiagnosticsSection,
    route_name="api",
    name="connection",
    request_method="POST",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
    require_csrf=False,
)
@operation(
    "A short-lived token for a throw-away LiveKit room (diagnostics.connection_test_enabled)",
    responses={200: CONNECTION_TEST_SCHEMA},
    tag="diagnostics",
)
def connection_test(request):
    settings = request.registry.settings
    if not settings["diagnostics.connection_test_enabled"]:
        raise HTTPNotFound()
    window_key = f"rate:connection-test:{request.client_addr}"
    hits = request.service(EphemeralStore).hit(window_key, 60)
    if hits > settings["diagnostics.connection_test_rate_limit"]:
        raise Throttled(60)
    gateway = request.service(LiveKitGateway)
    ttl = settings["diagnostics.connection_test_token_ttl"]
    room = f"{CONNECTION_TEST_PREFIX}-{uuid.uuid4()}"
    token = gateway.token(
        room=room,
        identity=str(uuid.uuid4()),
        name="Connection Test",
        role=None,
        sources=list(gateway.config.default_sources),
        is_authenticated=False,
        ttl=timedelta(seconds=ttl),
    )
    return {
        "livekit": {
            "url": gateway.config.public_url,
            "room": room,
            "token": token,
            "expires_in": ttl,
        }
    }

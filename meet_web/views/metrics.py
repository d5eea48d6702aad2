"""GET /metrics: the Prometheus exposition, for the monitoring system only.

Anyone else gets the site's ordinary 404, as for a page that does not exist (not a 401:
the endpoint is not advertised). It is off, a 404 for everyone, until `metrics.token`
or `metrics.allowed_addresses` is set.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

from prometheus_client import CONTENT_TYPE_LATEST
from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..metrics import exposition
from ..services.ephemeral import EphemeralStore


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]):
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def token_matches(authorization: str, token: str) -> bool:
    if not token:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def address_allowed(address: str | None, entries: tuple[str, ...]) -> bool:
    if not address or not entries:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(entries))


def may_scrape(request) -> bool:
    settings = request.registry.settings
    return token_matches(
        request.headers.get("Authorization", ""), settings["metrics.token"]
    ) or address_allowed(request.remote_addr, tuple(settings["metrics.allowed_addresses"]))


@view_config(route_name="metrics", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def metrics(request):
    if not may_scrape(request):
        raise HTTPNotFound()
    return Response(
        body=exposition(request.service(EphemeralStore)),
        content_type=CONTENT_TYPE_LATEST.split(";")[0],
        charset="utf-8",
    )

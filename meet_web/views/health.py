"""Health checks for load balancers (`/__lbheartbeat__`) and monitoring (`/__heartbeat__`)."""

import logging

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from sqlalchemy import text

from ..services.ephemeral import EphemeralStore
from ..services.livekit import LiveKitError, LiveKitGateway

log = logging.getLogger(__name__)


@view_config(route_name="lbheartbeat", renderer="json", permission=NO_PERMISSION_REQUIRED)
def lbheartbeat(request):
    return {"status": "ok"}


@view_config(route_name="heartbeat", renderer="json", permission=NO_PERMISSION_REQUIRED)
def heartbeat(request):
    """Each dependency's state; 503 when the database or the cache is down.

    LiveKit being unreachable is reported but does not fail the check: the site still
    serves pages, rooms and the lobby without it.
    """
    checks = {}
    try:
        request.dbsession.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # any driver error means down
        log.exception("heartbeat: database")
        checks["database"] = "error"
    try:
        checks["cache"] = "ok" if request.service(EphemeralStore).ping() else "error"
    except Exception:
        log.exception("heartbeat: cache")
        checks["cache"] = "error"
    try:
        request.service(LiveKitGateway).room_exists("__heartbeat__")
        checks["livekit"] = "ok"
    except LiveKitError as exc:
        checks["livekit"] = f"unavailable: {exc.message}"
    if checks["database"] != "ok" or checks["cache"] != "ok":
        request.response.status = 503
    return checks

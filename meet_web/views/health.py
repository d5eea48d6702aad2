"""Health checks for load balancers (`/__lbheartbeat__`) and monitoring (`/__heartbeat__`)."""

import logging
import time

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from sqlalchemy import text

from ..recording.storage import RecordingStorage, StorageError, storage_failure
from ..services.ephemeral import EphemeralStore
from ..services.livekit import LiveKitError, LiveKitGateway
from ..services.mail import Mailer

log = logging.getLogger(__name__)


@view_config(route_name="lbheartbeat", renderer="json", permission=NO_PERMISSION_REQUIRED)
def lbheartbeat(request):
    return {"status": "ok"}


def _database(request) -> None:
    request.dbsession.execute(text("SELECT 1"))


def _cache(request) -> None:
    if not request.service(EphemeralStore).ping():
        raise RuntimeError("no answer")


def _livekit(request) -> None:
    request.service(LiveKitGateway).room_exists("__heartbeat__")


def _s3(request) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    storage = request.service(RecordingStorage)
    try:
        storage.client.head_bucket(Bucket=storage.config.bucket)
    except (BotoCoreError, ClientError) as exc:
        raise storage_failure(exc, "head bucket") from exc


def _smtp(request) -> None:
    if not request.service(Mailer).ping():
        raise RuntimeError("no answer")


def checks_for(settings) -> dict:
    """The dependencies this configuration uses: S3 when recordings or files are on,
    SMTP when a relay is configured."""
    checks = {"database": _database, "cache": _cache, "livekit": _livekit}
    if settings["recording.enabled"] or settings["files.enabled"]:
        checks["s3"] = _s3
    if settings["mail.host"]:
        checks["smtp"] = _smtp
    return checks


def _reason(exc: Exception) -> str:
    if isinstance(exc, LiveKitError):
        return exc.message
    if isinstance(exc, StorageError):
        return str(exc)
    return type(exc).__name__  # a driver's message may name hosts or users


@view_config(route_name="heartbeat", renderer="json", permission=NO_PERMISSION_REQUIRED)
def heartbeat(request):
    """Each dependency's state and how long it took to answer; 503 unless all are ok.

    `{"database": "ok", ..., "latency_ms": {"database": 0.4, ...}, "errors": {...}}`:
    a check's value is "ok" or "error", and an error's reason is under `errors`.
    """
    body, latencies, errors = {}, {}, {}
    for name, check in checks_for(request.registry.settings).items():
        started = time.perf_counter()
        try:
            check(request)
            body[name] = "ok"
        except Exception as exc:  # any failure of a dependency means it is down
            log.warning("heartbeat: %s down: %s", name, exc)
            body[name] = "error"
            errors[name] = _reason(exc)
        latencies[name] = round((time.perf_counter() - started) * 1000, 1)
    if errors:
        request.response.status = 503
    return {**body, "latency_ms": latencies, "errors": errors}

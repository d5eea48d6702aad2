"""LiveKit webhooks: the signature covers the raw body; unknown events are accepted;
each event with handlers is handled once."""

import contextlib
import logging

import orjson
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ...metrics import count_webhook_event
from ...openapi import operation
from ...resources import RoomContainer
from ...services.livekit import CONNECTION_TEST_PREFIX, InvalidWebhook, LiveKitGateway
from ...services.webhooks import (
    WebhookHandlerError,
    WebhookLedger,
    WebhookRouter,
    event_key,
    replay_window,
)
from ...validation import Body, Raw, read_body
from .serializers import object_schema

log = logging.getLogger(__name__)


# The two answers, serialized once: LiveKit sends a webhook for every join, leave and
# track, and the renderer's machinery was a sixth of a webhook's own CPU.
_ANSWERS = {outcome: orjson.dumps({"status": outcome}) for outcome in ("success", "error")}


def answer(request, status: int, outcome: str) -> Response:
    body = _ANSWERS[outcome]
    return Response(
        body=body,
        status=status,
        headerlist=[("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )


@view_config(
    context=RoomContainer,
    route_name="api",
    name="webhooks-livekit",
    request_method="POST",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
    require_csrf=False,
)
@operation(
    "LiveKit's webhook (signed: Authorization holds a JWT over the body's SHA-256)",
    body=Body(
        "LiveKitWebhookEvent",
        required=("event",),
        event=Raw({"type": "string"}, "room_started, participant_joined, ..."),
        id=Raw({"type": "string"}),
        room=Raw({"type": "object"}),
        participant=Raw({"type": "object"}),
    ),
    responses={200: object_schema({"status": {"enum": ["success", "error"]}})},
    tag="webhooks",
)
def livekit_webhook(request):
    authorization = request.headers.get("Authorization")
    if not authorization:
        return answer(request, 401, "error")
    gateway = request.service(LiveKitGateway)
    router = request.service(WebhookRouter)
    body = read_body(request)
    try:
        delivery = gateway.receive_webhook(body, authorization)
    except InvalidWebhook as exc:
        log.warning("LiveKit webhook refused: %s", exc)
        return answer(request, 400, "error")
    count_webhook_event(delivery.event)
    room_name = delivery.room_name
    if room_name.startswith(CONNECTION_TEST_PREFIX):
        return answer(request, 200, "success")
    room_filter = gateway.config.webhook_filter
    if room_filter is not None and not room_filter.search(room_name):
        return answer(request, 200, "success")
    if not router.handles(delivery.event):
        # Nothing would be done with it, once or twice: no replay check either.
        return answer(request, 200, "success")
    ledger = request.service(WebhookLedger)
    key = event_key(delivery.id, body)
    try:
        first = ledger.first_delivery(key, replay_window(delivery.expires))
    except Exception as exc:  # the store is down: handlers that need it fail (500) anyway
        log.warning("LiveKit webhook %s not checked for replay: %s", delivery.event, exc)
        first = True
    if not first:
        # A replayed body, or LiveKit retrying an event we handled but whose answer it
        # missed: nothing to do, and a 2xx, since LiveKit retries anything else. The
        # claim comes before the protobuf parse, most of a webhook's own CPU: a
        # redelivery costs the signature check and one store call only.
        log.info("LiveKit webhook %s (%s) already handled", delivery.event, key)
        return answer(request, 200, "success")
    try:
        delivery.parse()
    except InvalidWebhook as exc:  # signed, but not an event the handlers can read
        with contextlib.suppress(Exception):
            ledger.forget(key)
        log.warning("LiveKit webhook refused: %s", exc)
        return answer(request, 400, "error")
    try:
        with request.tm:  # the handlers' rows commit together (see db.is_webhook)
            router.dispatch(delivery, request)
    except Exception as exc:
        with contextlib.suppress(Exception):  # LiveKit's retry must be handled, not ignored
            ledger.forget(key)
        if not isinstance(exc, WebhookHandlerError):
            raise
        log.error("LiveKit webhook %s failed, LiveKit will retry: %s", delivery.event, exc)
        return answer(request, 500, "error")
    return answer(request, 200, "success")

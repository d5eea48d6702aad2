"""Routes verified LiveKit webhook events to the handlers features register.

A handler is called with the event and the request: it writes through
`request.dbsession`, inside the one transaction the view begins around an event's
handlers (their rows commit together, or none does). A handler raises
WebhookHandlerError when LiveKit should retry (the view answers 500);
event types without a handler are accepted and ignored (no ledger entry either).
Each handled event is handled once: the ledger remembers it for as long as its
signature could be replayed.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from livekit import api

from .ephemeral import EphemeralStore
from .livekit import JWT_LEEWAY, WebhookDelivery

Handler = Callable[[api.WebhookEvent, Any], None]  # (event, request)

# LiveKit signs webhooks for 5 minutes and our verifier accepts a token up to a minute
# past its expiry; a signature without a numeric expiry (LiveKit never sends one) is
# remembered for 10 minutes.
EXPIRY_LEEWAY = JWT_LEEWAY
NO_EXPIRY_WINDOW = 600


class WebhookHandlerError(Exception):
    pass


def event_room_name(event: api.WebhookEvent) -> str:
    if event.room.name:
        return event.room.name
    return event.egress_info.room_name


class WebhookRouter:
    def __init__(self):
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def register(self, event_type: str, handler: Handler) -> None:
        self._handlers[event_type].append(handler)

    def handles(self, event_type: str) -> bool:
        return event_type in self._handlers

    def dispatch(self, delivery: WebhookDelivery, request) -> int:
        """Run the handlers of the delivery's event type; return how many ran.

        The protobuf event is parsed only for them: most event types have none.
        """
        handlers = self._handlers.get(delivery.event)
        if not handlers:
            return 0
        event = delivery.parse()
        for handler in handlers:
            handler(event, request)
        return len(handlers)


def register_default_handlers(router: WebhookRouter, lobby) -> None:
    def clear_lobby(event: api.WebhookEvent, _request) -> None:
        try:
            room_id = uuid.UUID(event_room_name(event))
        except ValueError:
            return  # not one of our registered rooms
        try:
            lobby.clear_room(room_id)
        except Exception as exc:  # the store is down: LiveKit should retry
            raise WebhookHandlerError(f"could not clear the lobby: {exc}") from exc

    router.register("room_finished", clear_lobby)


def event_key(event_id: str, body: bytes) -> str:
    """LiveKit's event id (the same on its retries); the body's hash when it has none."""
    return event_id or "sha256:" + hashlib.sha256(body).hexdigest()


def replay_window(expires: Any) -> float:
    """Seconds during which a verified webhook token with this `exp` claim would
    verify again."""
    if not isinstance(expires, int | float):
        return NO_EXPIRY_WINDOW
    return max(1.0, expires + EXPIRY_LEEWAY - time.time())


class WebhookLedger:
    """The events already handled: a signed body replayed within its signature's
    lifetime is recognised (after that the signature itself is refused)."""

    def __init__(self, store: EphemeralStore):
        self.store = store

    def first_delivery(self, key: str, window: float) -> bool:
        """Claim the event; False when it was claimed before (atomic across processes)."""
        return self.store.add(f"webhook-seen:{key}", True, window)

    def forget(self, key: str) -> None:
        """Give the claim back, so that LiveKit's retry of a failed event is handled."""
        self.store.delete(f"webhook-seen:{key}")

"""Routes verified LiveKit webhook events to the handlers features register.

A handler raises WebhookHandlerError when LiveKit should retry (the view answers 500);
event types without a handler are accepted and ignored. Each event is handled once:
the ledger remembers it for as long as its signature could be replayed.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import defaultdict
from collections.abc import Callable

import jwt
from livekit import api

from .ephemeral import EphemeralStore

Handler = Callable[[api.WebhookEvent], None]

# LiveKit signs webhooks for 5 minutes and our verifier accepts a token up to a minute
# past its expiry; a signature without an expiry (LiveKit never sends one) is
# remembered for 10 minutes.
EXPIRY_LEEWAY = 60
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

    def dispatch(self, event: api.WebhookEvent) -> int:
        """Run the event's handlers; return how many ran."""
        handlers = self._handlers.get(event.event, [])
        for handler in handlers:
            handler(event)
        return len(handlers)


def register_default_handlers(router: WebhookRouter, lobby) -> None:
    def clear_lobby(event: api.WebhookEvent) -> None:
        try:
            room_id = uuid.UUID(event_room_name(event))
        except ValueError:
            return  # not one of our registered rooms
        try:
            lobby.clear_room(room_id)
        except Exception as exc:  # the store is down: LiveKit should retry
            raise WebhookHandlerError(f"could not clear the lobby: {exc}") from exc

    router.register("room_finished", clear_lobby)


def event_key(event: api.WebhookEvent, body: bytes) -> str:
    """LiveKit's event id (the same on its retries); the body's hash when it has none."""
    return event.id or "sha256:" + hashlib.sha256(body).hexdigest()


def replay_window(token: str) -> float:
    """Seconds during which this verified webhook token would verify again."""
    try:
        expires = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        expires = None
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

"""Routes verified LiveKit webhook events to the handlers features register.

A handler raises WebhookHandlerError when LiveKit should retry (the view answers 500);
event types without a handler are accepted and ignored.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable

from livekit import api

Handler = Callable[[api.WebhookEvent], None]


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

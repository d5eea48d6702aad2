"""LiveKit: access tokens, webhook verification, and a sync facade over the server API.

Token minting and webhook checks are pure. Server calls open one `LiveKitAPI` client per
call inside `asyncio.run` (its aiohttp session is bound to the loop that made it) and
bound the whole call with `livekit.timeout`: the client's own timeout argument is not
applied by livekit-api 1.2. Errors become LiveKitError subclasses the views map to
404 / 502 / 503 with a JSON message.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import aiohttp
from livekit import api
from livekit.api.access_token import Claims

log = logging.getLogger(__name__)

T = TypeVar("T")

TOKEN_TTL = timedelta(hours=6)
CONNECTION_TEST_PREFIX = "connection-test"
ADMIN_ROLES = ("owner", "administrator")


def _run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, on a loop of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    # This thread already runs a loop (an async server, or a test driving Playwright's
    # sync API): asyncio.run may not nest in it, so the call gets a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


class LiveKitError(Exception):
    """LiveKit refused or failed a call (answered with 502)."""

    status = 502

    key = "error"  # the reference answers LiveKit failures with {"error": ...}

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class LiveKitNotFound(LiveKitError):
    status = 404


class LiveKitUnavailable(LiveKitError):
    """The server cannot be reached or did not answer in time (503)."""

    status = 503


class InvalidToken(Exception):
    pass


class InvalidWebhook(Exception):
    pass


def participant_color(identity: str) -> str:
    """A stable HSL colour per identity, the same in every process (never `hash()`)."""
    seed = int.from_bytes(hashlib.sha1(identity.encode()).digest()[-2:], "big")  # noqa: S324 - not security
    rng = random.Random(seed)  # noqa: S311 - a colour, not a secret
    hue, saturation, lightness = rng.randint(0, 360), rng.randint(50, 75), rng.randint(25, 60)
    return f"hsl({hue}, {saturation}%, {lightness}%)"


@dataclass(frozen=True)
class LiveKitConfig:
    url: str
    public_url: str
    api_key: str
    api_secret: str
    timeout: float
    default_sources: tuple[str, ...]
    webhook_filter: re.Pattern | None

    @classmethod
    def from_settings(cls, settings) -> LiveKitConfig:
        pattern = settings["livekit.webhook_events_filter_regex"]
        try:
            webhook_filter = re.compile(pattern) if pattern else None
        except re.error:
            log.error("livekit.webhook_events_filter_regex is invalid; filtering disabled")
            webhook_filter = None
        return cls(
            url=settings["livekit.url"],
            public_url=settings["livekit.public_url"] or settings["livekit.url"],
            api_key=settings["livekit.api_key"],
            api_secret=settings["livekit.api_secret"],
            timeout=settings["livekit.timeout"],
            default_sources=tuple(settings["livekit.default_sources"]),
            webhook_filter=webhook_filter,
        )


class LiveKitGateway:
    def __init__(self, config: LiveKitConfig):
        self.config = config
        self._verifier = api.TokenVerifier(config.api_key, config.api_secret)
        self._webhooks = api.WebhookReceiver(self._verifier)

    # tokens -------------------------------------------------------------------------

    def publish_sources(self, role: str | None, room_configuration: dict | None) -> list[str]:
        """Admins publish the defaults; others what the room allows (missing: defaults)."""
        if role in ADMIN_ROLES:
            return list(self.config.default_sources)
        sources = (room_configuration or {}).get("can_publish_sources")
        return list(self.config.default_sources) if sources is None else list(sources)

    def token(
        self,
        *,
        room: str,
        identity: str,
        name: str,
        role: str | None,
        sources: list[str],
        is_authenticated: bool,
        color: str | None = None,
        ttl: timedelta = TOKEN_TTL,
    ) -> str:
        grants = api.VideoGrants(
            room_join=True,
            room=room,
            room_admin=role in ADMIN_ROLES,
            can_update_own_metadata=False,
            can_subscribe=True,
            can_publish=bool(sources),
            can_publish_sources=sources,
        )
        return (
            api.AccessToken(self.config.api_key, self.config.api_secret)
            .with_identity(identity)
            .with_name(name)
            .with_ttl(ttl)
            .with_grants(grants)
            .with_attributes(
                {
                    "color": color or participant_color(identity),
                    "room_role": role or "",
                    "is_authenticated": "true" if is_authenticated else "false",
                }
            )
            .to_jwt()
        )

    def verify(self, token: str) -> Claims:
        try:
            claims = self._verifier.verify(token)
        except Exception as exc:  # PyJWT raises many types; all mean "not valid"
            raise InvalidToken(str(exc)) from exc
        if not claims.identity:
            raise InvalidToken("the token has no identity")
        return claims

    def receive_webhook(self, body: bytes, authorization: str) -> api.WebhookEvent:
        token = authorization.removeprefix("Bearer ").strip()
        try:
            return self._webhooks.receive(body.decode("utf-8"), token)
        except Exception as exc:  # a hash mismatch is a bare Exception in livekit-api
            raise InvalidWebhook(str(exc)) from exc

    # server calls -------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[api.LiveKitAPI], Awaitable[T]]) -> T:
        async def run() -> T:
            async with api.LiveKitAPI(
                self.config.url, self.config.api_key, self.config.api_secret
            ) as lk:
                return await asyncio.wait_for(fn(lk), self.config.timeout)

        try:
            return _run_sync(run)
        except api.ServerError as exc:
            if exc.code == "not_found":
                raise LiveKitNotFound(f"{what}: not found") from exc
            if exc.status in (502, 503, 504):
                raise LiveKitUnavailable(f"{what}: media server unavailable") from exc
            raise LiveKitError(f"{what} failed: {exc.message}") from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise LiveKitUnavailable(f"{what}: media server unreachable") from exc

    def room_exists(self, room: str) -> bool:
        response = self._call(
            "list rooms", lambda lk: lk.room.list_rooms(api.ListRoomsRequest(names=[room]))
        )
        return any(r.name == room for r in response.rooms)

    def send_data(self, room: str, payload: dict) -> None:
        request = api.SendDataRequest(
            room=room, data=json.dumps(payload).encode(), kind=api.DataPacket.Kind.RELIABLE
        )
        self._call("send data", lambda lk: lk.room.send_data(request))

    def merge_room_metadata(self, room: str, changes: dict) -> None:
        async def merge(lk: api.LiveKitAPI):
            rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[room]))
            if not rooms.rooms:
                raise api.ServerError("not_found", "room not found", status=404)
            try:
                metadata = json.loads(rooms.rooms[0].metadata or "{}")
            except ValueError:
                metadata = {}
            metadata = {**(metadata if isinstance(metadata, dict) else {}), **changes}
            return await lk.room.update_room_metadata(
                api.UpdateRoomMetadataRequest(room=room, metadata=json.dumps(metadata))
            )

        self._call("update room metadata", merge)

    def get_participant(self, room: str, identity: str) -> api.ParticipantInfo:
        request = api.RoomParticipantIdentity(room=room, identity=identity)
        return self._call("get participant", lambda lk: lk.room.get_participant(request))

    def is_connected(self, room: str, identity: str) -> bool:
        try:
            participant = self.get_participant(room, identity)
        except LiveKitNotFound:
            return False
        return participant.state != api.ParticipantInfo.State.DISCONNECTED

    def mute_track(self, room: str, identity: str, track_sid: str) -> None:
        request = api.MuteRoomTrackRequest(
            room=room, identity=identity, track_sid=track_sid, muted=True
        )
        self._call("mute participant", lambda lk: lk.room.mute_published_track(request))

    def update_participant(
        self,
        room: str,
        identity: str,
        *,
        name: str | None = None,
        metadata: Any = None,
        attributes: dict[str, str] | None = None,
        permission: api.ParticipantPermission | None = None,
    ) -> None:
        """Only the given fields change: metadata is never overwritten with "null"."""
        request = api.UpdateParticipantRequest(room=room, identity=identity)
        if name is not None:
            request.name = name
        if metadata is not None:
            request.metadata = metadata if isinstance(metadata, str) else json.dumps(metadata)
        if attributes:
            request.attributes.update(attributes)
        if permission is not None:
            request.permission.CopyFrom(permission)
        self._call("update participant", lambda lk: lk.room.update_participant(request))

    def remove_participant(self, room: str, identity: str) -> None:
        request = api.RoomParticipantIdentity(room=room, identity=identity)
        self._call("remove participant", lambda lk: lk.room.remove_participant(request))

    def sync_room_settings(self, room: str, configuration: dict, access_level: str) -> bool:
        """Tell a live LiveKit room its new settings; False when it is not live or unreachable."""
        try:
            self.merge_room_metadata(
                room, {"configuration": configuration, "access_level": access_level}
            )
        except LiveKitError as exc:
            log.info("room %s settings not synced to LiveKit: %s", room, exc.message)
            return False
        return True

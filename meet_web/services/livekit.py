"""LiveKit: access tokens, webhook verification, and a sync facade over the server API.

Token minting and webhook checks are pure. Server calls open one `LiveKitAPI` client per
call inside `asyncio.run` (its aiohttp session is bound to the loop that made it) and
bound the whole call with `livekit.timeout`: the client's own timeout argument is not
applied by livekit-api 1.2. Errors become LiveKitError subclasses the views map to
404 / 502 / 503 with a JSON message.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import aiohttp
from google.protobuf import json_format
from livekit import api
from livekit.api.access_token import DEFAULT_LEEWAY, Claims

from ..metrics import observe_livekit_call
from . import hs256

try:
    from orjson import loads as _json_loads
except ImportError:  # an optional speed-up: the standard parser reads the same documents
    from json import loads as _json_loads

log = logging.getLogger(__name__)

T = TypeVar("T")

TOKEN_TTL = timedelta(hours=6)
CONNECTION_TEST_PREFIX = "connection-test"
ADMIN_ROLES = ("owner", "administrator")

# The clock skew livekit-api's TokenVerifier allows on `exp` and `nbf`, in seconds.
JWT_LEEWAY = DEFAULT_LEEWAY.total_seconds()


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


_SURROGATE = re.compile("[\ud800-\udfff]")


def _parse_event(text: str) -> api.WebhookEvent:
    """The body as livekit-api's WebhookReceiver parses it."""
    try:
        return json_format.Parse(text, api.WebhookEvent(), ignore_unknown_fields=True)
    except Exception as exc:  # json_format also lets some TypeErrors through
        raise InvalidWebhook(str(exc)) from exc


class _Unusual(Exception):
    """A body the quick reading leaves to protobuf's parser."""


def _field(message: dict, json_name: str, name: str | None = None) -> Any:
    """A field's value under its JSON name or its protobuf name; None when absent."""
    if name is not None and name in message:
        if json_name in message:  # protobuf takes both, and merges messages
            raise _Unusual
        return message[name]
    return message.get(json_name)


def _string(value: Any) -> str:
    if value is None:  # protobuf reads null as the default
        return ""
    if type(value) is not str or _SURROGATE.search(value):
        raise _Unusual
    return value


def _message(value: Any) -> dict:
    if value is None:
        return {}
    if type(value) is not dict:
        raise _Unusual
    return value


def _read_routing_fields(text: str) -> tuple[str, str, str] | None:
    """The event type, id and room name as protobuf reads them; None when only protobuf
    can say (an unusual body, or one orjson refuses: NaN is JSON to json, not to it)."""
    try:
        body = _json_loads(text)
        if type(body) is not dict:
            raise _Unusual
        room = _message(_field(body, "room"))
        egress = _message(_field(body, "egressInfo", "egress_info"))
        room_name = _string(_field(room, "name"))
        egress_room_name = _string(_field(egress, "roomName", "room_name"))
        return (
            _string(_field(body, "event")),
            _string(_field(body, "id")),
            room_name or egress_room_name,
        )
    except Exception:
        return None


class WebhookDelivery:
    """A verified webhook: its event type, id and room name, read from the JSON as
    protobuf reads them; the whole protobuf event (`parse()`) only for handlers.

    A body of an unusual shape (not an object; a field read here that is of another
    type, or given under both its names) is parsed by protobuf at once, so these fields
    are always what protobuf says, and a body it refuses is refused here. What it would
    refuse elsewhere in the body is found by `parse()` only.
    """

    __slots__ = ("_event", "_text", "event", "expires", "id", "room_name")

    def __init__(self, text: str, expires: Any, event: str, id: str, room_name: str):
        self._text = text
        self._event: api.WebhookEvent | None = None
        self.expires = expires  # the signature's `exp` claim, as the token holds it
        self.event = event
        self.id = id
        self.room_name = room_name  # the room's, else the egress's (egress events)

    @classmethod
    def read(cls, text: str, expires: Any) -> WebhookDelivery:
        fields = _read_routing_fields(text)
        if fields is not None:
            return cls(text, expires, *fields)
        event = _parse_event(text)
        room_name = event.room.name or event.egress_info.room_name
        delivery = cls(text, expires, event.event, event.id, room_name)
        delivery._event = event
        return delivery

    def parse(self) -> api.WebhookEvent:
        """The protobuf event, as livekit-api parses it; InvalidWebhook if it cannot."""
        if self._event is None:
            self._event = _parse_event(self._text)
        return self._event


class LiveKitGateway:
    def __init__(self, config: LiveKitConfig):
        self.config = config
        self._verifier = api.TokenVerifier(config.api_key, config.api_secret)

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
        # livekit-api's AccessToken.to_jwt builds its claims with dataclasses.asdict (a
        # deepcopy of every grant), about a third of a millisecond per join. These are the
        # claims it emits for our grants, in its order, without the empty and None ones
        # it drops; tests/unit/test_livekit_tokens.py holds the two equal.
        if not identity or not room:
            raise ValueError("identity and room must be set when joining a room")
        now = time.time()
        claims: dict[str, Any] = {"name": name} if name else {}
        claims["video"] = {
            "roomAdmin": role in ADMIN_ROLES,
            "roomJoin": True,
            "room": room,
            "canPublish": bool(sources),
            "canSubscribe": True,
            "canPublishData": True,
            "canPublishSources": list(sources),
            "canUpdateOwnMetadata": False,
        }
        claims["attributes"] = {
            "color": color or participant_color(identity),
            "room_role": role or "",
            "is_authenticated": "true" if is_authenticated else "false",
        }
        claims["sub"] = identity
        claims["iss"] = self.config.api_key
        claims["nbf"] = int(now)
        claims["exp"] = int(now + ttl.total_seconds())
        return hs256.encode(claims, self.config.api_secret)

    def verify(self, token: str) -> Claims:
        try:
            claims = self._verifier.verify(token)
        except Exception as exc:  # PyJWT raises many types; all mean "not valid"
            raise InvalidToken(str(exc)) from exc
        if not claims.identity:
            raise InvalidToken("the token has no identity")
        return claims

    def receive_webhook(self, body: bytes, authorization: str) -> WebhookDelivery:
        """Check LiveKit's signature of `body`; the event is parsed when asked for.

        livekit-api's WebhookReceiver builds its Claims dataclasses from the token and
        parses the whole body into protobuf through json_format, most of a webhook's
        CPU, though most event types have no handler here. So the token is decoded once
        (hs256.py: PyJWT's checks, in C where PyJWT loops in Python), making the checks
        its TokenVerifier makes (HS256 signature, `iss` is our API key, `exp` required
        and not past, its leeway), the body's SHA-256 is
        compared with the `sha256` claim as its receiver does, and the JSON is read only
        for what routing needs (WebhookDelivery).
        """
        token = authorization.removeprefix("Bearer ").strip()
        try:
            text = body.decode("utf-8")
            claims = hs256.decode(
                token,
                self.config.api_secret,
                issuer=self.config.api_key,
                leeway=JWT_LEEWAY,
                require=("exp",),
            )
            digest = claims.get("sha256")
            if not digest:
                raise InvalidWebhook("sha256 was not found in the token")
            if hashlib.sha256(body).digest() != base64.b64decode(digest):
                raise InvalidWebhook("hash mismatch")
        except InvalidWebhook:
            raise
        except Exception as exc:  # PyJWT, base64 and the decoder raise many types
            raise InvalidWebhook(str(exc)) from exc
        return WebhookDelivery.read(text, claims["exp"])

    # server calls -------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[api.LiveKitAPI], Awaitable[T]]) -> T:
        async def run() -> T:
            async with api.LiveKitAPI(
                self.config.url, self.config.api_key, self.config.api_secret
            ) as lk:
                return await asyncio.wait_for(fn(lk), self.config.timeout)

        started, failure = time.perf_counter(), None
        try:
            return _run_sync(run)
        except api.ServerError as exc:
            if exc.code == "not_found":
                failure = "not_found"
                raise LiveKitNotFound(f"{what}: not found") from exc
            if exc.status in (502, 503, 504):
                failure = "unavailable"
                raise LiveKitUnavailable(f"{what}: media server unavailable") from exc
            failure = "error"
            raise LiveKitError(f"{what} failed: {exc.message}") from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            failure = "unreachable"
            raise LiveKitUnavailable(f"{what}: media server unreachable") from exc
        finally:
            observe_livekit_call(what, time.perf_counter() - started, failure)

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
        self._rewrite_room_metadata(room, lambda metadata: {**metadata, **changes})

    def drop_room_metadata(self, room: str, keys: tuple[str, ...]) -> None:
        """Remove `keys` from the room's metadata, keeping the rest."""
        self._rewrite_room_metadata(
            room, lambda metadata: {k: v for k, v in metadata.items() if k not in keys}
        )

    def _rewrite_room_metadata(self, room: str, rewrite: Callable[[dict], dict]) -> None:
        """Read the room's metadata (a JSON object; anything else counts as empty) and
        write back what `rewrite` makes of it."""

        async def update(lk: api.LiveKitAPI):
            rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[room]))
            if not rooms.rooms:
                raise api.ServerError("not_found", "room not found", status=404)
            try:
                metadata = json.loads(rooms.rooms[0].metadata or "{}")
            except ValueError:
                metadata = {}
            metadata = rewrite(metadata if isinstance(metadata, dict) else {})
            return await lk.room.update_room_metadata(
                api.UpdateRoomMetadataRequest(room=room, metadata=json.dumps(metadata))
            )

        self._call("update room metadata", update)

    def list_participants(self, room: str) -> list[api.ParticipantInfo]:
        request = api.ListParticipantsRequest(room=room)
        response = self._call("list participants", lambda lk: lk.room.list_participants(request))
        return list(response.participants)

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

    def delete_room(self, room: str) -> None:
        """End the meeting: LiveKit disconnects everyone (reason ROOM_DELETED)."""
        request = api.DeleteRoomRequest(room=room)
        self._call("end meeting", lambda lk: lk.room.delete_room(request))

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

    # agents (subtitles) ---------------------------------------------------------------

    def list_agent_dispatches(self, room: str) -> list[api.AgentDispatch]:
        return self._call(
            "list agent dispatches", lambda lk: lk.agent_dispatch.list_dispatch(room_name=room)
        )

    def create_agent_dispatch(self, room: str, agent_name: str) -> api.AgentDispatch:
        request = api.CreateAgentDispatchRequest(agent_name=agent_name, room=room)
        return self._call(
            "create agent dispatch", lambda lk: lk.agent_dispatch.create_dispatch(request)
        )

    # egress (recordings) --------------------------------------------------------------

    def start_room_composite_egress(self, request: api.RoomCompositeEgressRequest):
        return self._call(
            "start recording", lambda lk: lk.egress.start_room_composite_egress(request)
        )

    def stop_egress(self, egress_id: str) -> api.EgressInfo:
        request = api.StopEgressRequest(egress_id=egress_id)
        return self._call("stop recording", lambda lk: lk.egress.stop_egress(request))

    # telephony (SIP dispatch rules, phone callers) -------------------------------------

    def list_dispatch_rules(self) -> list[api.SIPDispatchRuleInfo]:
        """Every SIP dispatch rule: LiveKit filters them by id or trunk, never by name."""
        request = api.ListSIPDispatchRuleRequest()
        response = self._call("list dispatch rules", lambda lk: lk.sip.list_dispatch_rule(request))
        return list(response.items)

    def create_dispatch_rule(self, rule: api.SIPDispatchRuleInfo) -> api.SIPDispatchRuleInfo | None:
        """The created rule; None when LiveKit refuses it as conflicting with an existing
        one (`already_exists`: the same PIN on the same trunks, e.g. a concurrent creation)."""
        request = api.CreateSIPDispatchRuleRequest(dispatch_rule=rule)

        async def create(lk: api.LiveKitAPI):
            try:
                return await lk.sip.create_dispatch_rule(request)
            except api.ServerError as exc:
                if exc.code == "already_exists":
                    return None
                raise

        return self._call("create dispatch rule", create)

    def delete_dispatch_rule(self, rule_id: str) -> None:
        request = api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule_id)
        self._call("delete dispatch rule", lambda lk: lk.sip.delete_dispatch_rule(request))

    def create_room(self, room: str) -> None:
        """Make sure the LiveKit room exists (LiveKit answers an existing room as is)."""
        request = api.CreateRoomRequest(name=room)
        self._call("create room", lambda lk: lk.room.create_room(request))

    def move_participant(self, room: str, identity: str, destination: str) -> None:
        request = api.MoveParticipantRequest(
            room=room, identity=identity, destination_room=destination
        )
        self._call("move participant", lambda lk: lk.room.move_participant(request))

"""A loopback fake of the LiveKit server, for tests.

LiveKit's real server cannot run here, so this module serves the parts of its
HTTP surface that Meet Web talks to, on 127.0.0.1, well enough that the real
``livekit.api.LiveKitAPI`` client works against it unchanged:

* the Twirp server APIs (RoomService, Egress, SIP, AgentDispatchService) at
  ``POST /twirp/livekit.<Service>/<Method>``, in binary protobuf (what the SDK
  sends) or protobuf JSON, with LiveKit's token and grant checks and Twirp
  JSON errors;
* a ``/rtc`` stub that records the browser's signalling connection (and its
  ``access_token``) and completes the WebSocket handshake; with an RTC backend
  attached (``tests.servers.sfu.LoopbackSFU``, opt-in for browser media tests)
  the signalling and media are really served, and the server-side actions
  (RemoveParticipant, DeleteRoom, MutePublishedTrack, UpdateParticipant,
  MoveParticipant, SendData) reach the connected browsers;
* helpers to build, sign and send webhooks exactly as LiveKit does;
* ``dial_in(number, pin)``: an inbound phone call as LiveKit SIP dispatches it
  (the direct dispatch rule with that PIN puts a SIP participant in its room).

Typical use (the server is meant to be session-scoped, ``reset()`` per test)::

    fake = FakeLiveKit().start()          # or: with FakeLiveKit() as fake:
    settings["livekit.url"] = fake.url    # app uses fake.api_key / fake.api_secret
    fake.add_participant("standup", "alice", "Alice", tracks=["microphone"])
    ... exercise the app ...
    assert fake.calls_to("RemoveParticipant")[0].request.identity == "alice"
    fake.fail("ListRooms", "unavailable")     # next ListRooms answers 503
    fake.delay("SendData", 2.0)               # for client-timeout tests
    body, headers = fake.webhook_request(fake.event("room_finished", room="standup"))
    testapp.post("/webhooks-livekit", body, headers=headers)
    fake.reset()

``stop()`` (or ``refuse_connections()``) makes the old url refuse connections;
``unused_url()`` gives a url nothing listens on.

State is kept as livekit-protocol messages. Every accessor returns copies, so
tests can't corrupt the fake by mutating what they get back; use the helper
methods (``add_room``, ``add_participant``, ``set_egress_status`` ...) instead.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar
from urllib.parse import parse_qsl, urlsplit

import jwt
import requests
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit import api
from livekit.api.access_token import Claims

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "Call",
    "FakeLiveKit",
    "RtcConnection",
    "event",
    "send_webhook",
    "sign_webhook",
    "unused_url",
    "webhook_request",
]

DEFAULT_API_KEY = "devkey"
# PyJWT warns about HMAC keys shorter than 32 bytes, and warnings are errors.
DEFAULT_API_SECRET = "fake-livekit-secret-for-tests-0123456789"

WEBHOOK_CONTENT_TYPE = "application/webhook+json"
_WEBHOOK_TTL = datetime.timedelta(minutes=5)
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3

# HTTP status of each Twirp error code (twitchtv/twirp spec, v7).
TWIRP_STATUS = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "dataloss": 500,
}

_ACTIVE_EGRESS = (api.EGRESS_STARTING, api.EGRESS_ACTIVE, api.EGRESS_ENDING)

# "microphone" etc. accepted by add_participant(tracks=...): (type, source)
_TRACK_SOURCES = {
    "camera": (api.TrackType.VIDEO, api.TrackSource.CAMERA),
    "microphone": (api.TrackType.AUDIO, api.TrackSource.MICROPHONE),
    "screen_share": (api.TrackType.VIDEO, api.TrackSource.SCREEN_SHARE),
    "screen_share_audio": (api.TrackType.AUDIO, api.TrackSource.SCREEN_SHARE_AUDIO),
}

M = TypeVar("M", bound=Message)


# --------------------------------------------------------------------------
# Small helpers


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:12]


def _now_ns() -> int:
    return time.time_ns()


def _copy(msg: M) -> M:
    clone = type(msg)()
    clone.CopyFrom(msg)
    return clone


def offline_gateway(api_key: str, api_secret: str, **fields):
    """A LiveKitGateway for tests of its pure parts (tokens, webhooks): no server behind
    its URL."""
    from meet_web.services.livekit import LiveKitConfig, LiveKitGateway

    config = {
        "url": "http://127.0.0.1:9",
        "public_url": "",
        "timeout": 5.0,
        "default_sources": ("camera",),
        "webhook_filter": None,
        **fields,
    }
    return LiveKitGateway(LiveKitConfig(api_key=api_key, api_secret=api_secret, **config))


def unused_url() -> str:
    """An ``http://127.0.0.1:<port>`` url on which nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class TwirpFailure(Exception):
    """A Twirp error answer: ``{"code": ..., "msg": ...}`` with its HTTP status."""

    def __init__(self, code: str, msg: str = "") -> None:
        if code not in TWIRP_STATUS:
            raise ValueError(f"unknown Twirp error code {code!r}")
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg or code.replace("_", " ")

    @property
    def status(self) -> int:
        return TWIRP_STATUS[self.code]

    def body(self) -> bytes:
        return json.dumps({"code": self.code, "msg": self.msg}).encode()


@dataclass(frozen=True)
class Call:
    """One Twirp call received: ``claims`` is None when the token didn't verify."""

    service: str
    method: str
    request: Message
    claims: Claims | None


@dataclass(frozen=True)
class RtcConnection:
    """One request to ``/rtc...`` (signalling WebSocket or validate)."""

    path: str
    params: dict[str, str]
    token: str | None
    claims: Claims | None  # None when the token is missing or doesn't verify
    websocket: bool


@dataclass
class _Fault:
    code: str
    msg: str
    remaining: int | None  # None: until reset()


@dataclass
class _Delay:
    seconds: float
    remaining: int | None


# --------------------------------------------------------------------------
# Grant checks, as the real server applies them per method


def _grant_room_create(claims: Claims, _req: Any) -> bool:
    return bool(claims.video and claims.video.room_create)


def _grant_room_list(claims: Claims, _req: Any) -> bool:
    return bool(claims.video and claims.video.room_list)


def _grant_room_record(claims: Claims, _req: Any) -> bool:
    return bool(claims.video and claims.video.room_record)


def _grant_room_admin(claims: Claims, req: Any) -> bool:
    # roomAdmin is scoped: the token's room must be the request's room.
    video = claims.video
    return bool(video and video.room_admin and video.room == req.room)


def _grant_room_move(claims: Claims, req: Any) -> bool:
    # roomAdmin on the source room, and the destination named in destinationRoom.
    destination = claims.video.destination_room if claims.video else None
    return _grant_room_admin(claims, req) and (destination or "") == req.destination_room


def _grant_sip_admin(claims: Claims, _req: Any) -> bool:
    return bool(claims.sip and claims.sip.admin)


def _grant_sip_call(claims: Claims, _req: Any) -> bool:
    return bool(claims.sip and claims.sip.call)


@dataclass(frozen=True)
class _Route:
    request: type[Message]
    grant: Callable[[Claims, Any], bool]
    handler: str  # name of the FakeLiveKit method answering it


_ROUTES: dict[tuple[str, str], _Route] = {
    ("RoomService", "CreateRoom"): _Route(
        api.CreateRoomRequest, _grant_room_create, "_create_room"
    ),
    ("RoomService", "ListRooms"): _Route(api.ListRoomsRequest, _grant_room_list, "_list_rooms"),
    ("RoomService", "DeleteRoom"): _Route(
        api.DeleteRoomRequest, _grant_room_create, "_delete_room"
    ),
    ("RoomService", "ListParticipants"): _Route(
        api.ListParticipantsRequest, _grant_room_admin, "_list_participants"
    ),
    ("RoomService", "GetParticipant"): _Route(
        api.RoomParticipantIdentity, _grant_room_admin, "_get_participant"
    ),
    ("RoomService", "RemoveParticipant"): _Route(
        api.RoomParticipantIdentity, _grant_room_admin, "_remove_participant"
    ),
    ("RoomService", "MoveParticipant"): _Route(
        api.MoveParticipantRequest, _grant_room_move, "_move_participant"
    ),
    ("RoomService", "MutePublishedTrack"): _Route(
        api.MuteRoomTrackRequest, _grant_room_admin, "_mute_published_track"
    ),
    ("RoomService", "UpdateParticipant"): _Route(
        api.UpdateParticipantRequest, _grant_room_admin, "_update_participant"
    ),
    ("RoomService", "UpdateRoomMetadata"): _Route(
        api.UpdateRoomMetadataRequest, _grant_room_admin, "_update_room_metadata"
    ),
    ("RoomService", "SendData"): _Route(api.SendDataRequest, _grant_room_admin, "_send_data"),
    ("Egress", "StartRoomCompositeEgress"): _Route(
        api.RoomCompositeEgressRequest, _grant_room_record, "_start_room_composite_egress"
    ),
    ("Egress", "StartTrackCompositeEgress"): _Route(
        api.TrackCompositeEgressRequest, _grant_room_record, "_start_track_composite_egress"
    ),
    ("Egress", "StopEgress"): _Route(api.StopEgressRequest, _grant_room_record, "_stop_egress"),
    ("Egress", "ListEgress"): _Route(api.ListEgressRequest, _grant_room_record, "_list_egress"),
    ("SIP", "CreateSIPDispatchRule"): _Route(
        api.CreateSIPDispatchRuleRequest, _grant_sip_admin, "_create_dispatch_rule"
    ),
    ("SIP", "ListSIPDispatchRule"): _Route(
        api.ListSIPDispatchRuleRequest, _grant_sip_admin, "_list_dispatch_rules"
    ),
    ("SIP", "DeleteSIPDispatchRule"): _Route(
        api.DeleteSIPDispatchRuleRequest, _grant_sip_admin, "_delete_dispatch_rule"
    ),
    ("SIP", "CreateSIPInboundTrunk"): _Route(
        api.CreateSIPInboundTrunkRequest, _grant_sip_admin, "_create_inbound_trunk"
    ),
    ("SIP", "ListSIPInboundTrunk"): _Route(
        api.ListSIPInboundTrunkRequest, _grant_sip_admin, "_list_inbound_trunks"
    ),
    ("SIP", "DeleteSIPTrunk"): _Route(api.DeleteSIPTrunkRequest, _grant_sip_admin, "_delete_trunk"),
    ("SIP", "CreateSIPParticipant"): _Route(
        api.CreateSIPParticipantRequest, _grant_sip_call, "_create_sip_participant"
    ),
    ("AgentDispatchService", "CreateDispatch"): _Route(
        api.CreateAgentDispatchRequest, _grant_room_admin, "_create_dispatch"
    ),
    ("AgentDispatchService", "ListDispatch"): _Route(
        api.ListAgentDispatchRequest, _grant_room_admin, "_list_dispatch"
    ),
    ("AgentDispatchService", "DeleteDispatch"): _Route(
        api.DeleteAgentDispatchRequest, _grant_room_admin, "_delete_dispatch"
    ),
}


# --------------------------------------------------------------------------
# Twirp encodings


def _content_kind(content_type: str) -> str | None:
    mime = content_type.split(";")[0].strip().lower()
    if mime in ("application/protobuf", "application/x-protobuf"):
        return "protobuf"
    if mime == "application/json":
        return "json"
    return None


def _decode(kind: str, body: bytes, message_class: type[M]) -> M:
    if kind == "protobuf":
        return message_class.FromString(body)
    return json_format.Parse(body or b"{}", message_class(), ignore_unknown_fields=True)


def _encode(kind: str, msg: Message) -> bytes:
    if kind == "protobuf":
        return msg.SerializeToString()
    # Twirp's default JSON: proto field names, unpopulated fields included.
    return json_format.MessageToJson(
        msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    ).encode()


# --------------------------------------------------------------------------
# Webhooks


def event(
    kind: str,
    *,
    room: str | api.Room | None = None,
    identity: str | None = None,
    participant: api.ParticipantInfo | None = None,
    egress: str | api.EgressInfo | None = None,
    track: api.TrackInfo | None = None,
    **fields: Any,
) -> api.WebhookEvent:
    """Build a ``WebhookEvent`` the way LiveKit fills it.

    ``event("room_finished", room="standup")``,
    ``event("participant_joined", room="standup", identity="alice")``,
    ``event("egress_ended", egress="EG_x", room="standup")``. Strings become
    minimal messages; pass messages for full control. Other keyword arguments
    set WebhookEvent fields directly (e.g. ``num_dropped=1``).
    """
    fields = {"id": _new_id("EV_"), "created_at": int(time.time()), **fields}
    ev = api.WebhookEvent(event=kind, **fields)
    room_name = room.name if isinstance(room, api.Room) else room
    if isinstance(room, api.Room):
        ev.room.CopyFrom(room)
    elif room is not None and not kind.startswith("egress_"):
        ev.room.CopyFrom(api.Room(name=room, sid=_new_id("RM_")))
    if participant is not None:
        ev.participant.CopyFrom(participant)
    elif identity is not None:
        ev.participant.CopyFrom(
            api.ParticipantInfo(
                identity=identity, sid=_new_id("PA_"), state=api.ParticipantInfo.State.ACTIVE
            )
        )
    if isinstance(egress, api.EgressInfo):
        ev.egress_info.CopyFrom(egress)
    elif egress is not None:
        ev.egress_info.CopyFrom(
            api.EgressInfo(
                egress_id=egress, room_name=room_name or "", status=_egress_status_for(kind)
            )
        )
    if track is not None:
        ev.track.CopyFrom(track)
    return ev


def _egress_status_for(kind: str) -> int:
    return {
        "egress_started": api.EGRESS_STARTING,
        "egress_updated": api.EGRESS_ACTIVE,
        "egress_ended": api.EGRESS_COMPLETE,
    }.get(kind, api.EGRESS_ACTIVE)


def sign_webhook(
    body: bytes, api_key: str = DEFAULT_API_KEY, api_secret: str = DEFAULT_API_SECRET
) -> str:
    """The raw JWT (no "Bearer") LiveKit puts in a webhook's Authorization header."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    token = api.AccessToken(api_key, api_secret).with_ttl(_WEBHOOK_TTL)
    return token.with_sha256(digest).to_jwt()


def webhook_request(
    ev: api.WebhookEvent | Mapping[str, Any],
    *,
    api_key: str = DEFAULT_API_KEY,
    api_secret: str = DEFAULT_API_SECRET,
    tamper: bool = False,
) -> tuple[bytes, dict[str, str]]:
    """``(body, headers)`` of a webhook POST, for WebTest or ``requests``.

    A dict is read as protobuf JSON (``{"event": "room_finished", "room":
    {"name": "x"}}``); ``id`` and ``createdAt`` are filled in when missing.
    ``tamper=True`` alters the body after signing, so the hash won't match.
    """
    if isinstance(ev, Mapping):
        ev = json_format.ParseDict(dict(ev), api.WebhookEvent())
    else:
        ev = _copy(ev)
    ev.id = ev.id or _new_id("EV_")
    ev.created_at = ev.created_at or int(time.time())
    body = json_format.MessageToJson(ev, indent=None).encode()
    headers = {
        "Content-Type": WEBHOOK_CONTENT_TYPE,
        "Authorization": sign_webhook(body, api_key, api_secret),
    }
    if tamper:
        ev.id += "-tampered"
        body = json_format.MessageToJson(ev, indent=None).encode()
    return body, headers


def send_webhook(
    url: str, ev: api.WebhookEvent | Mapping[str, Any], *, timeout: float = 5.0, **kw: Any
) -> requests.Response:
    """POST a signed webhook to ``url`` over HTTP (``kw`` as for webhook_request)."""
    body, headers = webhook_request(ev, **kw)
    return requests.post(url, data=body, headers=headers, timeout=timeout)


# --------------------------------------------------------------------------
# The fake server


class FakeLiveKit:
    """Loopback LiveKit server; see the module docstring."""

    def __init__(
        self, api_key: str = DEFAULT_API_KEY, api_secret: str = DEFAULT_API_SECRET
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self._verifier = api.TokenVerifier(api_key, api_secret)
        self._lock = threading.RLock()
        self._rtc_seen = threading.Condition(self._lock)
        self._wake = threading.Event()  # interrupts delay() sleeps on stop/reset
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._websockets: set[socket.socket] = set()
        self._rtc_backend: Any = None  # a LoopbackSFU, when attached
        self._clear()

    def _clear(self) -> None:
        self._rooms: dict[str, api.Room] = {}
        self._participants: dict[str, dict[str, api.ParticipantInfo]] = {}
        self._egresses: dict[str, api.EgressInfo] = {}
        self._dispatch_rules: dict[str, api.SIPDispatchRuleInfo] = {}
        self._trunks: dict[str, api.SIPInboundTrunkInfo] = {}
        self._agent_dispatches: dict[str, api.AgentDispatch] = {}
        self._data: list[api.SendDataRequest] = []
        self._calls: list[Call] = []
        self._rtc: list[RtcConnection] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, _Delay] = {}

    # -- lifecycle --------------------------------------------------------

    def start(self) -> Self:
        """Listen on 127.0.0.1 (a free port, or the previous one on restart)."""
        if self._server is None:
            self._wake.clear()
            self._server = _HTTPServer(("127.0.0.1", self._port or 0), self)
            self._port = self._server.server_address[1]
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # quick stop()
                name="fake-livekit",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; the url then refuses connections."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        self._wake.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        with self._lock:
            sockets, self._websockets = self._websockets, set()
        for sock in sockets:
            _shutdown_socket(sock)

    refuse_connections = stop
    accept_connections = start

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeLiveKit was never started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget all state, recorded calls/connections and faults; listen again."""
        self._wake.set()  # wake handlers sleeping in a delay
        with self._lock:
            self._clear()
            self._notify_backend("reset")
        if self._port is not None:
            self.start()
        self._wake.clear()

    # -- fault injection --------------------------------------------------

    def fail(
        self, method: str, code: str = "internal", *, times: int | None = 1, msg: str = ""
    ) -> None:
        """The next ``times`` (None: all) calls of ``method`` answer this Twirp error."""
        fault = _Fault(code, TwirpFailure(code, msg).msg, times)
        with self._lock:
            self._faults.setdefault(_method_name(method), []).append(fault)

    def delay(self, method: str, seconds: float, *, times: int | None = None) -> None:
        """Sleep ``seconds`` before answering the next ``times`` (None: all) calls."""
        with self._lock:
            self._delays[_method_name(method)] = _Delay(seconds, times)

    # -- seeding and inspecting state ---------------------------------------

    def add_room(
        self, name: str, metadata: str = "", *, empty_timeout: int = 0, max_participants: int = 0
    ) -> api.Room:
        with self._lock:
            room = self._rooms.get(name) or self._new_room(name)
            room.metadata = metadata
            room.empty_timeout = empty_timeout
            room.max_participants = max_participants
            return self._room_view(room)

    def remove_room(self, name: str) -> None:
        with self._lock:
            self._drop_room(name)

    def add_participant(
        self,
        room: str,
        identity: str,
        name: str = "",
        *,
        state: int = api.ParticipantInfo.State.ACTIVE,
        attributes: Mapping[str, str] | None = None,
        metadata: str = "",
        tracks: Iterable[str | api.TrackInfo] = (),
        kind: int = api.ParticipantInfo.Kind.STANDARD,
        permission: api.ParticipantPermission | None = None,
    ) -> api.ParticipantInfo:
        """Put a participant in ``room`` (created if missing), replacing one with
        the same identity. ``tracks`` items are TrackInfo or a source name:
        "camera", "microphone", "screen_share", "screen_share_audio"."""
        with self._lock:
            if room not in self._rooms:
                self._new_room(room)
            info = api.ParticipantInfo(
                sid=_new_id("PA_"),
                identity=identity,
                name=name,
                state=state,
                metadata=metadata,
                attributes=dict(attributes or {}),
                kind=kind,
                joined_at=int(time.time()),
                joined_at_ms=int(time.time() * 1000),
                permission=permission
                or api.ParticipantPermission(
                    can_subscribe=True, can_publish=True, can_publish_data=True
                ),
            )
            info.tracks.extend(_track(t) for t in tracks)
            info.is_publisher = len(info.tracks) > 0
            self._participants[room][identity] = info
            return _copy(info)

    def remove_participant(self, room: str, identity: str) -> None:
        with self._lock:
            self._participants.get(room, {}).pop(identity, None)

    def put_participant(self, room: str, info: api.ParticipantInfo) -> None:
        """Store a copy of ``info`` as is (the RTC backend's connected participants)."""
        with self._lock:
            if room not in self._rooms:
                self._new_room(room)
            self._participants[room][info.identity] = _copy(info)

    # -- RTC backend (signalling and media for browser tests) ------------------

    def attach_rtc_backend(self, backend: Any) -> None:
        """Serve ``/rtc/v1`` WebSockets with ``backend`` and tell it about server-side
        actions; see tests.servers.sfu.LoopbackSFU."""
        with self._lock:
            self._rtc_backend = backend

    def detach_rtc_backend(self, backend: Any) -> None:
        with self._lock:
            if self._rtc_backend is backend:
                self._rtc_backend = None

    @property
    def rtc_backend(self) -> Any:
        return self._rtc_backend

    def _notify_backend(self, hook: str, *args: Any) -> None:
        if self._rtc_backend is not None:
            getattr(self._rtc_backend, hook)(*args)

    def room(self, name: str) -> api.Room | None:
        with self._lock:
            room = self._rooms.get(name)
            return None if room is None else self._room_view(room)

    def rooms(self) -> list[api.Room]:
        with self._lock:
            return [self._room_view(r) for r in self._rooms.values()]

    def participants(self, room: str) -> list[api.ParticipantInfo]:
        with self._lock:
            return [_copy(p) for p in self._participants.get(room, {}).values()]

    def participant(self, room: str, identity: str) -> api.ParticipantInfo | None:
        with self._lock:
            info = self._participants.get(room, {}).get(identity)
            return None if info is None else _copy(info)

    def data_messages(self, room: str | None = None) -> list[api.SendDataRequest]:
        """SendData requests received (``.data`` bytes, ``.topic``, ``.destination_identities``)."""
        with self._lock:
            return [_copy(d) for d in self._data if room is None or d.room == room]

    def add_egress(self, room: str, *, status: int = api.EGRESS_ACTIVE) -> api.EgressInfo:
        """An egress as if started earlier (room composite, created if missing)."""
        with self._lock:
            if room not in self._rooms:
                self._new_room(room)
            info = self._new_egress(self._rooms[room])
            info.room_composite.room_name = room
            self._set_status(info, status)
            return _copy(info)

    def egress(self, egress_id: str) -> api.EgressInfo | None:
        with self._lock:
            info = self._egresses.get(egress_id)
            return None if info is None else _copy(info)

    def egresses(self, room: str | None = None) -> list[api.EgressInfo]:
        with self._lock:
            return [_copy(e) for e in self._egresses.values() if room in (None, e.room_name)]

    def set_egress_status(
        self,
        egress_id: str,
        status: int,
        *,
        error: str = "",
        filename: str = "",
        location: str = "",
    ) -> api.EgressInfo:
        """Move an egress on (e.g. to EGRESS_ACTIVE, EGRESS_COMPLETE); ``filename``
        and ``location`` add a file result, ``error`` sets the failure message."""
        with self._lock:
            info = self._egresses[egress_id]
            self._set_status(info, status)
            info.error = error
            if filename or location:
                info.file_results.add(
                    filename=filename,
                    location=location,
                    started_at=info.started_at,
                    ended_at=info.ended_at,
                )
            return _copy(info)

    def dispatch_rules(self) -> list[api.SIPDispatchRuleInfo]:
        with self._lock:
            return [_copy(r) for r in self._dispatch_rules.values()]

    def add_dispatch_rule(
        self, name: str, room: str, pin: str = "", *, trunk_ids: Iterable[str] = ()
    ) -> api.SIPDispatchRuleInfo:
        """A direct dispatch rule as if created earlier (by another process, by hand);
        TwirpFailure ``already_exists`` when it conflicts with one, as LiveKit answers."""
        rule = api.SIPDispatchRuleInfo(
            name=name,
            trunk_ids=list(trunk_ids),
            rule=api.SIPDispatchRule(
                dispatch_rule_direct=api.SIPDispatchRuleDirect(room_name=room, pin=pin)
            ),
        )
        with self._lock:
            return self._create_dispatch_rule(api.CreateSIPDispatchRuleRequest(dispatch_rule=rule))

    def dial_in(
        self,
        phone_number: str,
        pin: str,
        *,
        trunk_number: str = "+33100000000",
        name: str | None = None,
    ) -> tuple[str, api.ParticipantInfo]:
        """An inbound call from ``phone_number`` entering ``pin``, as LiveKit SIP takes
        it: the direct dispatch rule with that PIN puts a SIP participant (identity
        ``sip_<number>``, the ``sip.*`` attributes) in the rule's room. Returns (room,
        participant); LookupError when no rule matches (the call is refused). Send
        the ``participant_joined`` webhook yourself (``event(..., participant=...)``)."""
        with self._lock:
            rule = next(
                (
                    r
                    for r in self._dispatch_rules.values()
                    if r.rule.WhichOneof("rule") == "dispatch_rule_direct"
                    and r.rule.dispatch_rule_direct.pin == pin
                ),
                None,
            )
            if rule is None:
                raise LookupError(f"no dispatch rule takes PIN {pin!r}")
            room = rule.rule.dispatch_rule_direct.room_name
            attributes = {
                "sip.phoneNumber": phone_number,
                "sip.trunkPhoneNumber": trunk_number,
                "sip.callID": _new_id("SCL_"),
                "sip.callStatus": "active",
                "sip.ruleID": rule.sip_dispatch_rule_id,
                **dict(rule.attributes),
            }
            info = self.add_participant(
                room,
                f"sip_{phone_number}",
                name if name is not None else f"Phone {phone_number}",
                attributes=attributes,
                kind=api.ParticipantInfo.Kind.SIP,
                tracks=["microphone"],
            )
            return room, info

    def inbound_trunks(self) -> list[api.SIPInboundTrunkInfo]:
        with self._lock:
            return [_copy(t) for t in self._trunks.values()]

    def agent_dispatches(self, room: str | None = None) -> list[api.AgentDispatch]:
        with self._lock:
            return [_copy(d) for d in self._agent_dispatches.values() if room in (None, d.room)]

    @property
    def calls(self) -> list[Call]:
        """Every routed Twirp call, in arrival order (including refused ones)."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        name = _method_name(method)
        return [c for c in self.calls if c.method == name]

    @property
    def rtc_connections(self) -> list[RtcConnection]:
        with self._lock:
            return list(self._rtc)

    def wait_for_rtc(self, timeout: float = 5.0, *, count: int = 1) -> RtcConnection:
        """Block until ``count`` /rtc requests were recorded; return the latest."""
        with self._rtc_seen:
            if not self._rtc_seen.wait_for(lambda: len(self._rtc) >= count, timeout):
                raise TimeoutError(f"no /rtc connection within {timeout}s")
            return self._rtc[-1]

    # -- webhooks, signed with this server's credentials ---------------------

    def event(
        self,
        kind: str,
        *,
        room: str | api.Room | None = None,
        identity: str | None = None,
        egress: str | api.EgressInfo | None = None,
        **kw: Any,
    ) -> api.WebhookEvent:
        """Like module ``event()``, but takes room/participant/egress from this
        server's state when they exist there."""
        with self._lock:
            # egress webhooks carry no room, like LiveKit's
            if isinstance(room, str) and room in self._rooms and not kind.startswith("egress_"):
                room = self._room_view(self._rooms[room])
            room_name = room.name if isinstance(room, api.Room) else room
            known = self._participants.get(room_name or "", {}).get(identity or "")
            if known is not None and "participant" not in kw:
                kw["participant"] = _copy(known)
            if isinstance(egress, str) and egress in self._egresses:
                egress = _copy(self._egresses[egress])
        return event(kind, room=room, identity=identity, egress=egress, **kw)

    def sign_webhook(self, body: bytes, *, secret: str | None = None) -> str:
        return sign_webhook(body, self.api_key, secret or self.api_secret)

    def webhook_request(
        self,
        ev: api.WebhookEvent | Mapping[str, Any],
        *,
        secret: str | None = None,
        tamper: bool = False,
    ) -> tuple[bytes, dict[str, str]]:
        """``(body, headers)`` of a webhook; ``secret`` signs with another secret."""
        return webhook_request(
            ev, api_key=self.api_key, api_secret=secret or self.api_secret, tamper=tamper
        )

    def send_webhook(
        self, url: str, ev: api.WebhookEvent | Mapping[str, Any], **kw: Any
    ) -> requests.Response:
        kw.setdefault("api_key", self.api_key)
        kw["api_secret"] = kw.pop("secret", None) or kw.get("api_secret") or self.api_secret
        return send_webhook(url, ev, **kw)

    # -- Twirp dispatch ---------------------------------------------------

    def handle_twirp(
        self, path: str, content_type: str, body: bytes, authorization: str | None
    ) -> tuple[int, str, bytes]:
        """Answer one Twirp POST: ``(status, content type, body)``."""
        try:
            service, method, route = _route_for(path)
            kind = _content_kind(content_type)
            if kind is None:
                raise TwirpFailure("bad_route", f"unexpected Content-Type: {content_type!r}")
            try:
                request = _decode(kind, body, route.request)
            except (DecodeError, json_format.ParseError, UnicodeDecodeError) as exc:
                raise TwirpFailure("malformed", f"failed to parse request: {exc}") from None
            response = self._answer(service, method, route, request, authorization)
            return 200, f"application/{kind}", _encode(kind, response)
        except TwirpFailure as failure:
            return failure.status, "application/json", failure.body()

    def _answer(
        self, service: str, method: str, route: _Route, request: Message, authorization: str | None
    ) -> Message:
        claims = self._verify(_bearer(authorization))
        with self._lock:
            self._calls.append(Call(service, method, _copy(request), claims))
            pause = self._take_delay(method)
        if pause:
            self._wake.wait(pause)
        if claims is None:
            raise TwirpFailure("unauthenticated", "invalid or missing authorization token")
        if not route.grant(claims, request):
            raise TwirpFailure("permission_denied", f"missing grant for {service}.{method}")
        with self._lock:
            fault = self._take_fault(method)
            if fault is not None:
                raise TwirpFailure(fault.code, fault.msg)
            return getattr(self, route.handler)(request)

    def _verify(self, token: str | None) -> Claims | None:
        if not token:
            return None
        try:
            return self._verifier.verify(token)
        except (jwt.PyJWTError, ValueError, TypeError):
            return None

    def _take_delay(self, method: str) -> float:
        pause = self._delays.get(method)
        if pause is None:
            return 0.0
        if pause.remaining is not None:
            pause.remaining -= 1
            if pause.remaining <= 0:
                del self._delays[method]
        return pause.seconds

    def _take_fault(self, method: str) -> _Fault | None:
        faults = self._faults.get(method)
        if not faults:
            return None
        fault = faults[0]
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.pop(0)
        return fault

    # -- /rtc stub --------------------------------------------------------

    def record_rtc(
        self, path: str, params: dict[str, str], authorization: str | None, websocket: bool
    ) -> RtcConnection:
        token = params.get("access_token") or _bearer(authorization)
        conn = RtcConnection(path, params, token, self._verify(token), websocket)
        with self._rtc_seen:
            self._rtc.append(conn)
            self._rtc_seen.notify_all()
        return conn

    def track_websocket(self, sock: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._websockets.add(sock)
            else:
                self._websockets.discard(sock)

    # -- state internals (called with the lock held) ------------------------

    def _new_room(self, name: str) -> api.Room:
        now = time.time()
        room = api.Room(
            sid=_new_id("RM_"),
            name=name,
            creation_time=int(now),
            creation_time_ms=int(now * 1000),
        )
        self._rooms[name] = room
        self._participants.setdefault(name, {})
        return room

    def _drop_room(self, name: str) -> None:
        self._rooms.pop(name, None)
        self._participants.pop(name, None)
        for dispatch_id in [d.id for d in self._agent_dispatches.values() if d.room == name]:
            del self._agent_dispatches[dispatch_id]

    def _room_view(self, room: api.Room) -> api.Room:
        view = _copy(room)
        people = self._participants.get(room.name, {}).values()
        view.num_participants = len(people)
        view.num_publishers = sum(1 for p in people if p.is_publisher)
        view.active_recording = any(
            e.room_name == room.name and e.status in _ACTIVE_EGRESS for e in self._egresses.values()
        )
        return view

    def _require_room(self, name: str) -> api.Room:
        room = self._rooms.get(name)
        if room is None:
            raise TwirpFailure("not_found", "requested room does not exist")
        return room

    def _require_participant(self, room: str, identity: str) -> api.ParticipantInfo:
        info = self._participants.get(room, {}).get(identity)
        if info is None:
            raise TwirpFailure("not_found", "participant does not exist")
        return info

    def _new_egress(self, room: api.Room) -> api.EgressInfo:
        info = api.EgressInfo(
            egress_id=_new_id("EG_"),
            room_id=room.sid,
            room_name=room.name,
            status=api.EGRESS_STARTING,
            updated_at=_now_ns(),
        )
        self._egresses[info.egress_id] = info
        return info

    @staticmethod
    def _set_status(info: api.EgressInfo, status: int) -> None:
        now = _now_ns()
        info.status = status
        info.updated_at = now
        if status == api.EGRESS_ACTIVE and not info.started_at:
            info.started_at = now
        if status not in _ACTIVE_EGRESS and not info.ended_at:
            info.started_at = info.started_at or now
            info.ended_at = now

    # -- RoomService ------------------------------------------------------

    def _create_room(self, req: api.CreateRoomRequest) -> api.Room:
        if not req.name:
            raise TwirpFailure("invalid_argument", "room name is required")
        room = self._rooms.get(req.name) or self._new_room(req.name)
        # As on the real server, set fields also apply to an existing room.
        if req.metadata:
            room.metadata = req.metadata
        if req.empty_timeout:
            room.empty_timeout = req.empty_timeout
        if req.departure_timeout:
            room.departure_timeout = req.departure_timeout
        if req.max_participants:
            room.max_participants = req.max_participants
        return self._room_view(room)

    def _list_rooms(self, req: api.ListRoomsRequest) -> api.ListRoomsResponse:
        names = set(req.names)
        rooms = [r for r in self._rooms.values() if not names or r.name in names]
        return api.ListRoomsResponse(rooms=[self._room_view(r) for r in rooms])

    def _delete_room(self, req: api.DeleteRoomRequest) -> api.DeleteRoomResponse:
        self._require_room(req.room)
        self._drop_room(req.room)
        self._notify_backend("room_deleted", req.room)
        return api.DeleteRoomResponse()

    def _list_participants(self, req: api.ListParticipantsRequest) -> api.ListParticipantsResponse:
        people = self._participants.get(req.room, {}).values()
        return api.ListParticipantsResponse(participants=[_copy(p) for p in people])

    def _get_participant(self, req: api.RoomParticipantIdentity) -> api.ParticipantInfo:
        return _copy(self._require_participant(req.room, req.identity))

    def _remove_participant(
        self, req: api.RoomParticipantIdentity
    ) -> api.RemoveParticipantResponse:
        self._require_participant(req.room, req.identity)
        del self._participants[req.room][req.identity]
        self._notify_backend("participant_removed", req.room, req.identity)
        return api.RemoveParticipantResponse()

    def _move_participant(self, req: api.MoveParticipantRequest) -> api.MoveParticipantResponse:
        info = self._require_participant(req.room, req.identity)
        if not req.destination_room or req.destination_room == req.room:
            raise TwirpFailure("invalid_argument", "destination room must be another room")
        if req.destination_room not in self._rooms:
            self._new_room(req.destination_room)
        del self._participants[req.room][req.identity]
        info.version += 1
        self._participants[req.destination_room][req.identity] = info
        self._notify_backend("participant_moved", req.room, req.identity, req.destination_room)
        return api.MoveParticipantResponse()

    def _mute_published_track(self, req: api.MuteRoomTrackRequest) -> api.MuteRoomTrackResponse:
        info = self._require_participant(req.room, req.identity)
        for track in info.tracks:
            if track.sid == req.track_sid:
                track.muted = req.muted
                self._notify_backend(
                    "track_muted", req.room, req.identity, req.track_sid, req.muted
                )
                return api.MuteRoomTrackResponse(track=_copy(track))
        raise TwirpFailure("not_found", "track does not exist")

    def _update_participant(self, req: api.UpdateParticipantRequest) -> api.ParticipantInfo:
        info = self._require_participant(req.room, req.identity)
        # Empty name/metadata mean "unchanged"; an attribute set to "" is deleted.
        if req.name:
            info.name = req.name
        if req.metadata:
            info.metadata = req.metadata
        for key, value in req.attributes.items():
            if value:
                info.attributes[key] = value
            elif key in info.attributes:
                del info.attributes[key]
        if req.HasField("permission"):
            info.permission.CopyFrom(req.permission)
        info.version += 1
        self._notify_backend("participant_updated", req.room, _copy(req))
        return _copy(info)

    def _update_room_metadata(self, req: api.UpdateRoomMetadataRequest) -> api.Room:
        room = self._require_room(req.room)
        room.metadata = req.metadata
        self._notify_backend("room_metadata_updated", req.room, req.metadata)
        return self._room_view(room)

    def _send_data(self, req: api.SendDataRequest) -> api.SendDataResponse:
        self._require_room(req.room)
        self._data.append(_copy(req))
        self._notify_backend("data_sent", _copy(req))
        return api.SendDataResponse()

    # -- Egress -----------------------------------------------------------

    def _start_room_composite_egress(self, req: api.RoomCompositeEgressRequest) -> api.EgressInfo:
        info = self._new_egress(self._require_room(req.room_name))
        info.room_composite.CopyFrom(req)
        info.source_type = api.EGRESS_SOURCE_TYPE_WEB
        return _copy(info)

    def _start_track_composite_egress(self, req: api.TrackCompositeEgressRequest) -> api.EgressInfo:
        info = self._new_egress(self._require_room(req.room_name))
        info.track_composite.CopyFrom(req)
        info.source_type = api.EGRESS_SOURCE_TYPE_SDK
        return _copy(info)

    def _stop_egress(self, req: api.StopEgressRequest) -> api.EgressInfo:
        info = self._egresses.get(req.egress_id)
        if info is None:
            raise TwirpFailure("not_found", "egress does not exist")
        if info.status not in (api.EGRESS_STARTING, api.EGRESS_ACTIVE):
            status = api.EgressStatus.Name(info.status)
            raise TwirpFailure(
                "failed_precondition", f"egress with status {status} cannot be stopped"
            )
        self._set_status(info, api.EGRESS_ENDING)
        return _copy(info)

    def _list_egress(self, req: api.ListEgressRequest) -> api.ListEgressResponse:
        items = [
            _copy(e)
            for e in self._egresses.values()
            if req.room_name in ("", e.room_name)
            and req.egress_id in ("", e.egress_id)
            and (not req.active or e.status in _ACTIVE_EGRESS)
        ]
        return api.ListEgressResponse(items=items)

    # -- SIP --------------------------------------------------------------

    def _create_dispatch_rule(
        self, req: api.CreateSIPDispatchRuleRequest
    ) -> api.SIPDispatchRuleInfo:
        if req.HasField("dispatch_rule"):
            info = _copy(req.dispatch_rule)
        else:  # the deprecated flat form
            info = api.SIPDispatchRuleInfo(
                trunk_ids=req.trunk_ids,
                hide_phone_number=req.hide_phone_number,
                inbound_numbers=req.inbound_numbers,
                name=req.name,
                metadata=req.metadata,
                attributes=req.attributes,
                room_preset=req.room_preset,
            )
            if req.HasField("rule"):
                info.rule.CopyFrom(req.rule)
            if req.HasField("room_config"):
                info.room_config.CopyFrom(req.room_config)
        if any(_rules_conflict(info, other) for other in self._dispatch_rules.values()):
            # As LiveKit's SIP validation: one call could match both rules.
            raise TwirpFailure("already_exists", "conflicting SIP dispatch rules")
        info.sip_dispatch_rule_id = _new_id("SDR_")
        info.created_at.GetCurrentTime()
        info.updated_at.CopyFrom(info.created_at)
        self._dispatch_rules[info.sip_dispatch_rule_id] = info
        return _copy(info)

    def _list_dispatch_rules(
        self, req: api.ListSIPDispatchRuleRequest
    ) -> api.ListSIPDispatchRuleResponse:
        ids, trunks = set(req.dispatch_rule_ids), set(req.trunk_ids)
        items = [
            _copy(r)
            for r in self._dispatch_rules.values()
            if (not ids or r.sip_dispatch_rule_id in ids)
            # a rule without trunk ids applies to every trunk
            and (not trunks or not r.trunk_ids or trunks & set(r.trunk_ids))
        ]
        return api.ListSIPDispatchRuleResponse(items=items)

    def _delete_dispatch_rule(
        self, req: api.DeleteSIPDispatchRuleRequest
    ) -> api.SIPDispatchRuleInfo:
        info = self._dispatch_rules.pop(req.sip_dispatch_rule_id, None)
        if info is None:
            raise TwirpFailure("not_found", "dispatch rule does not exist")
        return info

    def _create_inbound_trunk(
        self, req: api.CreateSIPInboundTrunkRequest
    ) -> api.SIPInboundTrunkInfo:
        info = _copy(req.trunk)
        info.sip_trunk_id = _new_id("ST_")
        info.created_at.GetCurrentTime()
        info.updated_at.CopyFrom(info.created_at)
        self._trunks[info.sip_trunk_id] = info
        return _copy(info)

    def _list_inbound_trunks(
        self, req: api.ListSIPInboundTrunkRequest
    ) -> api.ListSIPInboundTrunkResponse:
        ids, numbers = set(req.trunk_ids), set(req.numbers)
        items = [
            _copy(t)
            for t in self._trunks.values()
            if (not ids or t.sip_trunk_id in ids) and (not numbers or numbers & set(t.numbers))
        ]
        return api.ListSIPInboundTrunkResponse(items=items)

    def _delete_trunk(self, req: api.DeleteSIPTrunkRequest) -> api.SIPTrunkInfo:
        info = self._trunks.pop(req.sip_trunk_id, None)
        if info is None:
            raise TwirpFailure("not_found", "trunk does not exist")
        return api.SIPTrunkInfo(
            sip_trunk_id=info.sip_trunk_id,
            kind=api.SIPTrunkInfo.TrunkKind.TRUNK_INBOUND,
            name=info.name,
            metadata=info.metadata,
            inbound_numbers=info.numbers,
        )

    def _create_sip_participant(
        self, req: api.CreateSIPParticipantRequest
    ) -> api.SIPParticipantInfo:
        if not req.room_name:
            raise TwirpFailure("invalid_argument", "room name is required")
        identity = req.participant_identity or f"sip_{req.sip_call_to}"
        info = self.add_participant(
            req.room_name,
            identity,
            req.participant_name,
            metadata=req.participant_metadata,
            attributes=dict(req.participant_attributes),
            kind=api.ParticipantInfo.Kind.SIP,
        )
        return api.SIPParticipantInfo(
            participant_id=info.sid,
            participant_identity=identity,
            room_name=req.room_name,
            sip_call_id=_new_id("SCL_"),
        )

    # -- AgentDispatchService ----------------------------------------------

    def _create_dispatch(self, req: api.CreateAgentDispatchRequest) -> api.AgentDispatch:
        dispatch = api.AgentDispatch(
            id=_new_id("AD_"),
            agent_name=req.agent_name,
            room=req.room,
            metadata=req.metadata,
            state=api.AgentDispatchState(created_at=_now_ns()),
        )
        self._agent_dispatches[dispatch.id] = dispatch
        return _copy(dispatch)

    def _list_dispatch(self, req: api.ListAgentDispatchRequest) -> api.ListAgentDispatchResponse:
        items = [
            _copy(d)
            for d in self._agent_dispatches.values()
            if d.room == req.room and req.dispatch_id in ("", d.id)
        ]
        return api.ListAgentDispatchResponse(agent_dispatches=items)

    def _delete_dispatch(self, req: api.DeleteAgentDispatchRequest) -> api.AgentDispatch:
        dispatch = self._agent_dispatches.get(req.dispatch_id)
        if dispatch is None or dispatch.room != req.room:
            raise TwirpFailure("not_found", "dispatch does not exist")
        del self._agent_dispatches[req.dispatch_id]
        dispatch.state.deleted_at = _now_ns()
        return dispatch


def _rules_conflict(rule: api.SIPDispatchRuleInfo, other: api.SIPDispatchRuleInfo) -> bool:
    """Two rules a call could both match: the same PIN (direct rules) on trunks in
    common (none listed: every trunk) and numbers in common (none: every number)."""
    kinds = {rule.rule.WhichOneof("rule"), other.rule.WhichOneof("rule")}
    if kinds != {"dispatch_rule_direct"}:
        return False
    if rule.rule.dispatch_rule_direct.pin != other.rule.dispatch_rule_direct.pin:
        return False

    def overlap(a, b) -> bool:
        return not a or not b or bool(set(a) & set(b))

    return overlap(rule.trunk_ids, other.trunk_ids) and overlap(
        rule.inbound_numbers, other.inbound_numbers
    )


def _method_name(method: str) -> str:
    # Accept "ListRooms" as well as "RoomService/ListRooms".
    return method.rsplit("/", 1)[-1]


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _route_for(path: str) -> tuple[str, str, _Route]:
    parts = urlsplit(path).path.split("/")
    if len(parts) == 4 and parts[1] == "twirp" and parts[2].startswith("livekit."):
        service, method = parts[2].removeprefix("livekit."), parts[3]
        route = _ROUTES.get((service, method))
        if route is not None:
            return service, method, route
    raise TwirpFailure("bad_route", f"no handler for path {urlsplit(path).path!r}")


def _track(spec: str | api.TrackInfo) -> api.TrackInfo:
    if isinstance(spec, api.TrackInfo):
        track = _copy(spec)
    else:
        track_type, source = _TRACK_SOURCES[spec]
        track = api.TrackInfo(name=spec, type=track_type, source=source)
    track.sid = track.sid or _new_id("TR_")
    return track


def _shutdown_socket(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


# --------------------------------------------------------------------------
# HTTP plumbing


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeLiveKit) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or hang up are part of the tests


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.0"  # one request per connection keeps restarts clean

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        status, content_type, payload = self.server.fake.handle_twirp(
            self.path,
            self.headers.get("Content-Type", ""),
            body,
            self.headers.get("Authorization"),
        )
        self._reply(status, content_type, payload)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/":
            self._reply(200, "text/plain", b"OK")  # the real server's health check
        elif path.startswith("/rtc"):
            self._rtc(path)
        elif path.startswith("/twirp/"):
            failure = TwirpFailure("bad_route", "unsupported method GET (only POST is allowed)")
            self._reply(failure.status, "application/json", failure.body())
        else:
            self._reply(404, "text/plain", b"404 page not found")

    def _rtc(self, path: str) -> None:
        params = dict(parse_qsl(urlsplit(self.path).query))
        upgrade = self.headers.get("Upgrade", "").lower() == "websocket"
        key = self.headers.get("Sec-WebSocket-Key")
        conn = self.server.fake.record_rtc(
            path, params, self.headers.get("Authorization"), upgrade and bool(key)
        )
        backend = self.server.fake.rtc_backend
        if backend is not None:
            self._rtc_with_backend(backend, path, conn, key)
        elif path.rstrip("/").endswith("/validate"):
            if conn.claims is None:
                self._reply(401, "text/plain", b"invalid token")
            else:
                self._reply(200, "text/plain", b"success")
        elif conn.websocket:
            self._accept_websocket(key or "")
        else:
            self._reply(400, "text/plain", b"Bad Request")

    def _rtc_with_backend(
        self, backend: Any, path: str, conn: RtcConnection, key: str | None
    ) -> None:
        """LiveKit's answers: a bad token is refused with 401 (on the WebSocket
        upgrade and on validate); only the v1 (single peer connection) path is served."""
        admission = backend.check(conn.token)
        status = getattr(admission, "status", None)
        if status is not None:
            self._reply(status, "text/plain", admission.message.encode())
        elif path.rstrip("/") in ("/rtc/validate", "/rtc/v1/validate"):
            self._reply(200, "text/plain", b"success")
        elif path.rstrip("/") != "/rtc/v1":
            self._reply(404, "text/plain", b"404 page not found")
        elif conn.websocket:
            self._accept_websocket(key or "", backend=backend, admission=admission, conn=conn)
        else:
            self._reply(400, "text/plain", b"Bad Request")

    def _accept_websocket(
        self,
        key: str,
        *,
        backend: Any = None,
        admission: Any = None,
        conn: RtcConnection | None = None,
    ) -> None:
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        self.wfile.write(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        self.wfile.flush()
        self.close_connection = True
        fake = self.server.fake
        fake.track_websocket(self.connection, True)
        try:
            if backend is not None and conn is not None:
                backend.serve(self.connection, self.rfile, admission, conn.params)
            else:
                self._hold_websocket()
        except OSError:
            pass
        finally:
            fake.track_websocket(self.connection, False)

    def _hold_websocket(self) -> None:
        """Ignore data frames, answer pings, echo a close, until the peer hangs up."""
        while (frame := _read_frame(self.rfile)) is not None:
            opcode, payload = frame
            if opcode == 0x8:
                self.wfile.write(_frame(0x8, payload[:2]))
                return
            if opcode == 0x9:
                self.wfile.write(_frame(0xA, payload))

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (e.g. its timeout elapsed during a delay)


def _read_frame(stream: Any) -> tuple[int, bytes] | None:
    """One client WebSocket frame as (opcode, unmasked payload); None at EOF."""
    head = stream.read(2)
    if len(head) < 2:
        return None
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    if length == 126:
        length = int.from_bytes(stream.read(2), "big")
    elif length == 127:
        length = int.from_bytes(stream.read(8), "big")
    mask = stream.read(4) if head[1] & 0x80 else b"\0\0\0\0"
    payload = stream.read(length)
    if len(payload) < length:
        return None
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _frame(opcode: int, payload: bytes) -> bytes:
    """An unmasked server frame with a short (control-sized) payload."""
    return bytes([0x80 | opcode, len(payload)]) + payload

"""The SFU itself: an asyncio loop on its own thread, fed by FakeLiveKit's ``/rtc/v1``
WebSocket handler, and told about the fake's server-side actions (Twirp calls)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime
import gzip
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, BinaryIO

from google.protobuf.message import DecodeError
from livekit import api
from livekit.protocol import models, rtc

from tests.servers.sfu.room import RoomState, new_room_info
from tests.servers.sfu.session import Session
from tests.servers.sfu.tokens import Admission, Refusal, admit
from tests.servers.sfu.websocket import WebSocket

if TYPE_CHECKING:
    import socket

    from tests.servers.livekit_fake import FakeLiveKit

log = logging.getLogger(__name__)

SERVER_VERSION = "1.9.0"
SERVER_PROTOCOL = 16  # what LiveKit server 1.9 reports in ServerInfo
TOKEN_TTL = datetime.timedelta(hours=6)


class LoopbackSFU:
    """Serves livekit-client's signalling and media for one FakeLiveKit."""

    def __init__(self, fake: FakeLiveKit) -> None:
        self.fake = fake
        self.server_info = models.ServerInfo(
            edition=models.ServerInfo.Edition.Standard,
            version=SERVER_VERSION,
            protocol=SERVER_PROTOCOL,
            region="loopback",
            node_id="ND_loopback",
        )
        self._verifier = api.TokenVerifier(fake.api_key, fake.api_secret)
        self._rooms: dict[str, RoomState] = {}
        self._tasks: set[asyncio.Future] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="loopback-sfu", daemon=True
        )

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> LoopbackSFU:
        """Run the event loop; ``attach()`` then serves the fake's ``/rtc/v1``."""
        self._thread.start()
        return self

    def attach(self) -> None:
        self.fake.attach_rtc_backend(self)

    def detach(self) -> None:
        """The fake's ``/rtc`` is its plain stub again; everyone is disconnected."""
        self.fake.detach_rtc_backend(self)
        self._run(self._close_all(None)).result(timeout=10)

    def stop(self) -> None:
        self.detach()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackSFU:
        self.start().attach()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _soon(self, callback: Callable[..., Any], *args: Any) -> None:
        self._loop.call_soon_threadsafe(callback, *args)

    # -- called from the fake's HTTP handler threads ----------------------------

    def check(self, token: str | None) -> Admission | Refusal:
        return admit(self._verifier, token)

    def serve(
        self,
        sock: socket.socket,
        rfile: BinaryIO,
        admission: Admission,
        params: dict[str, str],
    ) -> None:
        """Run one upgraded ``/rtc/v1`` connection until it closes (blocks)."""
        websocket = WebSocket(sock, rfile)
        join_request = _join_request(params.get("join_request", ""))
        session = self._run(self._join(admission, websocket, join_request)).result(timeout=30)
        websocket.run(lambda data: self._soon(session.received, data))
        self._soon(session.received, None)

    # -- hooks for the fake's server API (called with its lock held: only schedule) --

    def participant_removed(self, room: str, identity: str) -> None:
        self._soon(self._close_one, room, identity, models.DisconnectReason.PARTICIPANT_REMOVED)

    def room_deleted(self, room: str) -> None:
        self._soon(self._close_room, room, models.DisconnectReason.ROOM_DELETED)

    def track_muted(self, room: str, identity: str, track_sid: str, muted: bool) -> None:
        self._soon(self._mute, room, identity, track_sid, muted)

    def participant_updated(self, room: str, request: api.UpdateParticipantRequest) -> None:
        self._soon(self._update, room, request)

    def participant_moved(self, room: str, identity: str, destination: str) -> None:
        self._soon(self._move, room, identity, destination)

    def data_sent(self, request: api.SendDataRequest) -> None:
        self._soon(self._deliver, request)

    def room_metadata_updated(self, room: str, metadata: str) -> None:
        self._soon(self._set_room_metadata, room, metadata)

    def reset(self) -> None:
        self._soon(lambda: self._spawn(self._close_all(None)))

    # -- on the loop ----------------------------------------------------------

    async def _join(
        self, admission: Admission, websocket: WebSocket, join_request: rtc.JoinRequest
    ) -> Session:
        room = self._room_state(admission.room)
        previous = room.sessions.get(admission.identity)
        if previous is not None:
            await previous.close(models.DisconnectReason.DUPLICATE_IDENTITY)
        session = Session(self, room, admission, websocket, join_request)
        room.sessions[session.identity] = session
        await session.start()
        return session

    def _room_state(self, name: str) -> RoomState:
        room = self._rooms.get(name)
        if room is None:
            known = self.fake.room(name) or self.fake.add_room(name)
            room = self._rooms[name] = RoomState(new_room_info(known.name, known.sid))
            room.info.metadata = known.metadata
        return room

    def store_participant(self, session: Session) -> None:
        if not session.closed:
            self.fake.put_participant(session.room.name, session.info)

    def forget(self, session: Session) -> None:
        room = session.room
        if room.sessions.get(session.identity) is session:
            del room.sessions[session.identity]
            self.fake.remove_participant(room.name, session.identity)
        if not room.sessions and self._rooms.get(room.name) is room:
            del self._rooms[room.name]
            room.close()

    def _session(self, room: str, identity: str) -> Session | None:
        state = self._rooms.get(room)
        return state.sessions.get(identity) if state else None

    def _close_one(self, room: str, identity: str, reason: int) -> None:
        session = self._session(room, identity)
        if session is not None:
            self._spawn(session.close(reason))

    def _close_room(self, room: str, reason: int) -> None:
        state = self._rooms.get(room)
        for session in list(state.sessions.values()) if state else []:
            self._spawn(session.close(reason))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close_all(self, reason: int | None) -> None:
        sessions = [s for room in self._rooms.values() for s in room.sessions.values()]
        await asyncio.gather(*(s.close(reason) for s in sessions), return_exceptions=True)

    def _move(self, room: str, identity: str, destination: str) -> None:
        session = self._session(room, identity)
        if session is None:
            return
        source = session.room
        session.move_to(self._room_state(destination), self._token_for(session, destination))
        if not source.sessions and self._rooms.get(source.name) is source:
            del self._rooms[source.name]
            source.close()

    def _token_for(self, session: Session, room: str) -> str:
        """A token like the participant's, for ``room`` (what LiveKit sends on a move)."""
        grants = dataclasses.replace(session.claims.video, room=room, destination_room="")
        return (
            api.AccessToken(self.fake.api_key, self.fake.api_secret)
            .with_identity(session.identity)
            .with_name(session.info.name)
            .with_metadata(session.info.metadata)
            .with_attributes(dict(session.info.attributes))
            .with_grants(grants)
            .with_ttl(TOKEN_TTL)
            .to_jwt()
        )

    def _mute(self, room: str, identity: str, track_sid: str, muted: bool) -> None:
        session = self._session(room, identity)
        if session is not None:
            session.send(mute=rtc.MuteTrackRequest(sid=track_sid, muted=muted))
            session.set_muted(track_sid, muted)

    def _update(self, room: str, request: api.UpdateParticipantRequest) -> None:
        session = self._session(room, request.identity)
        if session is not None:
            permission = request.permission if request.HasField("permission") else None
            session.apply_update(
                request.name, request.metadata, dict(request.attributes), permission
            )

    def _set_room_metadata(self, room: str, metadata: str) -> None:
        """UpdateRoomMetadata reaches everyone in the room (livekit-client then fires
        RoomMetadataChanged)."""
        state = self._rooms.get(room)
        if state is None:
            return
        state.info.metadata = metadata
        for session in state.sessions.values():
            if not session.closed:
                session.send(room_update=rtc.RoomUpdate(room=state.room_info()))

    def _deliver(self, request: api.SendDataRequest) -> None:
        state = self._rooms.get(request.room)
        if state is None:
            return
        destinations = set(request.destination_identities)
        packet = models.DataPacket(
            kind=request.kind,
            destination_identities=request.destination_identities,
            user=models.UserPacket(
                payload=request.data,
                topic=request.topic,
                destination_identities=request.destination_identities,
            ),
        )
        for session in state.sessions.values():
            if not destinations or session.identity in destinations:
                session.deliver(packet)


def _join_request(param: str) -> rtc.JoinRequest:
    """The ``join_request`` query parameter: URL-safe base64 WrappedJoinRequest, maybe gzipped."""
    if not param:
        return rtc.JoinRequest()
    try:
        wrapped = rtc.WrappedJoinRequest.FromString(
            base64.urlsafe_b64decode(param + "=" * (-len(param) % 4))
        )
        raw = wrapped.join_request
        if wrapped.compression == rtc.WrappedJoinRequest.Compression.GZIP:
            raw = gzip.decompress(raw)
        return rtc.JoinRequest.FromString(raw)
    except (DecodeError, ValueError, OSError):
        log.warning("unreadable join_request parameter", exc_info=True)
        return rtc.JoinRequest()

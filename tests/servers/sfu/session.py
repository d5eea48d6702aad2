"""One browser's signalling session: LiveKit's SignalRequest / SignalResponse protocol
(protocol 17, the ``/rtc/v1`` path) over the WebSocket, in binary protobuf.

Every method runs on the SFU's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING

from livekit.protocol import models, rtc

from tests.servers.sfu.media import MediaPeer, SourceTrack
from tests.servers.sfu.tokens import Admission, permission_from

if TYPE_CHECKING:
    from aiortc.mediastreams import MediaStreamTrack

    from tests.servers.sfu.room import RoomState
    from tests.servers.sfu.server import LoopbackSFU
    from tests.servers.sfu.websocket import WebSocket

log = logging.getLogger(__name__)

PING_INTERVAL = 5  # seconds, as LiveKit's default
PING_TIMEOUT = 15
_KINDS = {"audio": models.TrackType.AUDIO, "video": models.TrackType.VIDEO}
_CHANNEL_FOR_KIND = {
    models.DataPacket.Kind.RELIABLE: "_reliable",
    models.DataPacket.Kind.LOSSY: "_lossy",
}


def new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:12]


class Session:
    def __init__(
        self,
        sfu: LoopbackSFU,
        room: RoomState,
        admission: Admission,
        websocket: WebSocket,
        join_request: rtc.JoinRequest,
    ) -> None:
        self.sfu = sfu
        self.room = room
        self.claims = admission.claims
        self.websocket = websocket
        self.join_request = join_request
        self.auto_subscribe = join_request.connection_settings.auto_subscribe
        now = time.time()
        self.info = models.ParticipantInfo(
            sid=new_id("PA_"),
            identity=admission.identity,
            name=admission.name,
            metadata=admission.metadata,
            attributes=admission.attributes,
            state=models.ParticipantInfo.State.JOINED,
            joined_at=int(now),
            joined_at_ms=int(now * 1000),
            version=1,
            kind=models.ParticipantInfo.Kind.STANDARD,
            permission=permission_from(admission.claims),
        )
        self.peer = MediaPeer(
            on_track=self._media_arrived, on_data=self._data_received, on_connected=self._connected
        )
        self._pending_tracks: dict[str, models.TrackInfo] = {}  # by cid, until media arrives
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._worker: asyncio.Task | None = None
        self.closed = False

    @property
    def identity(self) -> str:
        return self.info.identity

    # -- lifecycle ----------------------------------------------------------

    async def start(self) -> None:
        """Send the JoinResponse (and the answer to an offer sent with the join)."""
        others = [_copy(s.info) for s in self.room.others(self)]
        self.send(
            join=rtc.JoinResponse(
                room=self.room.room_info(),
                participant=_copy(self.info),
                other_participants=others,
                server_version=self.sfu.server_info.version,
                server_info=self.sfu.server_info,
                subscriber_primary=False,
                ping_interval=PING_INTERVAL,
                ping_timeout=PING_TIMEOUT,
            )
        )
        if self.auto_subscribe and self.info.permission.can_subscribe:
            for source in self.room.sources.values():
                self.peer.forward(source)
        self.sfu.store_participant(self)
        for other in self.room.others(self):
            other.send_update(self.info)
        self._worker = asyncio.ensure_future(self._work())
        # the offer sent with the join is answered first, before any later request
        offer = self.join_request.publisher_offer
        if offer.sdp:
            self._inbox.put_nowait(rtc.SignalRequest(offer=offer).SerializeToString())

    def received(self, data: bytes | None) -> None:
        """A message from the WebSocket (None: it closed), in arrival order."""
        self._inbox.put_nowait(data)

    async def _work(self) -> None:
        while (data := await self._inbox.get()) is not None:
            try:
                await self._handle(rtc.SignalRequest.FromString(data))
            except Exception:
                log.exception("signal request failed for %s", self.identity)
        await self.close()

    async def close(self, reason: int | None = None) -> None:
        """End the session; with a ``reason``, tell the browser to leave first."""
        if self.closed:
            return
        self.closed = True
        if reason is not None:
            self.send(
                leave=rtc.LeaveRequest(
                    can_reconnect=False, reason=reason, action=rtc.LeaveRequest.Action.DISCONNECT
                )
            )
        self.websocket.close()
        self.sfu.forget(self)
        for track_sid in [t.sid for t in self.info.tracks]:
            self.room.unpublish(track_sid)
        self.info.state = models.ParticipantInfo.State.DISCONNECTED
        self.info.version += 1
        for other in self.room.others(self):
            other.send_update(self.info)
        self._inbox.put_nowait(None)
        await self.peer.close()

    # -- signalling ---------------------------------------------------------

    def send(self, **message) -> None:
        self.websocket.send_binary(rtc.SignalResponse(**message).SerializeToString())

    def send_speakers(self, speakers: list[models.SpeakerInfo]) -> None:
        if not self.closed:
            self.send(speakers_changed=rtc.SpeakersChanged(speakers=speakers))

    def send_update(self, *infos: models.ParticipantInfo) -> None:
        if not self.closed:
            self.send(update=rtc.ParticipantUpdate(participants=[_copy(i) for i in infos]))

    async def _handle(self, request: rtc.SignalRequest) -> None:
        kind = request.WhichOneof("message")
        log.debug("%s sent %s", self.identity, kind)
        if kind == "offer":
            await self._answer(request.offer)
        elif kind == "trickle":
            await self.peer.add_candidate(request.trickle.candidateInit)
        elif kind == "add_track":
            self._add_track(request.add_track)
        elif kind == "mute":
            self.set_muted(request.mute.sid, request.mute.muted)
        elif kind == "leave":
            await self.close()
        elif kind == "ping":
            self.send(pong=int(time.time() * 1000))
        elif kind == "ping_req":
            self.send(
                pong_resp=rtc.Pong(
                    last_ping_timestamp=request.ping_req.timestamp,
                    timestamp=int(time.time() * 1000),
                )
            )
        elif kind == "update_metadata":
            self._update_own_metadata(request.update_metadata)
        # subscription, track_setting, update_layers, sync_state...: nothing to adapt here

    async def _answer(self, offer: rtc.SessionDescription) -> None:
        sdp, mid_to_track_id, stopped = await self.peer.answer(offer.sdp)
        self.send(
            answer=rtc.SessionDescription(
                type="answer", sdp=sdp, id=offer.id, mid_to_track_id=mid_to_track_id
            )
        )
        for track_sid in stopped:
            self._unpublish(track_sid)
        self._request_sections()

    def _unpublish(self, track_sid: str) -> None:
        kept = [t for t in self.info.tracks if t.sid != track_sid]
        if len(kept) == len(self.info.tracks):
            return
        del self.info.tracks[:]
        self.info.tracks.extend(kept)
        self.info.is_publisher = bool(kept)
        self.room.unpublish(track_sid)
        self.send(track_unpublished=rtc.TrackUnpublishedResponse(track_sid=track_sid))
        self._changed()

    def _request_sections(self) -> None:
        # The browser offers and this side only answers: to start sending a track, ask
        # for an offer (with more recvonly sections when the free ones are too few).
        if not self.peer.has_tracks_to_forward():
            return
        audios, videos = self.peer.missing_sections()
        if not self.closed:
            self.send(
                media_sections_requirement=rtc.MediaSectionsRequirement(
                    num_audios=audios, num_videos=videos
                )
            )

    def _add_track(self, request: rtc.AddTrackRequest) -> None:
        track = models.TrackInfo(
            sid=new_id("TR_"),
            type=request.type,
            name=request.name,
            muted=request.muted,
            width=request.width,
            height=request.height,
            source=request.source,
            disable_dtx=request.disable_dtx,
            stereo=request.stereo,
            stream=request.stream,
        )
        self._pending_tracks[request.cid] = track
        self.send(track_published=rtc.TrackPublishedResponse(cid=request.cid, track=track))

    def _media_arrived(self, media: MediaStreamTrack, mid: str | None) -> None:
        track = self._pending_tracks.pop(media.id, None)
        if track is None:  # the cid is not the track id: take the oldest of that kind
            cid = next(
                (c for c, t in self._pending_tracks.items() if t.type == _KINDS[media.kind]), None
            )
            track = self._pending_tracks.pop(cid) if cid is not None else None
        if track is None:
            return
        track.mid = mid or ""
        if mid:
            self.peer.note_published(mid, track.sid)
        self.info.tracks.append(track)
        self.info.is_publisher = True
        self._changed()
        source = SourceTrack(self.info.sid, track.sid, media.kind, media, muted=track.muted)
        source.start_draining()
        self.room.publish(source, self)

    def move_to(self, target: RoomState, token: str) -> None:
        """MoveParticipant: leave this room for ``target``, with the tracks published."""
        old = self.room
        old.sessions.pop(self.identity, None)
        moving = [old.withdraw(t.sid) for t in self.info.tracks]
        for track_sid in list(old.sources):
            self.unsubscribe(track_sid)
        self.info.version += 1
        gone = _copy(self.info)
        gone.state = models.ParticipantInfo.State.DISCONNECTED
        for other in old.sessions.values():
            other.send_update(gone)
        self.room = target
        target.sessions[self.identity] = self
        self.send(
            room_moved=rtc.RoomMovedResponse(
                room=target.room_info(),
                token=token,
                participant=_copy(self.info),
                other_participants=[_copy(s.info) for s in target.others(self)],
            )
        )
        for other in target.others(self):
            other.send_update(self.info)
        for source in moving:
            if source is not None:
                target.publish(source, self)
        for source in list(target.sources.values()):
            if source.participant_sid != self.info.sid:
                self.subscribe(source)
        self.sfu.store_participant(self)

    def subscribe(self, source: SourceTrack) -> None:
        if self.closed or not (self.auto_subscribe and self.info.permission.can_subscribe):
            return
        self.peer.forward(source)
        self._request_sections()

    def unsubscribe(self, track_sid: str) -> None:
        self.peer.stop_forwarding(track_sid)

    def set_muted(self, track_sid: str, muted: bool) -> None:
        source = self.room.sources.get(track_sid)
        if source is not None:
            source.muted = muted
        for track in self.info.tracks:
            if track.sid == track_sid and track.muted != muted:
                track.muted = muted
                self._changed()

    def _update_own_metadata(self, request: rtc.UpdateParticipantMetadata) -> None:
        if not self.info.permission.can_update_metadata:
            return
        self.apply_update(request.name, request.metadata, dict(request.attributes), None)

    def apply_update(
        self,
        name: str,
        metadata: str,
        attributes: dict[str, str],
        permission: models.ParticipantPermission | None,
    ) -> None:
        """A name/metadata/attributes/permission change, sent to everyone in the room."""
        if name:
            self.info.name = name
        if metadata:
            self.info.metadata = metadata
        for key, value in attributes.items():
            if value:
                self.info.attributes[key] = value
            else:
                self.info.attributes.pop(key, None)
        if permission is not None:
            self.info.permission.CopyFrom(permission)
        self._changed(include_self=True)

    def _changed(self, *, include_self: bool = False) -> None:
        self.info.version += 1
        self.sfu.store_participant(self)
        for session in self.room.sessions.values():
            if include_self or session is not self:
                session.send_update(self.info)

    def _connected(self) -> None:
        if self.info.state == models.ParticipantInfo.State.JOINED:
            self.info.state = models.ParticipantInfo.State.ACTIVE
            self._changed(include_self=True)

    # -- data packets -------------------------------------------------------

    def _data_received(self, label: str, payload: bytes) -> None:
        if not self.info.permission.can_publish_data:
            return
        try:
            packet = models.DataPacket.FromString(payload)
        except Exception:
            return
        packet.participant_identity = self.identity
        packet.participant_sid = self.info.sid
        if packet.WhichOneof("value") == "user":
            packet.user.participant_identity = self.identity
            packet.user.participant_sid = self.info.sid
        destinations = set(packet.destination_identities) or set(packet.user.destination_identities)
        data = packet.SerializeToString()
        for other in self.room.others(self):
            if not destinations or other.identity in destinations:
                other.peer.send_data(label, data)

    def deliver(self, packet: models.DataPacket) -> None:
        """A packet from the server API (SendData)."""
        label = _CHANNEL_FOR_KIND.get(packet.kind, "_reliable")
        self.peer.send_data(label, packet.SerializeToString())


def _copy(info):
    clone = type(info)()
    clone.CopyFrom(info)
    return clone

"""One participant's peer connection, with aiortc.

livekit-client 2.23 joins in single peer connection mode: the browser's one peer
connection publishes its tracks, and receives the others' tracks on the ``recvonly``
sections it offers (three audio and three video in its first offer, more when the
server asks for them with ``media_sections_requirement``). The browser always offers;
this side always answers, binding the tracks it must forward to free ``recvonly``
sections and naming them in the answer's ``mid_to_track_id``.

Remote tracks are fanned out with aiortc's MediaRelay (decoded once, encoded per
subscriber).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import aioice.ice
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCRtpHeaderExtensionParameters,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.codecs import HEADER_EXTENSIONS
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcdtlstransport import RtpRouter
from aiortc.sdp import candidate_from_sdp

from tests.servers.sfu.speakers import frame_level

log = logging.getLogger(__name__)


def _loopback_only(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []


# The SFU offers only a loopback ICE candidate: media never leaves 127.0.0.1.
aioice.ice.get_host_addresses = _loopback_only

# Every 5 s aioice asks the browser for consent to keep sending, and gives each answer
# 0.5 s. With three people's media on two loaded cores, this event loop can lag longer
# than that for half a minute; after six unanswered checks aioice closed the connection,
# the browser tried to resume, and its chat and reactions were lost meanwhile. On
# loopback nothing else withdraws consent: allow ten minutes of late answers.
aioice.ice.CONSENT_FAILURES = 120

# livekit-client publishes video with simulcast; Chromium refuses an offer with
# simulcast unless the RID header extensions were accepted earlier in the session.
# The answers carry no simulcast, so the browser then sends one layer.
for _uri in (
    "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
):
    if not any(ext.uri == _uri for ext in HEADER_EXTENSIONS["video"]):
        HEADER_EXTENSIONS["video"].append(
            RTCRtpHeaderExtensionParameters(id=len(HEADER_EXTENSIONS["video"]) + 10, uri=_uri)
        )


# A simulcast offer names no SSRCs, and aiortc routes a packet of an unknown SSRC only by
# its payload type, which two video sections share (a camera and a shared screen): route
# it by its MID header extension first, as the BUNDLE specification says.
_route_by_payload_type = RtpRouter.route_rtp


def _route_by_mid(self: RtpRouter, packet):
    if packet.ssrc not in self.ssrc_table and packet.extensions.mid in self.mid_table:
        receiver = self.mid_table[packet.extensions.mid]
        self.ssrc_table[packet.ssrc] = receiver
        return receiver
    return _route_by_payload_type(self, packet)


RtpRouter.route_rtp = _route_by_mid


@dataclass
class SourceTrack:
    """A published track's media, shared by every subscriber through one relay."""

    participant_sid: str
    track_sid: str
    kind: str
    track: MediaStreamTrack
    relay: MediaRelay = field(default_factory=MediaRelay)
    drain: asyncio.Task | None = None
    peak: float = 0.0  # loudest audio frame since take_level(), 0..1
    muted: bool = False

    def start_draining(self) -> None:
        # A remote track buffers every decoded frame until read: keep one reader always
        # (it also measures the microphone's loudness, for the active speakers).
        self.drain = asyncio.ensure_future(
            _drain(self.relay.subscribe(self.track, buffered=False), self._measure)
        )

    def _measure(self, frame: object) -> None:
        if self.kind == "audio" and not self.muted:
            self.peak = max(self.peak, frame_level(frame))

    def take_level(self) -> float:
        level, self.peak = self.peak, 0.0
        return 0.0 if self.muted else level

    def subscribe(self) -> MediaStreamTrack:
        return self.relay.subscribe(self.track, buffered=False)

    def stop(self) -> None:
        if self.drain is not None:
            self.drain.cancel()


async def _drain(track: MediaStreamTrack, on_frame: Callable[[object], None]) -> None:
    try:
        while True:
            on_frame(await track.recv())
    except (MediaStreamError, asyncio.CancelledError):
        pass


class MediaPeer:
    """The server end of one browser's peer connection."""

    def __init__(
        self,
        *,
        on_track: Callable[[MediaStreamTrack, str | None], None],
        on_data: Callable[[str, bytes], None],
        on_connected: Callable[[], None],
    ) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._on_track = on_track
        self._on_data = on_data
        self._on_connected = on_connected
        self._lock = asyncio.Lock()
        self._channels: dict[str, RTCDataChannel] = {}
        self._to_forward: list[SourceTrack] = []
        self._forwarded: dict[str, str] = {}  # mid -> track sid
        self._sending: dict[str, RTCRtpTransceiver] = {}  # track sid -> transceiver
        self._published: dict[str, str] = {}  # mid -> sid of the browser's own track
        self.pc.on("track", self._track_arrived)
        self.pc.on("datachannel", self._channel_opened)
        self.pc.on("connectionstatechange", self._state_changed)

    # -- negotiation --------------------------------------------------------

    async def answer(self, sdp: str) -> tuple[str, dict[str, str], list[str]]:
        """Answer the browser's offer: ``(answer sdp, mid -> forwarded track sid, sids
        of the published tracks the browser stopped sending)``."""
        async with self._lock:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            stopped = self._stopped_publications()
            self._bind_waiting_tracks()
            answer = await self.pc.createAnswer()
            await self.pc.setLocalDescription(answer)
            await self._start_senders()
            return self.pc.localDescription.sdp, dict(self._forwarded), stopped

    async def _start_senders(self) -> None:
        # aiortc can leave a section of a later BUNDLE on a transport of its own that
        # never connects, and its connect step then skips the section's sender: put
        # such sections on the connected transport and start their senders here.
        connected = next(
            (
                t.receiver.transport
                for t in self.pc.getTransceivers()
                if t.receiver.transport.state == "connected"
            ),
            None,
        )
        if connected is None:
            return
        for transceiver in self._sending.values():
            sender = transceiver.sender
            if sender.transport is not connected:
                transceiver.receiver.setTransport(connected)
                sender.setTransport(connected)
            if not getattr(sender, "_RTCRtpSender__started", True) and (
                transceiver.currentDirection in ("sendonly", "sendrecv")
            ):
                await sender.send(self.pc._RTCPeerConnection__localRtp(transceiver))

    def note_published(self, mid: str, track_sid: str) -> None:
        self._published[mid] = track_sid

    def _stopped_publications(self) -> list[str]:
        # Unpublishing removes the sender: its section no longer sends to this side.
        receiving = {
            t.mid
            for t in self.pc.getTransceivers()
            if getattr(t, "_offerDirection", None) in ("recvonly", "sendrecv")
        }
        stopped = [mid for mid in self._published if mid not in receiving]
        return [self._published.pop(mid) for mid in stopped]

    def forward(self, source: SourceTrack) -> None:
        """Send ``source`` to the browser from its next offer on."""
        if source.track_sid not in self._sending and source not in self._to_forward:
            self._to_forward.append(source)

    def stop_forwarding(self, track_sid: str) -> None:
        self._to_forward = [s for s in self._to_forward if s.track_sid != track_sid]
        transceiver = self._sending.pop(track_sid, None)
        if transceiver is not None:
            transceiver.sender.replaceTrack(None)
            transceiver.direction = "inactive"
            self._forwarded.pop(transceiver.mid, None)

    def has_tracks_to_forward(self) -> bool:
        return bool(self._to_forward)

    def missing_sections(self) -> tuple[int, int]:
        """Audio and video tracks waiting for a free ``recvonly`` section."""
        free = {"audio": 0, "video": 0}
        for transceiver in self._free_sections():
            free[transceiver.kind] += 1
        need = {"audio": 0, "video": 0}
        for source in self._to_forward:
            need[source.kind] += 1
        return max(0, need["audio"] - free["audio"]), max(0, need["video"] - free["video"])

    def _free_sections(self) -> list[RTCRtpTransceiver]:
        return [
            t
            for t in self.pc.getTransceivers()
            if t.mid is not None
            and getattr(t, "_offerDirection", None) == "sendonly"  # the browser's recvonly
            and t.direction == "recvonly"
            and t.sender.track is None
            and t.mid not in self._forwarded
        ]

    def _bind_waiting_tracks(self) -> None:
        free = self._free_sections()
        waiting, self._to_forward = self._to_forward, []
        for source in waiting:
            transceiver = next((t for t in free if t.kind == source.kind), None)
            if transceiver is None:
                self._to_forward.append(source)
                continue
            free.remove(transceiver)
            transceiver.direction = "sendonly"
            transceiver.sender.replaceTrack(source.subscribe())
            # The msid names the publisher and the track, as LiveKit's does.
            transceiver.sender._stream_id = f"{source.participant_sid}|{source.track_sid}"
            transceiver.sender._track_id = source.track_sid
            self._forwarded[transceiver.mid] = source.track_sid
            self._sending[source.track_sid] = transceiver

    async def add_candidate(self, candidate_init: str) -> None:
        init = json.loads(candidate_init or "{}")
        text = init.get("candidate") or ""
        if not text:
            return
        candidate = candidate_from_sdp(text.removeprefix("candidate:"))
        candidate.sdpMid = init.get("sdpMid")
        candidate.sdpMLineIndex = init.get("sdpMLineIndex")
        try:
            await self.pc.addIceCandidate(candidate)
        except Exception:  # a candidate for a section not negotiated yet
            log.debug("ignored ICE candidate %r", text)

    # -- data ---------------------------------------------------------------

    def send_data(self, label: str, payload: bytes) -> bool:
        channel = self._channels.get(label)
        if channel is None or channel.readyState != "open":
            return False
        channel.send(payload)
        return True

    def _channel_opened(self, channel: RTCDataChannel) -> None:
        self._channels[channel.label] = channel

        @channel.on("message")
        def _message(message: bytes | str) -> None:
            if isinstance(message, str):
                message = message.encode()
            self._on_data(channel.label, message)

    # -- events -------------------------------------------------------------

    def _track_arrived(self, track: MediaStreamTrack) -> None:
        transceiver = next(
            (t for t in self.pc.getTransceivers() if t.receiver.track is track), None
        )
        self._on_track(track, transceiver.mid if transceiver else None)

    async def _state_changed(self) -> None:
        if self.pc.connectionState == "connected":
            async with self._lock:
                await self._start_senders()
            self._on_connected()

    async def close(self) -> None:
        await self.pc.close()

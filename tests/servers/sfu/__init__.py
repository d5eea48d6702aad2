"""A loopback LiveKit SFU, test infrastructure only: it listens on 127.0.0.1 and is
never part of Meet Web.

It speaks livekit-client's signalling (protocol 17, ``/rtc/v1``, single peer
connection) on FakeLiveKit's port, and forwards the browsers' media to each other
with aiortc. Attach it to a fake for browser media tests::

    with LoopbackSFU(fake):
        ... browsers join rooms at fake.url, see and hear each other ...

or keep one running and attach it only while needed (``sfu = LoopbackSFU(fake).start()``,
``sfu.attach()``, ``sfu.detach()``, ``sfu.stop()``): detached, the fake's ``/rtc`` is
its plain stub again.

The fake's participant state then follows who is really connected, and its server
API actions (RemoveParticipant, DeleteRoom, MutePublishedTrack, UpdateParticipant,
SendData, UpdateRoomMetadata) reach the browsers.
"""

from tests.servers.sfu.server import LoopbackSFU

__all__ = ["LoopbackSFU"]

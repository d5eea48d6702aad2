"""The rooms the SFU serves: who is connected, which tracks they publish."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from livekit.protocol import models

from tests.servers.sfu.speakers import SpeakerWatch

if TYPE_CHECKING:
    from tests.servers.sfu.media import SourceTrack
    from tests.servers.sfu.session import Session


class RoomState:
    def __init__(self, info: models.Room) -> None:
        self.info = info
        self.sessions: dict[str, Session] = {}  # by identity
        self.sources: dict[str, SourceTrack] = {}  # by track sid
        self.speakers = SpeakerWatch(self._microphone_levels, self._speakers_changed)

    def _microphone_levels(self) -> list[tuple[str, float]]:
        return [
            (s.participant_sid, s.take_level()) for s in self.sources.values() if s.kind == "audio"
        ]

    def _speakers_changed(self, speakers: list[models.SpeakerInfo]) -> None:
        for session in self.sessions.values():
            session.send_speakers(speakers)

    def close(self) -> None:
        self.speakers.stop()
        for source in self.sources.values():
            source.stop()

    @property
    def name(self) -> str:
        return self.info.name

    def others(self, session: Session) -> list[Session]:
        return [s for s in self.sessions.values() if s is not session]

    def room_info(self) -> models.Room:
        view = models.Room()
        view.CopyFrom(self.info)
        view.num_participants = len(self.sessions)
        view.num_publishers = sum(1 for s in self.sessions.values() if s.info.tracks)
        view.active_recording = False
        return view

    def publish(self, source: SourceTrack, publisher: Session) -> None:
        self.sources[source.track_sid] = source
        for other in self.others(publisher):
            other.subscribe(source)

    def withdraw(self, track_sid: str) -> SourceTrack | None:
        """Take a source out of the room (its publisher moves), without stopping it."""
        source = self.sources.pop(track_sid, None)
        if source is not None:
            for session in self.sessions.values():
                session.unsubscribe(track_sid)
        return source

    def unpublish(self, track_sid: str) -> None:
        source = self.sources.pop(track_sid, None)
        if source is None:
            return
        source.stop()
        for session in self.sessions.values():
            session.unsubscribe(track_sid)


def new_room_info(name: str, sid: str) -> models.Room:
    now = time.time()
    return models.Room(sid=sid, name=name, creation_time=int(now), creation_time_ms=int(now * 1000))

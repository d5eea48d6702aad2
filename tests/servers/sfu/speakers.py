"""Who is speaking: the loudness of each published microphone, told to the room with
``speakers_changed`` as LiveKit does (only when the set of speakers changes)."""

from __future__ import annotations

import asyncio
import math
from array import array
from collections.abc import Callable, Iterable

from livekit.protocol import models

SPEAKING_LEVEL = 0.02  # RMS (about -34 dBFS) above which a microphone counts as speaking
CHECK_EVERY = 0.3  # seconds
_STRIDE = 8  # samples: a sparse RMS is loud enough for this


def frame_level(frame) -> float:
    """RMS of a decoded signed 16-bit audio frame, 0..1."""
    # aiortc decodes Opus to packed s16; the plane may be padded past the samples
    size = frame.samples * len(frame.layout.channels) * 2
    samples = array("h")
    samples.frombytes(bytes(frame.planes[0])[:size])
    picked = samples[::_STRIDE]
    if not picked:
        return 0.0
    return math.sqrt(sum(s * s for s in picked) / len(picked)) / 32768


class SpeakerWatch:
    """Polls the room's microphone levels; calls ``announce`` with the changes."""

    def __init__(
        self,
        levels: Callable[[], Iterable[tuple[str, float]]],
        announce: Callable[[list[models.SpeakerInfo]], None],
    ) -> None:
        self._levels = levels
        self._announce = announce
        self._speaking: set[str] = set()
        self._task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY)
            levels = {sid: level for sid, level in self._levels() if level >= SPEAKING_LEVEL}
            if set(levels) == self._speaking:
                continue
            stopped = self._speaking - set(levels)
            self._speaking = set(levels)
            speakers = [
                models.SpeakerInfo(sid=sid, level=min(1.0, level), active=True)
                for sid, level in sorted(levels.items(), key=lambda item: -item[1])
            ]
            speakers += [models.SpeakerInfo(sid=sid, level=0, active=False) for sid in stopped]
            self._announce(speakers)

    def stop(self) -> None:
        self._task.cancel()

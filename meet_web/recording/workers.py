"""Recording workers: what starts and stops the media capture of one mode.

A worker is chosen per mode by `recording.worker_classes` ({mode: dotted name}); the
default is LiveKit's room-composite egress, video (MP4) for screen recordings and audio
only (OGG) for transcripts. Another backend plugs in as a RecordingWorker subclass: the
rest of the app only calls `start` and `stop`.

The output object is `<recording.output_folder>/<recording id>.<extension>`: the
recording id travels with the egress, so its webhooks are matched on it.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from livekit import api
from pyramid.path import DottedNameResolver

from ..models import RecordingMode, RecordingStatus
from ..services.livekit import LiveKitError, LiveKitGateway
from .config import RecordingConfig

log = logging.getLogger(__name__)


class WorkerError(Exception):
    """The backend refused or could not be reached."""


class RecordingWorker(ABC):
    """Starts and stops the capture of one room into one object."""

    def __init__(self, gateway: LiveKitGateway, config: RecordingConfig):
        self.gateway, self.config = gateway, config

    @abstractmethod
    def start(self, room_name: str, key: str) -> str:
        """Start capturing the LiveKit room `room_name` into the object `key`; the
        worker's id for it (stored as `Recording.worker_id`). Raises WorkerError."""

    @abstractmethod
    def stop(self, worker_id: str) -> RecordingStatus:
        """Stop it; the recording's status that follows. Raises WorkerError."""


# The status a stopped egress leaves the recording in (reference §5.1).
STOP_STATUSES = {
    api.EGRESS_ABORTED: RecordingStatus.ABORTED,
    api.EGRESS_ENDING: RecordingStatus.STOPPED,
}


def status_after_stop(egress_status: int) -> RecordingStatus:
    return STOP_STATUSES.get(egress_status, RecordingStatus.FAILED_TO_STOP)


class RoomCompositeEgress(RecordingWorker):
    """LiveKit's room-composite egress, written to the S3 bucket."""

    file_type = api.EncodedFileType.MP4
    audio_only = False

    def request(self, room_name: str, key: str) -> api.RoomCompositeEgressRequest:
        s3 = self.config.s3
        output = api.EncodedFileOutput(
            file_type=self.file_type,
            filepath=key,
            s3=api.S3Upload(
                access_key=s3.access_key_id,
                secret=s3.secret_access_key,
                region=s3.region,
                endpoint=s3.endpoint_url,
                bucket=s3.bucket,
                force_path_style=True,
            ),
        )
        return api.RoomCompositeEgressRequest(
            room_name=room_name,
            layout="speaker-light",
            audio_only=self.audio_only,
            file_outputs=[output],
        )

    def start(self, room_name: str, key: str) -> str:
        try:
            info = self.gateway.start_room_composite_egress(self.request(room_name, key))
        except LiveKitError as exc:
            raise WorkerError(exc.message) from exc
        if not info.egress_id:
            raise WorkerError("the egress has no id")
        return info.egress_id

    def stop(self, worker_id: str) -> RecordingStatus:
        try:
            info = self.gateway.stop_egress(worker_id)
        except LiveKitError as exc:
            raise WorkerError(exc.message) from exc
        return status_after_stop(info.status)


class VideoCompositeEgress(RoomCompositeEgress):
    """Screen recordings: MP4, with the configured encoding or LiveKit's 720p preset."""

    def request(self, room_name: str, key: str) -> api.RoomCompositeEgressRequest:
        request = super().request(room_name, key)
        encoding = self.config.encoding
        if encoding is None:
            request.preset = api.EncodingOptionsPreset.H264_720P_30
        else:
            request.advanced.CopyFrom(
                api.EncodingOptions(
                    width=encoding.width,
                    height=encoding.height,
                    framerate=encoding.framerate,
                    video_codec=api.VideoCodec.H264_MAIN,
                    video_bitrate=encoding.video_bitrate_kbps,
                    audio_codec=api.AudioCodec.AAC,
                    audio_bitrate=encoding.audio_bitrate_kbps,
                    audio_frequency=48000,
                    key_frame_interval=encoding.key_frame_interval_s,
                )
            )
        return request


class AudioCompositeEgress(RoomCompositeEgress):
    """Transcripts: the room's audio only, as OGG."""

    file_type = api.EncodedFileType.OGG
    audio_only = True


DEFAULT_WORKERS = {
    RecordingMode.SCREEN_RECORDING: VideoCompositeEgress,
    RecordingMode.TRANSCRIPT: AudioCompositeEgress,
}


def make_workers(
    classes: dict, gateway: LiveKitGateway, config: RecordingConfig
) -> dict[RecordingMode, RecordingWorker]:
    """One worker per mode: `classes` ({mode: dotted name}) when given, else the
    defaults. An unknown mode or a class that is no RecordingWorker stops start-up."""
    chosen: dict = dict(DEFAULT_WORKERS) if not classes else {}
    resolver = DottedNameResolver()
    for mode, name in classes.items():
        try:
            key = RecordingMode(mode)
        except ValueError:
            raise ValueError(f"recording.worker_classes: unknown mode {mode!r}") from None
        worker_class = resolver.maybe_resolve(name)
        if not (isinstance(worker_class, type) and issubclass(worker_class, RecordingWorker)):
            raise ValueError(f"recording.worker_classes: {name!r} is not a RecordingWorker")
        chosen[key] = worker_class
    return {mode: worker_class(gateway, config) for mode, worker_class in chosen.items()}

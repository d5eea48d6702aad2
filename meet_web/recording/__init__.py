"""Recordings: workers per mode, their lifecycle, the completion mail and the store.

config.py         the settings, read once
workers.py        RecordingWorker and LiveKit's egress workers (one class per mode)
lifecycle.py      start / stop, the egress webhooks, completion
notifications.py  the "your recording is ready" mail
summary.py        the summary service, given transcripts once saved (off by default)
maintenance.py    expired recordings and stray objects removed (meet-web-clean-recordings)
storage.py        the S3 object store (delete, signed GET headers for media-auth)
storage_events.py the legacy bucket-notification parsers (off by default)
"""

from __future__ import annotations

from ..services import register
from ..services.livekit import LiveKitGateway
from ..services.mail import Mailer
from ..services.webhooks import WebhookRouter
from .config import RecordingConfig
from .lifecycle import Recordings
from .notifications import CompletionMail
from .storage import RecordingStorage
from .summary import SummaryConfig, SummaryService
from .workers import make_workers

__all__ = ["RecordingConfig", "RecordingStorage", "Recordings"]


def includeme(config):
    services = config.registry["meet_services"]
    settings = config.get_settings()
    recording_config = RecordingConfig.from_settings(settings)
    gateway = services[LiveKitGateway]
    workers = make_workers(settings["recording.worker_classes"], gateway, recording_config)
    storage = RecordingStorage(recording_config.s3)
    summary = SummaryService(SummaryConfig.from_settings(settings), recording_config, storage)
    recordings = Recordings(
        recording_config,
        workers,
        gateway,
        CompletionMail(services[Mailer], recording_config),
        summary,
    )
    register(config, recording_config, RecordingConfig)
    register(config, recordings, Recordings)
    register(config, storage, RecordingStorage)
    router = services[WebhookRouter]
    router.register("egress_updated", recordings.on_egress_updated)
    router.register("egress_ended", recordings.on_egress_ended)

"""The recording settings, read once at start-up."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Encoding:
    """Advanced encoding of screen recordings (`recording.encoding_*`)."""

    width: int
    height: int
    framerate: int
    video_bitrate_kbps: int
    audio_bitrate_kbps: int
    key_frame_interval_s: float


@dataclass(frozen=True)
class S3Config:
    endpoint_url: str
    public_endpoint_url: str  # browsers' way to the store; empty: endpoint_url
    bucket: str
    access_key_id: str
    secret_access_key: str
    region: str

    @classmethod
    def from_settings(cls, settings) -> S3Config:
        return cls(
            endpoint_url=settings["s3.endpoint_url"],
            public_endpoint_url=settings["s3.public_endpoint_url"],
            bucket=settings["s3.bucket"],
            access_key_id=settings["s3.access_key_id"],
            secret_access_key=settings["s3.secret_access_key"],
            region=settings["s3.region"],
        )


@dataclass(frozen=True)
class StorageEvents:
    """The legacy bucket-notification hook (reference §5.4), off by default."""

    enabled: bool
    auth: bool
    token: str
    parser: str  # "minio" or "s3"


@dataclass(frozen=True)
class RecordingConfig:
    enabled: bool
    output_folder: str
    expiration_days: int | None
    max_duration: int | None
    encoding: Encoding | None  # None: LiveKit's H264_720P_30 preset
    download_base_url: str  # empty: the site's address + /recordings
    media_url: str
    page_size: int
    s3: S3Config
    storage_events: StorageEvents

    @classmethod
    def from_settings(cls, settings) -> RecordingConfig:
        encoding = None
        if settings["recording.encoding_enabled"]:
            encoding = Encoding(
                width=settings["recording.encoding_width"],
                height=settings["recording.encoding_height"],
                framerate=settings["recording.encoding_framerate"],
                video_bitrate_kbps=settings["recording.encoding_video_bitrate_kbps"],
                audio_bitrate_kbps=settings["recording.encoding_audio_bitrate_kbps"],
                key_frame_interval_s=settings["recording.encoding_key_frame_interval_s"],
            )
        media_url = settings["recording.media_url"] or "/media/"
        return cls(
            enabled=settings["recording.enabled"],
            output_folder=settings["recording.output_folder"].strip("/") or "recordings",
            expiration_days=settings["recording.expiration_days"],
            max_duration=settings["recording.max_duration"],
            encoding=encoding,
            download_base_url=settings["recording.download_base_url"].rstrip("/"),
            media_url=media_url if media_url.endswith("/") else media_url + "/",
            page_size=settings["recording.page_size"],
            s3=S3Config.from_settings(settings),
            storage_events=StorageEvents(
                enabled=settings["recording.storage_event_enabled"],
                auth=settings["recording.storage_event_auth"],
                token=settings["recording.storage_event_token"],
                parser=settings["recording.storage_event_parser"].strip().lower(),
            ),
        )

    def link_base(self, site_url: str | None) -> str | None:
        """Where a recording's page is, `<base>/<id>`; None when nobody said."""
        if self.download_base_url:
            return self.download_base_url
        if site_url:
            return site_url.rstrip("/") + "/recordings"
        return None

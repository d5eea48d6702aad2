"""The files settings (`files.*`), read once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from ..recording.config import S3Config
from ..settings import SettingsError

# The image types a background may be, by extension; `files.allowed_extensions` picks
# among them (an extension outside this table is a start-up error).
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
}
UPLOAD_POLICY_SECONDS = 60  # how long the presigned PUT of a new file is valid
PAGE_SIZE = 20


def normalized_extension(value: str) -> str:
    value = value.strip().lower()
    return value if value.startswith(".") else f".{value}"


@dataclass(frozen=True)
class FilesConfig:
    enabled: bool
    max_per_user: int
    max_size: int
    allowed_extensions: tuple[str, ...]
    purge_grace_days: int
    media_url: str  # where an nginx front serves objects; media-auth matches under it
    s3: S3Config

    @property
    def allowed_mimetypes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(IMAGE_TYPES[ext] for ext in self.allowed_extensions))

    @classmethod
    def from_settings(cls, settings) -> FilesConfig:
        extensions = tuple(
            dict.fromkeys(normalized_extension(e) for e in settings["files.allowed_extensions"])
        )
        problems = []
        unknown = [ext for ext in extensions if ext not in IMAGE_TYPES]
        if unknown:
            problems.append(
                f"files.allowed_extensions: {', '.join(unknown)} not supported;"
                f" choose among {', '.join(IMAGE_TYPES)}"
            )
        if not extensions:
            problems.append("files.allowed_extensions must name at least one extension")
        if settings["files.max_per_user"] < 1:
            problems.append("files.max_per_user must be at least 1")
        if settings["files.max_size"] < 1:
            problems.append("files.max_size must be a positive number of bytes")
        if settings["files.purge_grace_days"] < 0:
            problems.append("files.purge_grace_days must be 0 or more days")
        if problems:
            raise SettingsError(problems)
        media_url = settings["recording.media_url"] or "/media/"
        return cls(
            enabled=settings["files.enabled"],
            max_per_user=settings["files.max_per_user"],
            max_size=settings["files.max_size"],
            allowed_extensions=extensions,
            purge_grace_days=settings["files.purge_grace_days"],
            media_url=media_url if media_url.endswith("/") else media_url + "/",
            s3=S3Config.from_settings(settings),
        )

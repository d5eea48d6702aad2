"""The data model: import every model here so that metadata and Alembic see them all."""

from .access import LastOwnerError, ResourceAccess
from .application import Application, ApplicationDomain
from .audit import AuditEvent
from .enums import (
    AccessLevel,
    ApplicationScope,
    FileType,
    RecordingMode,
    RecordingStatus,
    Role,
    UploadState,
)
from .file import File
from .meeting import Meeting, MeetingParticipant, UsageDay
from .recording import Recording, RecordingAccess
from .room import Room, SlugError, slug_for_name, slugify
from .share_link import RecordingShareLink
from .user import User

__all__ = [
    "AccessLevel",
    "Application",
    "ApplicationDomain",
    "ApplicationScope",
    "AuditEvent",
    "File",
    "FileType",
    "LastOwnerError",
    "Meeting",
    "MeetingParticipant",
    "Recording",
    "RecordingAccess",
    "RecordingMode",
    "RecordingShareLink",
    "RecordingStatus",
    "ResourceAccess",
    "Role",
    "Room",
    "SlugError",
    "UploadState",
    "UsageDay",
    "User",
    "slug_for_name",
    "slugify",
]

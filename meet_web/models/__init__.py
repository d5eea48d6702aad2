"""The data model: import every model here so that metadata and Alembic see them all."""

from .access import LastOwnerError, ResourceAccess
from .application import Application, ApplicationDomain
from .enums import AccessLevel, ApplicationScope, RecordingMode, RecordingStatus, Role
from .recording import Recording, RecordingAccess
from .room import Room, SlugError, slug_for_name, slugify
from .user import User

__all__ = [
    "AccessLevel",
    "Application",
    "ApplicationDomain",
    "ApplicationScope",
    "LastOwnerError",
    "Recording",
    "RecordingAccess",
    "RecordingMode",
    "RecordingStatus",
    "ResourceAccess",
    "Role",
    "Room",
    "SlugError",
    "User",
    "slug_for_name",
    "slugify",
]

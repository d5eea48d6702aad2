"""Wire values shared by the models, the API and the pages."""

from enum import StrEnum

from sqlalchemy import Enum


class Role(StrEnum):
    MEMBER = "member"
    ADMINISTRATOR = "administrator"
    OWNER = "owner"

    @property
    def strength(self) -> int:
        return ROLE_ORDER.index(self)


ROLE_ORDER = (Role.MEMBER, Role.ADMINISTRATOR, Role.OWNER)


class AccessLevel(StrEnum):
    PUBLIC = "public"
    TRUSTED = "trusted"
    RESTRICTED = "restricted"


class RecordingStatus(StrEnum):
    INITIATED = "initiated"
    ACTIVE = "active"
    STOPPED = "stopped"
    SAVED = "saved"
    ABORTED = "aborted"
    FAILED_TO_START = "failed_to_start"
    FAILED_TO_STOP = "failed_to_stop"
    NOTIFICATION_SUCCEEDED = "notification_succeeded"
    EXTERNAL_PROCESS_SUCCESSFUL = "external_process_successful"
    EXTERNAL_PROCESS_FAILED = "external_process_failed"


class RecordingMode(StrEnum):
    SCREEN_RECORDING = "screen_recording"
    TRANSCRIPT = "transcript"


class ApplicationScope(StrEnum):
    ROOMS_CREATE = "rooms:create"
    ROOMS_LIST = "rooms:list"
    ROOMS_RETRIEVE = "rooms:retrieve"
    ROOMS_UPDATE = "rooms:update"
    ROOMS_DELETE = "rooms:delete"


class FileType(StrEnum):
    BACKGROUND_IMAGE = "background_image"


class UploadState(StrEnum):
    PENDING = "pending"
    ANALYZING = "analyzing"
    READY = "ready"
    SUSPICIOUS = "suspicious"
    FILE_TOO_LARGE_TO_ANALYZE = "file_too_large_to_analyze"


def db_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint on every database."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
        length=max(len(m.value) for m in enum_cls),
    )

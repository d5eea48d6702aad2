"""Recordings: start and stop on a room, the caller's recordings, and media-auth.

Start and stop answer 404 while `recording.enabled` is off; the flag is checked after
authentication and before the body and the caller's role, as the reference does.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pyramid.httpexceptions import HTTPForbidden, HTTPNoContent, HTTPNotFound
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config, view_defaults
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ...db import after_commit
from ...models import Recording, RecordingAccess, RecordingMode, RecordingStatus
from ...openapi import PAGING, operation
from ...recording import RecordingConfig, Recordings, RecordingStorage
from ...recording.share_links import is_live_link_to
from ...recording.storage import StorageError
from ...recording.storage_events import (
    MEDIA_TYPES,
    PARSERS,
    InvalidEvent,
    parse_minio,
    recording_id_in,
)
from ...resources import RecordingContainer, RecordingResource, RoomResource
from ...resources.recordings import load_recording
from ...security.permissions import Permission
from ...services import audit
from ...services.errors import DomainError, NotFound, Refused
from ...validation import MISSING, Body, Choice, Fields, String, check_page, page_params
from .serializers import object_schema, page_json, page_schema

log = logging.getLogger(__name__)

OPTION_KEYS = ("language", "transcribe", "collect_metadata", "original_mode")
OPTIONS_SCHEMA = {
    "type": "object",
    "properties": {
        "language": {"type": ["string", "null"], "maxLength": 35},
        "transcribe": {"type": ["boolean", "null"]},
        "collect_metadata": {"type": ["boolean", "null"]},
        "original_mode": {"enum": [*(m.value for m in RecordingMode), None]},
    },
    "additionalProperties": False,
}


def parse_options(value: Any) -> dict:
    """The options, known keys only, null ones dropped (reference §1)."""
    if not isinstance(value, dict):
        raise ValueError("Must be an object.")
    unknown = sorted(set(value) - set(OPTION_KEYS))
    if unknown:
        raise ValueError(f"Unknown option keys: {', '.join(unknown)}.")
    options = {key: item for key, item in value.items() if item is not None}
    language = options.get("language")
    if language is not None and (not isinstance(language, str) or len(language) > 35):
        raise ValueError("language must be a string of at most 35 characters or null.")
    for flag in ("transcribe", "collect_metadata"):
        if flag in options and not isinstance(options[flag], bool):
            raise ValueError(f"{flag} must be true, false or null.")
    if "original_mode" in options:
        try:
            options["original_mode"] = str(RecordingMode(options["original_mode"]))
        except ValueError:
            raise ValueError(
                f"original_mode must be one of {', '.join(m.value for m in RecordingMode)} or null."
            ) from None
    return options


@dataclass(frozen=True)
class RecordingOptions:
    description: str = "language, transcribe, collect_metadata, original_mode; others refused."

    def read(self, fields: Fields, name: str, required: bool) -> Any:
        value = fields._get(name, required)
        if value is MISSING or value is None:
            return {}
        try:
            return parse_options(value)
        except ValueError as exc:
            fields.errors[name] = str(exc)
            return {}

    def json_schema(self) -> dict:
        return OPTIONS_SCHEMA


START_BODY = Body(
    "StartRecording",
    required=("mode",),
    mode=Choice(RecordingMode, description="screen_recording (MP4) or transcript (OGG)."),
    options=RecordingOptions(),
)
MESSAGE_SCHEMA = object_schema({"message": {"type": "string"}})
_DATETIME = {"type": "string", "format": "date-time"}
RECORDING_SCHEMA = object_schema(
    {
        "id": {"type": "string", "format": "uuid"},
        "room": object_schema(
            {
                "id": {"type": "string", "format": "uuid"},
                "name": {"type": "string"},
                "slug": {"type": "string"},
                "access_level": {"type": "string"},
            }
        ),
        "created_at": _DATETIME,
        "updated_at": _DATETIME,
        "status": {"type": "string"},
        "mode": {"enum": [m.value for m in RecordingMode]},
        "options": {"type": "object"},
        "key": {"type": "string"},
        "is_expired": {"type": "boolean"},
        "expired_at": {"type": ["string", "null"], "format": "date-time"},
    }
)


def timestamp(moment) -> str:
    """As DRF writes datetimes: ISO 8601, UTC as `Z`."""
    return moment.isoformat().replace("+00:00", "Z")


def recording_json(recording: Recording, config: RecordingConfig) -> dict:
    room = recording.room
    expired_at = recording.expired_at(config.expiration_days)
    return {
        "id": str(recording.id),
        "room": {
            "id": str(room.id),
            "name": room.name,
            "slug": room.slug,
            "access_level": str(room.access_level),
        },
        "created_at": timestamp(recording.created_at),
        "updated_at": timestamp(recording.updated_at),
        "status": str(recording.status),
        "mode": str(recording.mode),
        "options": recording.options or {},
        "key": recording.key(config.output_folder),
        "is_expired": recording.is_expired(config.expiration_days),
        "expired_at": timestamp(expired_at) if expired_at is not None else None,
    }


# -- start / stop on a room ---------------------------------------------------------------


@view_defaults(context=RoomResource, route_name="api", renderer="json")
class RoomRecordingApi:
    def __init__(self, context, request):
        self.context, self.request = context, request
        self.recordings: Recordings = request.service(Recordings)

    def _check_enabled(self) -> None:
        if not self.recordings.config.enabled:
            raise HTTPNotFound()

    def _check_manager(self) -> None:
        if not self.request.has_permission(Permission.ROOM_MANAGE, self.context):
            raise HTTPForbidden()

    @view_config(name="start-recording", request_method="POST", permission=Permission.AUTHENTICATED)
    @operation(
        "Start recording the room (owners and administrators; `recording.enabled`)",
        body=START_BODY,
        responses={201: MESSAGE_SCHEMA},
        tag="recordings",
    )
    def start(self):
        self._check_enabled()
        values, fields = START_BODY.read(self.request)
        mode = values["mode"]
        if isinstance(mode, RecordingMode) and mode not in self.recordings.workers:
            fields.errors["mode"] = f'"{mode}" is not a valid choice.'
        fields.check()
        self._check_manager()
        room = self.context.room
        room_id, slug = room.id, room.slug  # start commits: the room's attributes expire
        recording_id = self.recordings.start(
            self.request, room, self.request.identity.user_id, mode, values["options"] or {}
        )
        audit.record(
            self.request,
            audit.RECORDING_START,
            target_type="recording",
            target_id=recording_id,
            changes={"room": room_id, "mode": mode},
        )
        self.request.response.status = 201
        return {"message": f"Recording successfully started for room {slug}"}

    @view_config(name="stop-recording", request_method="POST", permission=Permission.AUTHENTICATED)
    @operation(
        "Stop the room's recording (owners and administrators; `recording.enabled`)",
        responses={200: MESSAGE_SCHEMA},
        tag="recordings",
    )
    def stop(self):
        self._check_enabled()
        self._check_manager()
        room = self.context.room
        slug = room.slug
        status = self.recordings.stop(self.request, room)
        audit.record(
            self.request,
            audit.RECORDING_STOP,
            target_type="room",
            target_id=room.id,
            changes={"status": status},
        )
        return {"message": f"Recording stopped for room {slug}."}


# -- the caller's recordings ----------------------------------------------------------------


@view_defaults(context=RecordingContainer, route_name="api", renderer="json")
class RecordingCollectionApi:
    def __init__(self, context, request):
        self.context, self.request = context, request

    @view_config(request_method="GET", permission=Permission.AUTHENTICATED)
    @operation(
        "Recordings the caller has an access to, newest first",
        responses={200: page_schema(RECORDING_SCHEMA)},
        query=PAGING,
        tag="recordings",
    )
    def list(self):
        request = self.request
        config = request.service(RecordingConfig)
        page, size = page_params(request, config.page_size)
        user_id = request.identity.user_id
        mine = select(RecordingAccess.recording_id).where(RecordingAccess.user_id == user_id)
        db = request.dbsession
        count = db.scalar(select(func.count()).select_from(Recording).where(Recording.id.in_(mine)))
        check_page(page, size, count)
        recordings = db.scalars(
            select(Recording)
            .where(Recording.id.in_(mine))
            .options(selectinload(Recording.room))
            .order_by(Recording.created_at.desc(), Recording.id)
            .limit(size)
            .offset((page - 1) * size)
        ).all()
        items = [recording_json(r, config) for r in recordings]
        return page_json(request, items, count, page, size)


@view_defaults(context=RecordingResource, route_name="api", renderer="json")
class RecordingApi:
    def __init__(self, context, request):
        self.context, self.request = context, request

    @view_config(request_method="GET", permission=Permission.RECORDING_VIEW)
    @operation(
        "A recording (its owners and administrators)",
        responses={200: RECORDING_SCHEMA},
        tag="recordings",
    )
    def retrieve(self):
        return recording_json(self.context.recording, self.request.service(RecordingConfig))

    @view_config(request_method="DELETE", permission=Permission.RECORDING_DELETE)
    @operation(
        "Delete a recording in a final status, and its object once that is committed",
        responses={204: None},
        tag="recordings",
    )
    def delete(self):
        recording = self.context.recording
        if not recording.is_final:
            raise Refused("You do not have permission to perform this action.")
        key = recording.key(self.request.service(RecordingConfig).output_folder)
        audit.record(
            self.request,
            audit.RECORDING_DELETE,
            target_type="recording",
            target_id=recording.id,
            changes={"room": recording.room_id, "mode": recording.mode},
        )
        self.request.dbsession.delete(recording)
        self.request.dbsession.flush()
        after_commit(self.request, delete_object, self.request.service(RecordingStorage), key)
        return HTTPNoContent()


def delete_object(storage: RecordingStorage, key: str) -> None:
    try:
        storage.delete(key)
    except StorageError as exc:
        log.error("recording object not deleted, remove it by hand: %s", exc)


# -- media-auth: nginx `auth_request` ----------------------------------------------------------


class Gone(DomainError):
    status = 410


MEDIA_EXTENSIONS = ("mp4", "ogg")


def media_path_pattern(config: RecordingConfig) -> re.Pattern:
    return re.compile(
        "^"
        + re.escape(config.media_url + config.output_folder + "/")
        + r"(?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
        + r"\.(?P<extension>[A-Za-z0-9]+)$"
    )


@view_config(
    context=RecordingContainer,
    route_name="api",
    name="media-auth",
    request_method="GET",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,  # a share link's token, or a signed-in caller
)
@operation(
    "For an nginx `auth_request`: may the caller GET the object at X-Original-URL?"
    " (signed in, or a share link's token in its `share` query parameter)",
    responses={200: {"type": "string", "const": "authorized"}},
    tag="recordings",
)
def media_auth(context, request):
    config = request.service(RecordingConfig)
    original = request.headers.get("X-Original-URL")
    share_token = parse_qs(urlsplit(original or "").query).get("share", [None])[0]
    if share_token is None and not request.has_permission(Permission.AUTHENTICATED, context):
        raise HTTPForbidden()  # 401 for anonymous callers, as the permission would
    if not original:
        raise Refused("Missing X-Original-URL header.")
    match = media_path_pattern(config).match(urlsplit(original).path)
    if match is None:
        raise Refused("Unexpected media path.")
    extension = match.group("extension")
    if extension not in MEDIA_EXTENSIONS:
        raise DomainError("Unsupported extension.")
    recording = load_recording(request.dbsession, uuid.UUID(match.group("id")))
    if recording is None:
        raise NotFound("No recording found for this request.")
    if recording.extension != extension:
        raise NotFound("No recording found with this extension.")
    may_view = request.has_permission(
        Permission.RECORDING_VIEW, RecordingResource(recording, context)
    ) or (share_token is not None and is_live_link_to(request.dbsession, share_token, recording.id))
    if not may_view:
        raise Refused("You do not have permission to perform this action.")
    if not recording.is_saved:
        raise Refused("The recording is not ready.")
    if recording.is_expired(config.expiration_days):
        raise Gone("The recording has expired.")
    key = recording.key(config.output_folder)
    request.response.headers.update(request.service(RecordingStorage).signed_get_headers(key))
    return "authorized"


# -- the legacy bucket notification (reference §5.4) ----------------------------------------


@view_config(
    context=RecordingContainer,
    route_name="api",
    name="storage-hook",
    request_method="POST",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
    require_csrf=False,
)
@operation(
    "Legacy: the bucket's notification that a recording was written"
    " (`Authorization: Bearer <recording.storage_event_token>`; off by default)",
    responses={200: MESSAGE_SCHEMA},
    tag="recordings",
)
def storage_hook(context, request):
    config = request.service(RecordingConfig)
    events = config.storage_events
    if events.auth:
        expected = f"Bearer {events.token}"
        given = request.headers.get("Authorization", "")
        if not events.token or not hmac.compare_digest(given.encode(), expected.encode()):
            request.response.headers["WWW-Authenticate"] = "Bearer"
            raise Unauthenticated("Invalid token.")
    if not events.enabled:
        raise HTTPNotFound()
    try:
        stored = PARSERS.get(events.parser, parse_minio)(json.loads(request.body or b"null"))
    except (ValueError, InvalidEvent):
        raise Refused("Invalid request data.") from None
    if stored.bucket != config.s3.bucket:
        raise Refused("Invalid bucket specified.")
    recording_id = recording_id_in(stored.key, config.output_folder)
    if stored.content_type not in MEDIA_TYPES or recording_id is None:
        return {"message": "Notification ignored."}
    request.service(Recordings).on_stored_object(request, recording_id)
    return {"message": "Event processed."}


class Unauthenticated(DomainError):
    status = 401


# -- the summary service's callback (reference §5.5) -------------------------------------------

EXTERNAL_PROCESS_BODY = Body(
    "ExternalProcessEvent",
    required=("job_id",),
    job_id=String(255, "The summary service's job id (Recording.external_process_id)."),
    type=String(50, "transcript"),
    status=String(50, "success or failure"),
)
EXTERNAL_OUTCOMES = {
    ("transcript", "success"): RecordingStatus.EXTERNAL_PROCESS_SUCCESSFUL,
    ("transcript", "failure"): RecordingStatus.EXTERNAL_PROCESS_FAILED,
}


@view_config(
    context=RecordingContainer,
    route_name="api",
    name="external-process-hook",
    request_method="POST",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
    require_csrf=False,
)
@operation(
    "The summary service's news of a job (`Authorization: Bearer <summary.webhook_api_token>`)",
    body=EXTERNAL_PROCESS_BODY,
    responses={200: MESSAGE_SCHEMA},
    tag="recordings",
)
def external_process_hook(context, request):
    token = request.registry.settings["summary.webhook_api_token"]
    if not token:
        raise Unauthenticated("The summary service webhook is not configured.")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        request.response.headers["WWW-Authenticate"] = "Bearer"
        raise Unauthenticated("Invalid token.")
    values = EXTERNAL_PROCESS_BODY.parse(request)
    outcome = EXTERNAL_OUTCOMES.get((values["type"], values["status"]))
    recording = request.dbsession.scalars(
        select(Recording).where(Recording.external_process_id == values["job_id"])
    ).one_or_none()
    if recording is None:
        log.info("summary service job %s matches no recording; ignored", values["job_id"])
    elif outcome is not None:
        recording.status = outcome
    return {"message": "Event processed."}

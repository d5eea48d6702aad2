"""Users' files (background images): the reference's `/api/v1.0/files/` flow.

Create answers with `policy`, a presigned PUT of the temporary key; the browser uploads
there, then calls `upload-ended`, which checks what was uploaded (files/lifecycle.py).
Everything answers 404 while `files.enabled` is off; that is checked after
authentication, as the reference does. With no nginx front, `content/` streams a
ready file to its creator.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from pyramid.httpexceptions import HTTPNoContent, HTTPNotFound
from pyramid.view import view_config, view_defaults
from sqlalchemy import false, func, select

from ...files import Files, FilesConfig, FileStorage
from ...files.config import PAGE_SIZE
from ...files.lifecycle import STORAGE_DOWN, StorageDown
from ...files.storage import ObjectMissing, StorageError
from ...models import File, FileType, UploadState
from ...openapi import PAGING, Query, operation
from ...resources import FileContainer, FileResource
from ...security.permissions import Permission
from ...services.errors import NotFound, Refused
from ...validation import (
    MISSING,
    Body,
    Choice,
    String,
    Uuid,
    ValidationError,
    check_page,
    page_params,
)
from .recordings import timestamp
from .serializers import object_schema, page_json, page_schema

CHUNK = 64 * 1024
NOT_READY = "No ready file matches the given query."

CREATE_BODY = Body(
    "FileCreate",
    required=("type", "filename"),
    type=Choice(FileType, description="background_image"),
    filename=String(255, "The uploaded file's name; its extension must be allowed."),
    title=String(255, "Defaults to the filename without its extension."),
    id=Uuid("An id chosen by the client (optional)."),
)
UPDATE_BODY = Body("FileUpdate", required=("title",), title=String(255))

_DATETIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
FILE_PROPERTIES = {
    "id": {"type": "string", "format": "uuid"},
    "type": {"enum": [t.value for t in FileType]},
    "title": {"type": "string"},
    "filename": {"type": "string"},
    "description": {"type": "string"},
    "creator": {"type": ["string", "null"], "format": "uuid"},
    "upload_state": {"enum": [s.value for s in UploadState]},
    "mimetype": {"type": "string"},
    "size": {"type": ["integer", "null"], "minimum": 0},
    "is_deleted": {"type": "boolean"},
    "url": {"type": ["string", "null"]},
    "content_url": {"type": ["string", "null"]},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "deleted_at": _DATETIME_OR_NULL,
    "hard_deleted_at": _DATETIME_OR_NULL,
    "abilities": object_schema(
        {
            name: {"type": "boolean"}
            for name in (
                "destroy",
                "hard_delete",
                "media_auth",
                "partial_update",
                "retrieve",
                "update",
                "upload_ended",
            )
        }
    ),
}
FILE_SCHEMA = object_schema(FILE_PROPERTIES)
CREATED_FILE_SCHEMA = object_schema(
    {**FILE_PROPERTIES, "policy": {"type": "string", "format": "uri"}}
)

BOOLEAN_VALUES = {"true": True, "1": True, "false": False, "0": False}
ORDERING_FIELDS = {
    "created_at": File.created_at,
    "updated_at": File.updated_at,
    "title": File.title,
}
LIST_QUERY = (
    Query("type", {"enum": [t.value for t in FileType]}),
    Query("upload_state", {"enum": [s.value for s in UploadState]}),
    Query(
        "is_deleted",
        {"type": "boolean"},
        "Soft-deleted files (true) or the others (false, the default).",
    ),
    Query("is_creator_me", {"type": "boolean"}, "Only the caller's files are ever listed."),
    Query(
        "ordering",
        {"type": "string"},
        "created_at, updated_at or title, `-` first for descending; default -updated_at.",
    ),
    *PAGING,
)


def file_json(request, file: File, config: FilesConfig) -> dict:
    ready = file.upload_state == UploadState.READY and not file.is_deleted
    changeable = not file.is_deleted
    return {
        "id": str(file.id),
        "type": str(file.type),
        "title": file.title,
        "filename": file.filename,
        "description": file.description or "",
        "creator": str(file.creator_id) if file.creator_id else None,
        "upload_state": str(file.upload_state),
        "mimetype": file.mimetype or "",
        "size": file.size,
        "is_deleted": file.is_deleted,
        "url": config.media_url + file.key if ready else None,
        "content_url": content_path(request, file) if ready else None,
        "created_at": timestamp(file.created_at),
        "updated_at": timestamp(file.updated_at),
        "deleted_at": timestamp(file.deleted_at) if file.deleted_at else None,
        "hard_deleted_at": timestamp(file.hard_deleted_at) if file.hard_deleted_at else None,
        "abilities": {
            "destroy": changeable,
            "hard_delete": True,
            "media_auth": changeable,
            "partial_update": changeable,
            "retrieve": True,
            "update": changeable,
            "upload_ended": changeable,
        },
    }


def content_path(request, file: File) -> str:
    return request.route_path("api", traverse=("files", str(file.id), "content", ""))


def boolean_param(request, name: str, errors: dict) -> bool | None:
    value = request.GET.get(name)
    if value is None or value == "":
        return None
    parsed = BOOLEAN_VALUES.get(value.strip().lower())
    if parsed is None:
        errors[name] = "Enter a valid boolean: true or false."
    return parsed


def choice_param(request, name: str, enum, errors: dict):
    value = request.GET.get(name)
    if value is None or value == "":
        return None
    try:
        return enum(value)
    except ValueError:
        errors[name] = f"Select a valid choice. {value} is not one of the available choices."
        return None


def ordering(request) -> list:
    """As DRF's OrderingFilter: unknown fields are left out; none left, the default."""
    terms = []
    for term in request.GET.get("ordering", "").split(","):
        term = term.strip()
        column = ORDERING_FIELDS.get(term.removeprefix("-"))
        if column is not None:
            terms.append(column.desc() if term.startswith("-") else column.asc())
    return terms or [File.updated_at.desc()]


def clean_filename(value: str) -> str:
    """The name without any folder a browser or a client put before it."""
    return re.split(r"[\\/]", value)[-1].strip()


class FilesView:
    """A view of users' files: their settings at hand, and a 404 while they are off."""

    def __init__(self, context, request):
        self.context, self.request = context, request
        self.config: FilesConfig = request.service(FilesConfig)

    def _check_enabled(self) -> None:
        if not self.config.enabled:
            raise HTTPNotFound()


@view_defaults(context=FileContainer, route_name="api", renderer="json")
class FileCollectionApi(FilesView):
    @view_config(request_method="GET", permission=Permission.AUTHENTICATED)
    @operation(
        "The caller's files, newest change first (`files.enabled`)",
        responses={200: page_schema(FILE_SCHEMA)},
        query=LIST_QUERY,
        tag="files",
    )
    def list(self):
        self._check_enabled()
        request = self.request
        errors: dict = {}
        file_type = choice_param(request, "type", FileType, errors)
        state = choice_param(request, "upload_state", UploadState, errors)
        deleted = boolean_param(request, "is_deleted", errors)
        creator_me = boolean_param(request, "is_creator_me", errors)
        if errors:
            raise ValidationError(errors)
        page, size = page_params(request, PAGE_SIZE)
        query = select(File).where(
            File.creator_id == request.identity.user_id, File.hard_deleted_at.is_(None)
        )
        if creator_me is False:
            query = query.where(false())  # nobody else's files are visible
        if file_type is not None:
            query = query.where(File.type == file_type)
        if state is not None:
            query = query.where(File.upload_state == state)
        if deleted:
            query = query.where(File.deleted_at.is_not(None))
        else:
            query = query.where(File.deleted_at.is_(None))
        db = request.dbsession
        count = db.scalar(select(func.count()).select_from(query.subquery()))
        check_page(page, size, count)
        files = db.scalars(
            query.order_by(*ordering(request), File.id).limit(size).offset((page - 1) * size)
        ).all()
        items = [file_json(request, f, self.config) for f in files]
        return page_json(request, items, count, page, size)

    @view_config(request_method="POST", permission=Permission.AUTHENTICATED)
    @operation(
        "Create a file, pending until its content is uploaded with `policy` (valid 60 s)"
        " and `upload-ended` is called; at most `files.max_per_user` per type",
        body=CREATE_BODY,
        responses={201: CREATED_FILE_SCHEMA},
        tag="files",
    )
    def create(self):
        self._check_enabled()
        request = self.request
        values, fields = CREATE_BODY.read(request)
        filename = values["filename"]
        if filename is not MISSING:
            filename = clean_filename(filename)
            extension = "." + filename.rpartition(".")[2].lower() if "." in filename else ""
            if not filename:
                fields.errors["filename"] = "This field may not be blank."
            elif extension not in self.config.allowed_extensions:
                fields.errors["filename"] = (
                    "This file extension is not allowed. Allowed extensions: "
                    + ", ".join(self.config.allowed_extensions)
                    + "."
                )
        file_id = values["id"]
        if file_id is not MISSING and request.dbsession.get(File, file_id) is not None:
            fields.errors["id"] = "A file with this id already exists."
        fields.check()
        files: Files = request.service(Files)
        file = files.create(
            request.dbsession,
            request.identity.user_id,
            values["type"],
            filename,
            None if values["title"] is MISSING else values["title"],
            None if file_id is MISSING else file_id,
        )
        policy = files.upload_url(file)
        request.response.status = 201
        return {**file_json(request, file, self.config), "policy": policy}

    @view_config(name="media-auth", request_method="GET", permission=Permission.AUTHENTICATED)
    @operation(
        "For an nginx `auth_request`: may the caller GET the file at X-Original-URL"
        " (`<media_url>files/<id>.<ext>`)?",
        responses={200: {"type": "string", "const": "authorized"}},
        tag="files",
    )
    def media_auth(self):
        self._check_enabled()
        request = self.request
        original = request.headers.get("X-Original-URL")
        if not original:
            raise Refused("Missing X-Original-URL header.")
        match = media_path_pattern(self.config).match(urlsplit(original).path)
        if match is None:
            raise Refused("Unexpected media path.")
        file = request.dbsession.get(File, uuid.UUID(match.group("id")))
        if file is None or file.hard_deleted_at is not None:
            raise NotFound("No file found for this request.")
        if file.extension != "." + match.group("extension").lower():
            raise NotFound("No file found with this extension.")
        if file.creator_id != request.identity.user_id or file.is_deleted:
            raise Refused("You do not have permission to perform this action.")
        if file.upload_state != UploadState.READY:
            raise Refused("The file is not ready.")
        headers = request.service(FileStorage).signed_get_headers(file.key)
        request.response.headers.update(headers)
        return "authorized"


def media_path_pattern(config: FilesConfig) -> re.Pattern:
    return re.compile(
        "^"
        + re.escape(config.media_url + "files/")
        + r"(?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
        + r"\.(?P<extension>[A-Za-z0-9]+)$"
    )


@view_defaults(context=FileResource, route_name="api", renderer="json")
class FileApi(FilesView):
    @view_config(request_method="GET", permission=Permission.FILE_VIEW)
    @operation("One of the caller's files", responses={200: FILE_SCHEMA}, tag="files")
    def retrieve(self):
        return file_json(self.request, self.context.file, self.config)

    @view_config(request_method=("PUT", "PATCH"), permission=Permission.FILE_UPDATE)
    @operation(
        "Rename one of the caller's files",
        body=UPDATE_BODY,
        responses={200: FILE_SCHEMA},
        tag="files",
    )
    def update(self):
        values = UPDATE_BODY.parse(self.request, partial=self.request.method == "PATCH")
        file = self.context.file
        if values["title"] is not MISSING:
            file.title = values["title"]
            self.request.dbsession.flush()
        return file_json(self.request, file, self.config)

    @view_config(request_method="DELETE", permission=Permission.FILE_DELETE)
    @operation("Delete one of the caller's files (softly)", responses={204: None}, tag="files")
    def delete(self):
        Files.soft_delete(self.context.file)
        self.request.dbsession.flush()
        return HTTPNoContent()

    @view_config(name="upload-ended", request_method="POST", permission=Permission.FILE_UPDATE)
    @operation(
        "The content is uploaded: check its type and size, then keep it (ready) or refuse"
        " it (400, the file is deleted)",
        responses={200: FILE_SCHEMA},
        tag="files",
    )
    def upload_ended(self):
        file = self.request.service(Files).end_upload(self.request, self.context.file)
        return file_json(self.request, file, self.config)

    @view_config(name="content", request_method="GET", permission=Permission.FILE_VIEW)
    @operation(
        "The content of one of the caller's ready files, streamed by the app",
        responses={200: None},  # the image's own bytes and type
        tag="files",
    )
    def content(self):
        file = self.context.file
        if file.upload_state != UploadState.READY or file.is_deleted:
            raise NotFound(NOT_READY)
        try:
            body = self.request.service(FileStorage).open(file.key)
        except ObjectMissing as exc:
            raise NotFound(NOT_READY) from exc
        except StorageError as exc:
            raise StorageDown(STORAGE_DOWN) from exc
        response = self.request.response
        response.content_type = file.mimetype
        response.content_length = file.size
        response.app_iter = streamed(body)
        return response


def streamed(body):
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()

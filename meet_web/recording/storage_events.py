"""The legacy completion path (reference §5.4): the bucket's event notification that a
recording's object was written, from MinIO or S3, instead of LiveKit's egress_ended.

A parser reads `Records[0].s3.object.key` and `Records[0].s3.bucket.name`. MinIO sends
the key URL-encoded (`recordings%2F<id>.mp4`) with its content type; S3 sends it raw,
so it is encoded here and the type guessed from the extension.
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from dataclasses import dataclass
from urllib.parse import quote

MEDIA_TYPES = ("audio/ogg", "video/mp4")


class InvalidEvent(Exception):
    """The body is no event notification (403 "Invalid request data.")."""


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str  # URL-encoded
    content_type: str


def _record(body) -> dict:
    try:
        record = body["Records"][0]["s3"]
        bucket = record["bucket"]["name"]
        obj = record["object"]
        key = obj["key"]
    except (KeyError, IndexError, TypeError) as exc:
        raise InvalidEvent("no Records[0].s3 object key and bucket name") from exc
    if not isinstance(bucket, str) or not isinstance(key, str) or not isinstance(obj, dict):
        raise InvalidEvent("the key and bucket name must be strings")
    return {"bucket": bucket, "key": key, "object": obj}


def parse_minio(body) -> StoredObject:
    record = _record(body)
    content_type = record["object"].get("contentType") or ""
    return StoredObject(record["bucket"], record["key"], str(content_type))


def parse_s3(body) -> StoredObject:
    record = _record(body)
    key = quote(record["key"], safe="%+")
    content_type = mimetypes.guess_type(record["key"])[0] or ""
    if record["key"].endswith(".ogg"):
        content_type = "audio/ogg"  # mimetypes says audio/x-vorbis+ogg on some systems
    return StoredObject(record["bucket"], key, content_type)


PARSERS = {"minio": parse_minio, "s3": parse_s3}


def recording_id_in(key: str, output_folder: str) -> uuid.UUID | None:
    """The id in an encoded key `[<encoded parents>%2F]<folder>%2F<uuid>.<ext>`."""
    folder = re.escape(quote(output_folder, safe=""))
    pattern = (
        rf"^(?:[^/]*%2F)?{folder}%2F"
        r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(?:mp4|ogg)$"
    )
    match = re.match(pattern, key, flags=re.IGNORECASE)
    return uuid.UUID(match.group(1)) if match else None

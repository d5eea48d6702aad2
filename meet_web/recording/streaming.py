"""An object of the store served through the app, with HTTP ranges (RFC 9110 §14), so
that players seek and downloads resume where no media front (nginx) serves the bucket.

The object is never held in memory: the store is asked for the bytes the request wants
(GetObject with `Range`) and its body is handed to the WSGI server as an iterable of
`CHUNK_SIZE` pieces, closed once sent (or once the client has gone).

Each request first reads the object's size and ETag (HeadObject): a range is checked
against the size before any byte is asked for, and the ranged read is made `If-Match`
that ETag, so the `Content-Range` announced always describes the bytes sent.

Ranges: one `bytes=first-last`, `first-` or `-suffix` is answered with 206; one that
starts past the end (or `-0`) with 416 and `Content-Range: bytes */<size>`. A header
that is malformed, names another unit, asks for several ranges, or comes with an
`If-Range` that no longer matches is ignored: the whole object, 200 (RFC 9110 §14.2
lets a server ignore a Range it will not serve). HEAD answers the headers of the whole
object; Range applies to GET only.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote

from pyramid.httpexceptions import (
    HTTPBadGateway,
    HTTPRequestRangeNotSatisfiable,
    HTTPServiceUnavailable,
)
from pyramid.response import Response

from ..services.errors import NotFound
from .storage import ObjectMissing, RecordingStorage, StorageError, StorageUnavailable

log = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
RETRY_AFTER = "5"

STORE_DOWN = "The recording store cannot be reached; try again in a few seconds."
STORE_REFUSED = "The recording store refused to give the recording."
OBJECT_MISSING = "The recording's file is missing from the store."
RANGE_NOT_SATISFIABLE = "The requested range is not within the recording."

_RANGE_SPEC = re.compile(r"([0-9]+)-([0-9]*)|-([0-9]+)")


@dataclass(frozen=True)
class RangeRequest:
    """One range as asked: `first-[last]`, or the last `suffix` bytes."""

    first: int | None
    last: int | None
    suffix: int | None = None

    def within(self, size: int) -> ByteRange | None:
        """The bytes of an object of `size` it selects; None when it selects none."""
        if self.suffix is not None:
            if self.suffix == 0 or size == 0:
                return None
            return ByteRange(max(0, size - self.suffix), size - 1)
        if self.first is None or self.first >= size:
            return None
        last = size - 1 if self.last is None else min(self.last, size - 1)
        return ByteRange(self.first, last)


@dataclass(frozen=True)
class ByteRange:
    first: int
    last: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.last - self.first + 1


def parse_range(header: str | None) -> RangeRequest | None:
    """The single byte range a Range header asks for; None when it is to be ignored."""
    if not header:
        return None
    unit, equals, ranges = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    specs = [spec.strip(" \t") for spec in ranges.split(",")]
    specs = [spec for spec in specs if spec]  # a list may hold empty elements
    if len(specs) != 1:
        return None
    match = _RANGE_SPEC.fullmatch(specs[0])
    if match is None:
        return None
    first, last, suffix = match.groups()
    try:
        if suffix is not None:
            return RangeRequest(None, None, int(suffix))
        start, end = int(first), int(last) if last else None
    except ValueError:  # more digits than int() accepts
        return None
    if end is not None and end < start:
        return None  # invalid (RFC 9110 §14.1.1)
    return RangeRequest(start, end)


def if_range_holds(if_range: str | None, stored) -> bool:
    """Whether a Range may be served under the request's If-Range (true without one):
    its entity tag must equal the object's (strongly), or its date the object's date."""
    if not if_range:
        return True
    if_range = if_range.strip()
    if if_range.startswith(('"', "W/")):
        return not if_range.startswith("W/") and if_range == stored.etag
    try:
        moment = parsedate_to_datetime(if_range)
    except (TypeError, ValueError):
        return False
    return stored.last_modified is not None and moment == stored.last_modified


def content_disposition(disposition: str, filename: str) -> str:
    """`inline` or `attachment`, with the name both as ASCII and as UTF-8 (RFC 6266)."""
    name = "".join(c for c in filename if c.isprintable() and c not in '/\\"') or "recording"
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or "recording"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class ObjectBody:
    """The store's body as a WSGI iterable: CHUNK_SIZE pieces, closed at the end.

    A read that fails halfway ends the body early (the status is already sent): the
    client sees fewer bytes than Content-Length announced, and the server drops the
    connection.
    """

    def __init__(self, body, key: str, chunk_size: int = CHUNK_SIZE):
        self.body, self.key, self.chunk_size = body, key, chunk_size

    def __iter__(self):
        from botocore.exceptions import BotoCoreError
        from urllib3.exceptions import HTTPError

        try:
            yield from self.body.iter_chunks(self.chunk_size)
        except (BotoCoreError, HTTPError, OSError) as exc:
            log.warning("reading %s from the store failed halfway: %s", self.key, exc)

    def close(self) -> None:
        self.body.close()


class RangeNotSatisfiable(HTTPRequestRangeNotSatisfiable):
    """416; its answer carries `Content-Range: bytes */<size>` (views/pages/recordings.py)."""

    def __init__(self, size: int):
        super().__init__(detail=RANGE_NOT_SATISFIABLE)
        self.size = size


def store_failure(exc: StorageError) -> Exception:
    """What the caller is told when the store fails: 404, 503 (try again) or 502."""
    if isinstance(exc, ObjectMissing):
        log.error("a saved recording has no object: %s", exc)
        return NotFound(OBJECT_MISSING)
    if isinstance(exc, StorageUnavailable):
        log.error("the recording store is unavailable: %s", exc)
        return HTTPServiceUnavailable(detail=STORE_DOWN, headers={"Retry-After": RETRY_AFTER})
    log.error("the recording store refused a read: %s", exc)
    return HTTPBadGateway(detail=STORE_REFUSED)


def stream_object(
    request, storage: RecordingStorage, key: str, *, filename: str, content_type: str
) -> Response:
    """The object at `key` as the answer to a GET or HEAD, honouring Range; played in the
    page (inline) unless the query asks `?download=1` (attachment)."""
    try:
        stored = storage.head(key)
    except StorageError as exc:
        raise store_failure(exc) from exc
    disposition = "attachment" if request.GET.get("download") == "1" else "inline"
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(disposition, filename),
        "Cache-Control": "private",
    }
    if stored.etag:
        headers["ETag"] = stored.etag
    if stored.last_modified is not None:
        headers["Last-Modified"] = format_datetime(stored.last_modified, usegmt=True)
    if request.method == "HEAD":
        return _response(200, headers, content_type, stored.size, [])
    wanted = parse_range(request.headers.get("Range"))
    byte_range = None
    if wanted is not None and if_range_holds(request.headers.get("If-Range"), stored):
        byte_range = wanted.within(stored.size)
        if byte_range is None:
            raise RangeNotSatisfiable(stored.size)
    if byte_range is None:
        status, length, asked = 200, stored.size, None
    else:
        status, length = 206, byte_range.length
        asked = (byte_range.first, byte_range.last)
        headers["Content-Range"] = f"bytes {byte_range.first}-{byte_range.last}/{stored.size}"
    try:
        body = storage.open(key, asked, etag=stored.etag)
    except StorageError as exc:
        raise store_failure(exc) from exc
    return _response(status, headers, content_type, length, ObjectBody(body, key))


def _response(status: int, headers: dict, content_type: str, length: int, app_iter) -> Response:
    response = Response(status=status, content_type=content_type, charset=None, app_iter=app_iter)
    response.headers.update(headers)
    response.content_length = length
    return response

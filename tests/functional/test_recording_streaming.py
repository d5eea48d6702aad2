"""The app's own stream of a recording (`/recordings/<id>/media`): HTTP ranges as RFC 9110
says, HEAD, the download disposition, the store failing, and bytes sent in chunks
straight from the store (moto's S3 server), never the whole object at once."""

from __future__ import annotations

import html
import threading
from datetime import UTC
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from webob import Request

from meet_web.recording import RecordingStorage
from meet_web.recording.storage import StorageUnavailable
from meet_web.recording.streaming import (
    CHUNK_SIZE,
    OBJECT_MISSING,
    ByteRange,
    RangeRequest,
    parse_range,
)
from tests.conftest import RECORDINGS_BUCKET, app_service, make_recording, put_object
from tests.servers.livekit_fake import unused_url

DATA = bytes(range(256)) * 1000  # 256,000 bytes, each offset recognisable
SIZE = len(DATA)


def head_object(s3, key: str) -> dict:
    client = s3.client()
    try:
        return client.head_object(Bucket=RECORDINGS_BUCKET, Key=key)
    finally:
        client.close()


@pytest.fixture
def client(recording_app, cast):
    app = recording_app()
    app.login_as(cast.owner)
    return app


@pytest.fixture
def saved(dbsession, cast, s3):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    put_object(s3, f"recordings/{recording.id}.mp4", DATA)
    return recording


def media(recording) -> str:
    return f"/recordings/{recording.id}/media"


# -- whole object, ranges ------------------------------------------------------------------


def test_whole_object(client, saved):
    res = client.get(media(saved), status=200)
    assert res.body == DATA
    assert res.headers["Accept-Ranges"] == "bytes"
    assert res.headers["Content-Length"] == str(SIZE)
    assert res.headers["Content-Type"] == "video/mp4"
    assert "Content-Range" not in res.headers
    disposition = res.headers["Content-Disposition"]
    assert disposition.startswith('inline; filename="Team Room ')
    assert disposition.endswith(".mp4")
    assert res.headers["ETag"].startswith('"')


def test_download_is_an_attachment(client, saved):
    res = client.get(media(saved), {"download": "1"}, status=200)
    assert res.headers["Content-Disposition"].startswith('attachment; filename="Team Room ')
    assert res.body == DATA


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-1999", 1000, 1999),
        ("bytes=0-0", 0, 0),
        (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE - 1),
        ("bytes=255000-", 255000, SIZE - 1),  # a-
        ("bytes=-500", SIZE - 500, SIZE - 1),  # -n
        (f"bytes=-{SIZE * 4}", 0, SIZE - 1),  # a suffix longer than the object: all of it
        (f"bytes=250000-{SIZE * 10}", 250000, SIZE - 1),  # a last byte past the end
        ("Bytes=10-19", 10, 19),  # the unit is case-insensitive
        ("bytes=10-19, ", 10, 19),  # an empty list element does not count
    ],
)
def test_satisfiable_ranges_are_206(client, saved, header, first, last):
    res = client.get(media(saved), headers={"Range": header}, status=206)
    assert res.headers["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert res.headers["Content-Length"] == str(last - first + 1)
    assert res.headers["Accept-Ranges"] == "bytes"
    assert res.body == DATA[first : last + 1]


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE * 2}-{SIZE * 3}", "bytes=-0"])
def test_a_range_past_the_end_is_416(client, saved, header):
    res = client.get(media(saved), headers={"Range": header}, status=416)
    assert res.headers["Content-Range"] == f"bytes */{SIZE}"
    assert res.content_type == "text/html"
    assert "The requested range is not within the recording." in res.text


@pytest.mark.parametrize(
    "header",
    [
        "bytes=abc",
        "bytes=20-10",  # last before first: invalid, so ignored
        "bytes=",
        "bytes=--5",
        "bytes=1-2-3",
        "bytes 0-5",
        "items=0-5",  # a unit this server does not know
        "bytes=0-1,5-6",  # several ranges: served whole
        "bytes=\u0661-\u0662",  # digits, but not ASCII ones
        "bytes=" + "9" * 5000 + "-",  # more digits than a number takes
    ],
)
def test_a_malformed_or_unsupported_range_gets_the_whole_object(client, saved, header):
    res = client.get(media(saved), headers={"Range": header}, status=200)
    assert res.body == DATA
    assert "Content-Range" not in res.headers


def test_head_answers_the_headers_of_the_whole_object(client, saved):
    res = client.head(media(saved), status=200)
    assert res.body == b""
    assert res.headers["Content-Length"] == str(SIZE)
    assert res.headers["Accept-Ranges"] == "bytes"
    assert res.headers["Content-Type"] == "video/mp4"
    # Range is defined for GET only
    ranged = client.head(media(saved), headers={"Range": "bytes=0-9"}, status=200)
    assert ranged.headers["Content-Length"] == str(SIZE)
    assert "Content-Range" not in ranged.headers


def test_if_range(client, saved, s3):
    stored = head_object(s3, f"recordings/{saved.id}.mp4")
    etag = stored["ETag"]
    modified = format_datetime(stored["LastModified"].astimezone(UTC), usegmt=True)
    ranged = {"Range": "bytes=0-9"}
    for validator in (etag, modified):
        res = client.get(media(saved), headers={**ranged, "If-Range": validator}, status=206)
        assert res.body == DATA[:10]
    for stale in ('"another"', f"W/{etag}", "Mon, 01 Jan 2001 00:00:00 GMT", "not a date"):
        res = client.get(media(saved), headers={**ranged, "If-Range": stale}, status=200)
        assert res.body == DATA


def test_an_empty_object(client, saved, s3):
    put_object(s3, f"recordings/{saved.id}.mp4", b"")
    assert client.get(media(saved), status=200).body == b""
    res = client.get(media(saved), headers={"Range": "bytes=0-"}, status=416)
    assert res.headers["Content-Range"] == "bytes */0"


def test_an_ogg_transcript(client, cast, dbsession, s3):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"}, mode="transcript")
    put_object(s3, f"recordings/{recording.id}.ogg", b"OggS" + DATA[:96])
    res = client.get(media(recording), headers={"Range": "bytes=0-3"}, status=206)
    assert res.headers["Content-Type"] == "audio/ogg"
    assert res.body == b"OggS"


# -- the store failing -----------------------------------------------------------------------


def test_store_down_is_a_503_page(recording_app, cast, saved):
    down = recording_app(**{"s3.endpoint_url": unused_url()})
    down.login_as(cast.owner)
    res = down.get(media(saved), status=503)
    assert res.headers["Retry-After"] == "5"
    assert res.content_type == "text/html"
    assert "The recording store cannot be reached; try again in a few seconds." in res.text
    down.head(media(saved), status=503)


class RefusingStore(ThreadingHTTPServer):
    """An S3 endpoint on loopback that refuses every request (403 AccessDenied), as a
    store with the wrong credentials or policy does."""

    class Handler(BaseHTTPRequestHandler):
        def refuse(self):
            body = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
            self.send_response(403)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            self.refuse()

        def do_HEAD(self):
            self.refuse()

        def log_message(self, *args):
            pass

    def __init__(self):
        super().__init__(("127.0.0.1", 0), self.Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def refusing_store():
    server = RefusingStore()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_store_refusing_is_a_502_page(recording_app, cast, saved, refusing_store):
    refusing = recording_app(**{"s3.endpoint_url": refusing_store.url})
    refusing.login_as(cast.owner)
    res = refusing.get(media(saved), status=502)
    assert "The recording store refused to give the recording." in res.text


def test_a_missing_object_is_a_404_page(client, cast, dbsession, s3):
    recording = make_recording(dbsession, cast.room, {cast.owner: "owner"})
    res = client.get(media(recording), status=404)
    assert OBJECT_MISSING in html.unescape(res.text)


def test_an_object_changed_since_its_head_is_not_mixed_up(client, saved, s3):
    """The ranged read is made If-Match the ETag the HEAD gave: bytes of a newer object
    never go out under the older one's Content-Range (the caller may try again)."""
    storage = app_service(client.app, RecordingStorage)
    key = f"recordings/{saved.id}.mp4"
    stored = storage.head(key)
    put_object(s3, key, DATA[::-1])
    with pytest.raises(StorageUnavailable):
        storage.open(key, (0, 9), etag=stored.etag)
    body = storage.open(key, (0, 9), etag=storage.head(key).etag)
    try:
        assert body.read() == DATA[::-1][:10]
    finally:
        body.close()


# -- in chunks, from the store -----------------------------------------------------------------


def open_stream(client, path: str, headers: dict | None = None):
    """The app's answer with its body not yet read: (status, headers, app_iter)."""
    request = Request.blank(path, headers=headers or {}, environ=dict(client.extra_environ))
    request.headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in client.cookiejar)
    return request.call_application(client.app)


def test_a_big_object_is_streamed_in_chunks(client, saved, s3):
    big = DATA * 10  # 2.4 MB
    put_object(s3, f"recordings/{saved.id}.mp4", big)
    status, headers, app_iter = open_stream(client, media(saved))
    assert status == "200 OK"
    assert dict(headers)["Content-Length"] == str(len(big))
    try:
        chunks = list(app_iter)
    finally:
        app_iter.close()
    assert b"".join(chunks) == big
    assert len(chunks) >= len(big) // CHUNK_SIZE
    assert max(len(chunk) for chunk in chunks) <= CHUNK_SIZE


def test_a_ranged_read_is_streamed_too_and_closed_when_the_client_leaves(client, saved, s3):
    big = DATA * 10
    put_object(s3, f"recordings/{saved.id}.mp4", big)
    status, _headers, app_iter = open_stream(
        client, media(saved), {"Range": "bytes=100000-1099999"}
    )
    assert status == "206 Partial Content"
    pieces = iter(app_iter)
    first = next(pieces)
    assert first == big[100000 : 100000 + len(first)]
    assert len(first) <= CHUNK_SIZE
    app_iter.close()  # what the WSGI server does when the client goes away
    assert app_iter.body._raw_stream.closed


# -- the Range header, parsed ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", RangeRequest(0, 9)),
        ("bytes=5-", RangeRequest(5, None)),
        ("bytes=-7", RangeRequest(None, None, 7)),
        (" bytes = 1-2 ", RangeRequest(1, 2)),
        ("bytes=2-1", None),
        ("bytes=0-1,3-4", None),
        ("pages=1-2", None),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header) == expected


@pytest.mark.parametrize(
    ("wanted", "size", "expected"),
    [
        (RangeRequest(0, 9), 5, ByteRange(0, 4)),
        (RangeRequest(5, None), 5, None),
        (RangeRequest(None, None, 0), 5, None),
        (RangeRequest(None, None, 9), 5, ByteRange(0, 4)),
        (RangeRequest(None, None, 2), 0, None),
    ],
)
def test_range_within_an_object(wanted, size, expected):
    assert wanted.within(size) == expected

"""What a stored file really is, from its first bytes.

The image types a background may be are told by their signatures. Other well-known
kinds of content (documents, archives, programs, text) are told too, so that they are
refused as what they are. Only content that matches no signature at all and is not
text falls back on the file name's extension, as the reference does when its content
detection answers the generic `application/octet-stream`.
"""

from __future__ import annotations

from .config import IMAGE_TYPES

HEAD_BYTES = 64  # enough for every signature below

OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain"

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"\x7fELF", "application/x-executable"),
    (b"MZ", "application/x-dosexec"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


def _is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by the end of the sample is still text
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def sniff(head: bytes, filename: str) -> str:
    """The mimetype of content starting with `head`, stored as `filename`."""
    if _is_webp(head):
        return "image/webp"
    for signature, mimetype in _SIGNATURES:
        if head.startswith(signature):
            return mimetype
    if not head or _looks_like_text(head):
        return TEXT
    _, dot, extension = filename.rpartition(".")
    return IMAGE_TYPES.get(f".{extension.lower()}", OCTET_STREAM) if dot else OCTET_STREAM

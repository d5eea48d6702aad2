"""The files package's pure parts: content sniffing, the settings, and the segmentation
model the Makefile writes (its metadata read back through the FlatBuffers offsets)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from meet_web.files.config import FilesConfig
from meet_web.files.segmentation_model import (
    BUFFERS,
    METADATA,
    Reader,
    image_input_metadata,
    with_metadata,
)
from meet_web.files.sniffing import sniff
from meet_web.settings import SettingsError
from tests.conftest import make_png

NPM_MODEL = (
    Path(__file__).resolve().parents[2]
    / "node_modules/@mediapipe/selfie_segmentation/selfie_segmentation.tflite"
)


@pytest.mark.parametrize(
    ("head", "filename", "mimetype"),
    [
        (make_png(), "a.png", "image/png"),
        (make_png(), "a.jpg", "image/png"),  # the content decides, not the name
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "a.jpg", "image/jpeg"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "a.webp", "image/webp"),
        (b"GIF89a\x01\x00", "a.png", "image/gif"),
        (b"%PDF-1.4", "a.png", "application/pdf"),
        (b"PK\x03\x04", "a.png", "application/zip"),
        (b"hello, world\n", "a.png", "text/plain"),
        ("caf\u00e9 \u00e0 la cr\u00e8me".encode()[:9], "a.png", "text/plain"),  # cut mid-character
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "a.png", "text/plain"),
        (bytes(range(128, 192)), "a.png", "image/png"),  # unknown binary: the extension
        (bytes(range(128, 192)), "a.exe", "application/octet-stream"),
        (bytes(range(128, 192)), "noextension", "application/octet-stream"),
    ],
)
def test_sniff(head, filename, mimetype):
    assert sniff(head[:64], filename) == mimetype


def settings(**changes) -> dict:
    base = {
        "files.enabled": True,
        "files.max_per_user": 10,
        "files.max_size": 5 * 1024 * 1024,
        "files.allowed_extensions": [".png", "JPG", "jpeg", ".png"],
        "files.purge_grace_days": 7,
        "recording.media_url": "/media",
        "s3.endpoint_url": "",
        "s3.public_endpoint_url": "",
        "s3.bucket": "b",
        "s3.access_key_id": "",
        "s3.secret_access_key": "",
        "s3.region": "us-east-1",
    }
    return {**base, **changes}


def test_config_normalizes_extensions():
    config = FilesConfig.from_settings(settings())
    assert config.allowed_extensions == (".png", ".jpg", ".jpeg")
    assert config.allowed_mimetypes == ("image/png", "image/jpeg")
    assert config.media_url == "/media/"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"files.allowed_extensions": [".png", ".svg"]}, ".svg not supported"),
        ({"files.allowed_extensions": []}, "at least one extension"),
        ({"files.max_per_user": 0}, "files.max_per_user must be at least 1"),
        ({"files.max_size": 0}, "files.max_size must be a positive"),
        ({"files.purge_grace_days": -1}, "files.purge_grace_days must be 0 or more"),
    ],
)
def test_config_refuses_bad_settings(changes, problem):
    with pytest.raises(SettingsError, match=problem):
        FilesConfig.from_settings(settings(**changes))


def tiny_model() -> bytes:
    """A FlatBuffer shaped like a TFLite model without metadata: version, two buffers."""
    from meet_web.files.segmentation_model import Blob, Table, Vector, build

    buffers = Vector([Table(), Table({0: ("offset", Blob(b"weights!"))})])
    return build(Table({0: ("u32", 3), BUFFERS: ("offset", buffers)}), b"TFL3")


def read_metadata(model: bytes) -> tuple[str, bytes, list[bytes]]:
    """(the metadata entry's name, its buffer's bytes, every buffer's bytes)."""
    reader = Reader(model)
    root = reader.u32(0)
    buffers = reader.vector(reader.target(reader.field(root, BUFFERS)))

    def data(buffer: int) -> bytes:
        field = reader.field(buffer, 0)
        if field is None:
            return b""
        vector = reader.target(field)
        return model[vector + 4 : vector + 4 + reader.u32(vector)]

    [entry] = reader.vector(reader.target(reader.field(root, METADATA)))
    name = reader.target(reader.field(entry, 0))
    text = model[name + 4 : name + 4 + reader.u32(name)].decode()
    index = reader.u32(reader.field(entry, 1))
    return text, data(buffers[index]), [data(b) for b in buffers]


def test_metadata_is_added_and_the_model_kept():
    metadata = image_input_metadata(mean=0.0, std=255.0)
    model = with_metadata(tiny_model(), metadata)
    name, stored, every = read_metadata(model)
    assert (name, stored) == ("TFLITE_METADATA", metadata)
    assert every[:2] == [b"", b"weights!"]  # the old buffers, unchanged
    assert model[4:8] == b"TFL3"
    assert metadata[4:8] == b"M001"
    data_start = model.index(metadata)
    assert data_start % 16 == 0  # buffer data aligned as TFLite's schema asks
    with pytest.raises(ValueError, match="already has metadata"):
        with_metadata(model, metadata)


def test_the_metadata_says_rgb_normalized():
    metadata = image_input_metadata(mean=0.0, std=255.0)
    reader = Reader(metadata)
    root = reader.u32(0)
    [subgraph] = reader.vector(reader.target(reader.field(root, 3)))
    [tensor] = reader.vector(reader.target(reader.field(subgraph, 2)))
    content = reader.target(reader.field(tensor, 3))
    assert metadata[reader.field(content, 0)] == 2  # ImageProperties
    image = reader.target(reader.field(content, 1))
    assert metadata[reader.field(image, 0)] == 1  # RGB
    [unit] = reader.vector(reader.target(reader.field(tensor, 4)))
    assert metadata[reader.field(unit, 0)] == 1  # NormalizationOptions
    options = reader.target(reader.field(unit, 1))
    mean = reader.target(reader.field(options, 0))
    std = reader.target(reader.field(options, 1))
    assert struct.unpack_from("<If", metadata, mean) == (1, 0.0)
    assert struct.unpack_from("<If", metadata, std) == (1, 255.0)


@pytest.mark.skipif(not NPM_MODEL.is_file(), reason="npm ci installs the model")
def test_the_npm_model(tmp_path):
    from meet_web.files import segmentation_model

    target = tmp_path / "selfie_segmenter.tflite"
    assert segmentation_model.main([str(NPM_MODEL), str(target)]) == 0
    model = target.read_bytes()
    assert model.endswith(NPM_MODEL.read_bytes())
    name, stored, _ = read_metadata(model)
    assert name == "TFLITE_METADATA" and stored[4:8] == b"M001"

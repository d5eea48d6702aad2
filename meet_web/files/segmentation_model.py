"""The camera backgrounds' segmentation model, made from the one npm ships.

`python3 meet_web/files/segmentation_model.py <source.tflite> <target.tflite>` (the
Makefile's vendor step; it needs the standard library only) writes MediaPipe's selfie
segmentation model (from the npm package @mediapipe/selfie_segmentation, 256x256 RGB in,
the person's probability out) with the TFLite metadata that MediaPipe's ImageSegmenter,
which @livekit/track-processors runs, insists on: an RGB image input normalized from
0..255 to 0..1. The model ships without any, and the models that carry it are not in a
package registry.

TFLite models are FlatBuffers, whose offsets only point forward. So the model is not
rewritten: a new root table is laid out first, pointing forward at the old model's
operators, subgraphs and buffers (copied unchanged, at an aligned place after it), plus
one more buffer holding the metadata (itself a small FlatBuffer, `M001`) and the
`TFLITE_METADATA` entry naming it. Field numbers are those of TFLite's schema.fbs and of
tflite-support's metadata_schema.fbs.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

OLD_BLOCK_ALIGNMENT = 64  # the old model's own alignments hold when it starts at such a place

# TFLite schema.fbs: table Model
MODEL_VERSION, OPERATOR_CODES, SUBGRAPHS, DESCRIPTION = 0, 1, 2, 3
BUFFERS, METADATA_BUFFER, METADATA, SIGNATURE_DEFS = 4, 5, 6, 7
MODEL_FIELDS = 8
# metadata_schema.fbs: the union type numbers and enum values used here
IMAGE_PROPERTIES = 2  # ContentProperties.ImageProperties
NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions.NormalizationOptions
RGB = 1  # ColorSpaceType.RGB


# -- writing FlatBuffers front to back ---------------------------------------------------


@dataclass
class Table:
    """Fields by slot: ("u8" | "u32", int) scalars or ("offset", object) references."""

    fields: dict[int, tuple[str, object]] = field(default_factory=dict)


@dataclass
class Vector:
    items: list  # objects to refer to, or floats when `floats`
    floats: bool = False


@dataclass
class String:
    text: str


@dataclass
class Blob:
    data: bytes
    alignment: int = 16  # where its bytes (after the length) start


@dataclass
class At:
    """An object already in the buffer, at this position."""

    position: int


class Writer:
    """Lays objects out in order, each after the ones referring to it, then patches the
    references (every offset points forward)."""

    def __init__(self, header: bytes = b""):
        self.out = bytearray(header)
        self.pending: list[tuple[int, object]] = []  # (offset field position, target)
        self.placed: dict[int, int] = {}  # id(object) -> position

    def pad_to(self, alignment: int, extra: int = 0) -> None:
        while (len(self.out) + extra) % alignment:
            self.out.append(0)

    def reference(self, target) -> None:
        self.pad_to(4)
        self.pending.append((len(self.out), target))
        self.out += b"\0\0\0\0"

    def place(self, obj) -> None:
        if isinstance(obj, At) or id(obj) in self.placed:
            return
        if isinstance(obj, Table):
            self._table(obj)
        elif isinstance(obj, Vector):
            self._vector(obj)
        elif isinstance(obj, String):
            self.pad_to(4)
            self.placed[id(obj)] = len(self.out)
            encoded = obj.text.encode()
            self.out += struct.pack("<I", len(encoded)) + encoded + b"\0"
        elif isinstance(obj, Blob):
            self.pad_to(obj.alignment, extra=4)
            self.placed[id(obj)] = len(self.out)
            self.out += struct.pack("<I", len(obj.data)) + obj.data

    def _table(self, table: Table) -> None:
        slots = max(table.fields) + 1 if table.fields else 0
        self.pad_to(2)
        vtable = len(self.out)
        self.out += b"\0" * (4 + 2 * slots)
        self.pad_to(4)
        start = len(self.out)
        self.placed[id(table)] = start
        self.out += struct.pack("<i", start - vtable)
        where = {}
        four = [s for s, (kind, _) in table.fields.items() if kind in ("u32", "offset")]
        one = [s for s, (kind, _) in table.fields.items() if kind == "u8"]
        for slot in sorted(four) + sorted(one):
            kind, value = table.fields[slot]
            where[slot] = len(self.out) - start
            if kind == "offset":
                self.reference(value)
            elif kind == "u32":
                self.out += struct.pack("<I", value)
            else:
                self.out += struct.pack("<B", value)
        self.pad_to(4)
        struct.pack_into("<HH", self.out, vtable, 4 + 2 * slots, len(self.out) - start)
        for slot, offset in where.items():
            struct.pack_into("<H", self.out, vtable + 4 + 2 * slot, offset)
        for kind, value in table.fields.values():
            if kind == "offset":
                self.place(value)

    def _vector(self, vector: Vector) -> None:
        self.pad_to(4)
        self.placed[id(vector)] = len(self.out)
        self.out += struct.pack("<I", len(vector.items))
        if vector.floats:
            self.out += struct.pack(f"<{len(vector.items)}f", *vector.items)
            return
        for item in vector.items:
            self.reference(item)
        for item in vector.items:
            self.place(item)

    def finish(self, shift: int = 0) -> bytearray:
        """Patch the references; objects `At` a position are `shift` further on."""
        for position, target in self.pending:
            address = target.position + shift if isinstance(target, At) else self.placed[id(target)]
            if address <= position:
                raise ValueError("FlatBuffers offsets point forward")
            struct.pack_into("<I", self.out, position, address - position)
        return self.out


def build(root: Table, identifier: bytes) -> bytes:
    writer = Writer()
    writer.reference(root)
    writer.out += identifier
    writer.place(root)
    return bytes(writer.finish())


# -- reading the old model -----------------------------------------------------------------


class Reader:
    def __init__(self, data: bytes):
        self.data = data

    def u32(self, position: int) -> int:
        return struct.unpack_from("<I", self.data, position)[0]

    def target(self, position: int) -> int:
        return position + self.u32(position)

    def field(self, table: int, slot: int) -> int | None:
        """The position of a table's field, None when it is absent."""
        vtable = table - struct.unpack_from("<i", self.data, table)[0]
        size = struct.unpack_from("<H", self.data, vtable)[0]
        if 4 + 2 * slot >= size:
            return None
        offset = struct.unpack_from("<H", self.data, vtable + 4 + 2 * slot)[0]
        return table + offset if offset else None

    def vector(self, position: int) -> list[int]:
        """The positions of the objects a vector of offsets refers to."""
        count = self.u32(position)
        return [self.target(position + 4 + 4 * i) for i in range(count)]


# -- the metadata --------------------------------------------------------------------------


def image_input_metadata(mean: float, std: float) -> bytes:
    """ModelMetadata: one subgraph, its input an RGB image normalized (x - mean) / std."""
    normalization = Table(
        {0: ("offset", Vector([mean], floats=True)), 1: ("offset", Vector([std], floats=True))}
    )
    process_unit = Table({0: ("u8", NORMALIZATION_OPTIONS), 1: ("offset", normalization)})
    image = Table({0: ("u8", RGB)})
    content = Table({0: ("u8", IMAGE_PROPERTIES), 1: ("offset", image)})
    tensor_in = Table(
        {
            0: ("offset", String("image")),
            3: ("offset", content),
            4: ("offset", Vector([process_unit])),
        }
    )
    tensor_out = Table({0: ("offset", String("segmentation_mask"))})
    subgraph = Table({2: ("offset", Vector([tensor_in])), 3: ("offset", Vector([tensor_out]))})
    model = Table(
        {
            0: ("offset", String("Selfie segmentation")),
            3: ("offset", Vector([subgraph])),
            5: ("offset", String("Apache-2.0")),
            7: ("offset", String("1.0.0")),
        }
    )
    return build(model, b"M001")


def with_metadata(model: bytes, metadata: bytes) -> bytes:
    old = Reader(model)
    root = old.u32(0)
    if old.field(root, METADATA) is not None:
        raise ValueError("the model already has metadata")
    fields: dict[int, tuple[str, object]] = {}
    version = old.field(root, MODEL_VERSION)
    fields[MODEL_VERSION] = ("u32", old.u32(version) if version is not None else 3)
    for slot in (OPERATOR_CODES, SUBGRAPHS, DESCRIPTION, METADATA_BUFFER, SIGNATURE_DEFS):
        position = old.field(root, slot)
        if position is not None:
            fields[slot] = ("offset", At(old.target(position)))
    buffers_field = old.field(root, BUFFERS)
    buffers = [At(p) for p in old.vector(old.target(buffers_field))] if buffers_field else []
    buffers.append(Table({0: ("offset", Blob(metadata))}))
    fields[BUFFERS] = ("offset", Vector(buffers))
    entry = Table({0: ("offset", String("TFLITE_METADATA")), 1: ("u32", len(buffers) - 1)})
    fields[METADATA] = ("offset", Vector([entry]))
    writer = Writer()
    writer.reference(Table(fields))
    writer.out += model[4:8]  # the file identifier, TFL3
    writer.place(writer.pending[0][1])
    writer.pad_to(OLD_BLOCK_ALIGNMENT)
    shift = len(writer.out)
    return bytes(writer.finish(shift)) + model


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)  # noqa: T201 - a build tool's usage
        return 2
    source, target = map(Path, args)
    # The selfie segmentation model takes RGB values scaled to 0..1.
    model = with_metadata(source.read_bytes(), image_input_metadata(mean=0.0, std=255.0))
    target.write_bytes(model)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

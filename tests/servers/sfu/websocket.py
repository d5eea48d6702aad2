"""Server side of RFC 6455 over a socket that FakeLiveKit's HTTP handler already upgraded.

The handler's thread reads frames (blocking); any thread may send. Only what browsers
send is handled: masked frames, fragmented messages, ping, close.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import BinaryIO

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final server frame."""
    head = bytearray([0x80 | opcode])
    length = len(payload)
    if length < 126:
        head.append(length)
    elif length < 1 << 16:
        head.append(126)
        head += length.to_bytes(2, "big")
    else:
        head.append(127)
        head += length.to_bytes(8, "big")
    return bytes(head) + payload


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def read_frame(stream: BinaryIO) -> tuple[bool, int, bytes] | None:
    """``(final, opcode, unmasked payload)`` of the next client frame; None at EOF."""
    head = _read_exactly(stream, 2)
    if head is None:
        return None
    final, opcode, length = bool(head[0] & 0x80), head[0] & 0x0F, head[1] & 0x7F
    if length == 126:
        raw = _read_exactly(stream, 2)
        length = int.from_bytes(raw or b"", "big")
    elif length == 127:
        raw = _read_exactly(stream, 8)
        length = int.from_bytes(raw or b"", "big")
    mask = _read_exactly(stream, 4) if head[1] & 0x80 else b"\0\0\0\0"
    payload = _read_exactly(stream, length) if length else b""
    if mask is None or payload is None:
        return None
    if mask != b"\0\0\0\0":
        key = (mask * (length // 4 + 1))[:length]
        payload = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(
            length, "big"
        )
    return final, opcode, payload


class WebSocket:
    """A server-side WebSocket on an upgraded connection."""

    def __init__(self, sock: socket.socket, rfile: BinaryIO) -> None:
        self._sock = sock
        self._rfile = rfile
        self._send_lock = threading.Lock()
        self.closed = False

    def send_binary(self, payload: bytes) -> None:
        self._send(OP_BINARY, payload)

    def close(self, code: int = 1000) -> None:
        """Send a close frame, then end the connection (the reader then sees EOF)."""
        if self.closed:
            return
        self._send(OP_CLOSE, code.to_bytes(2, "big"))
        self.closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, opcode: int, payload: bytes) -> None:
        with self._send_lock:
            if self.closed:
                return
            try:
                self._sock.sendall(encode_frame(opcode, payload))
            except OSError:
                self.closed = True

    def run(self, on_message: Callable[[bytes], None]) -> None:
        """Deliver each complete data message until the client closes or hangs up."""
        parts: list[bytes] = []
        try:
            while (frame := read_frame(self._rfile)) is not None:
                final, opcode, payload = frame
                if opcode == OP_CLOSE:
                    self._send(OP_CLOSE, payload[:2])
                    break
                if opcode == OP_PING:
                    self._send(OP_PONG, payload)
                    continue
                if opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
                    parts.append(payload)
                    if final:
                        on_message(b"".join(parts))
                        parts = []
        except OSError:
            pass
        finally:
            self.closed = True

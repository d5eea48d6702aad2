"""An in-process SMTP sink (aiosmtpd) on a free loopback port.

`refusing(reply)` makes it answer every message with an error reply (a relay that
refuses); a relay that is down is a port nobody listens on (`closed_port()`).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Self

from aiosmtpd.controller import Controller


@dataclass
class ReceivedMail:
    """One message as received: the parsed message plus its SMTP envelope.

    ``mail["Subject"]`` etc. are delegated to :attr:`message`.
    """

    message: EmailMessage
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes = field(repr=False)

    def __getitem__(self, header: str):
        return self.message[header]

    def get(self, header: str, default=None):
        return self.message.get(header, default)

    @property
    def subject(self) -> str:
        return self.message.get("Subject", "")

    @property
    def text(self) -> str:
        """The text/plain body (preferred over HTML), or '' if none."""
        body = self.message.get_body(preferencelist=("plain", "html"))
        return body.get_content() if body is not None else ""

    @property
    def html(self) -> str | None:
        body = self.message.get_body(preferencelist=("html",))
        return body.get_content() if body is not None else None


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_DATA(self, server, session, envelope) -> str:
        refusal = self._server.refusal
        if refusal is not None:
            return refusal
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        message = message_from_bytes(raw, policy=policy.default)
        self._server._deliver(
            ReceivedMail(
                message=message,
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                raw=raw,
            )
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    """SMTP sink on 127.0.0.1.

    ``inbox`` is a list of :class:`ReceivedMail` (append-only between resets;
    appended under a lock from aiosmtpd's thread).  ``wait_for(n)`` blocks
    until at least ``n`` messages arrived and returns a snapshot of the inbox.
    """

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.inbox: list[ReceivedMail] = []
        self._cond = threading.Condition()
        self._controller: Controller | None = None
        self.port: int | None = None
        self.refusal: str | None = None  # the reply to every message, when refusing

    def _deliver(self, mail: ReceivedMail) -> None:
        with self._cond:
            self.inbox.append(mail)
            self._cond.notify_all()

    def start(self) -> Self:
        if self._controller is not None:
            raise RuntimeError("SmtpServer already started")
        # Controller cannot take port 0: find a free port first.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((self.host, 0))
            port = sock.getsockname()[1]
        controller = Controller(_Handler(self), hostname=self.host, port=port, enable_SMTPUTF8=True)
        controller.start()
        self._controller = controller
        self.port = port
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def reset(self) -> None:
        with self._cond:
            self.inbox.clear()
        self.refusal = None

    @contextmanager
    def refusing(self, reply: str = "554 5.7.1 Message refused") -> Iterator[None]:
        """Answer every message with `reply` (an SMTP error) inside the block."""
        self.refusal = reply
        try:
            yield
        finally:
            self.refusal = None

    def messages(self) -> list[ReceivedMail]:
        """A snapshot copy of the inbox."""
        with self._cond:
            return list(self.inbox)

    def wait_for(self, count: int = 1, timeout: float = 5) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.inbox) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} mail(s) within {timeout}s, got {len(self.inbox)}: "
                        f"{[mail.subject for mail in self.inbox]}"
                    )
                self._cond.wait(remaining)
            return list(self.inbox)

    def __enter__(self) -> Self:
        if self._controller is None:
            self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SmtpServer {self.host}:{self.port} inbox={len(self.inbox)}>"


def closed_port() -> int:
    """A loopback port with nobody listening: an SMTP relay that is down."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


__all__ = ["ReceivedMail", "SmtpServer", "closed_port"]

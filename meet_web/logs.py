"""One log record, one line: line breaks in our log messages are escaped.

Messages often carry text from outside (a provider's error description, a room name,
a header): a newline in it would let its author forge a log line. The escaping
happens where the message is made (`LogRecord.getMessage`), so every handler and
formatter, including ones configured after start-up, gets the escaped text. Only the
records of the project's own loggers (`meet_web.*`) are touched; tracebacks are not
part of the message and keep their lines.
"""

from __future__ import annotations

import logging

PROJECT_LOGGER = "meet_web"

# Line breaks for log readers: CR, LF, NEL, LINE/PARAGRAPH SEPARATOR; other C0 controls
# (except tab) and DEL could hide or rewrite text in a terminal.
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, 0x85) if code != ord("\t")}
_ESCAPES.update({ord("\r"): "\\r", ord("\n"): "\\n", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def one_line(text: str) -> str:
    """`text` with line breaks and control characters written as escapes."""
    return text.translate(_ESCAPES)


def _is_ours(name: str) -> bool:
    return name == PROJECT_LOGGER or name.startswith(PROJECT_LOGGER + ".")


class OneLineRecord(logging.LogRecord):
    def getMessage(self) -> str:  # noqa: N802 - logging's name
        return one_line(super().getMessage())


def install() -> None:
    """Make the project's log messages single-line (idempotent; process-wide, as
    logging itself is). Wraps whatever record factory is in place."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "meet_web_one_line", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        # A record of another factory's own class is left alone rather than recast.
        if type(record) is logging.LogRecord and _is_ours(record.name):
            record.__class__ = OneLineRecord
        return record

    factory.meet_web_one_line = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)

"""Errors of the domain, each answered with one status and one message.

`key` names the JSON member the reference puts the message in: DRF's `detail` for most
errors, but some of its endpoints answer `{"error": ...}` or `{"message": ...}`, and
integrations written for it read those.
"""


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, *, key: str = "detail"):
        self.message = message
        self.key = key
        super().__init__(message)


class Refused(DomainError):
    """A rule of the domain forbids what the caller asked (answered with 403)."""

    status = 403


class NotFound(DomainError):
    """What the request names does not exist (answered with 404)."""

    status = 404


class Conflict(DomainError):
    """The request clashes with the current state (answered with 409)."""

    status = 409


THROTTLED = "Request was throttled. Expected available in {} seconds."


class Throttled(DomainError):
    """Too many requests of a kind from this caller (429, with `Retry-After`)."""

    status = 429

    def __init__(self, retry_after: int):
        super().__init__(THROTTLED.format(retry_after))
        self.retry_after = retry_after

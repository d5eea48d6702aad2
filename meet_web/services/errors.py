class Refused(Exception):
    """A rule of the domain forbids what the caller asked (answered with 403)."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class Conflict(Exception):
    """The request clashes with the current state (answered with 409)."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)

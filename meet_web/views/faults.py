"""When a dependency fails: a clear 503 for the database or the cache being down, and a
500 in the API's error shape for anything unforeseen. Never a stack trace to the caller.

pyramid_retry retries retryable errors (unique-index races, dropped database
connections) even after one of these views rendered them; the caller sees the answer
of the last attempt.
"""

import logging

import redis.exceptions
from pyramid.view import exception_view_config
from sqlalchemy.exc import DBAPIError, OperationalError

from .errors import api_error, is_api, page_error

log = logging.getLogger(__name__)

RETRY_AFTER = "5"
SERVICE_DOWN = "The service is temporarily unavailable; try again in a few seconds."
SERVER_ERROR = "A server error occurred."


def _unavailable(request):
    # The error page must not ask the failed dependency again (the header shows who is
    # signed in, which reads the session's user): render it as signed out.
    request.account = request.user = None
    request.response.headers["Retry-After"] = RETRY_AFTER
    if is_api(request):
        return api_error(request, 503, SERVICE_DOWN)
    return page_error(request, 503, "Service Unavailable", SERVICE_DOWN)


@exception_view_config(redis.exceptions.ConnectionError, renderer="json")
@exception_view_config(redis.exceptions.TimeoutError, renderer="json")
def cache_down(exc, request):
    log.error("the cache is unreachable: %s", exc)
    return _unavailable(request)


@exception_view_config(OperationalError, renderer="json")
def database_down(exc, request):
    if not _is_unavailable(exc):
        return server_error(exc, request)
    log.error("the database is unreachable: %s", exc.orig)
    return _unavailable(request)


def _is_unavailable(exc: DBAPIError) -> bool:
    """A lost or refused connection (or SQLite's lock, after its retries), not a bad
    statement: those are the OperationalErrors a caller can wait out."""
    if exc.connection_invalidated:
        return True
    text = str(exc.orig).lower()
    return any(
        words in text
        for words in (
            "connection",
            "could not connect",
            "server closed",
            "terminating",
            "database is locked",
            "unable to open database",
            "the database system is",
        )
    )


@exception_view_config(Exception, renderer="json")
def server_error(exc, request):
    log.exception("unhandled error on %s %s", request.method, request.path)
    if is_api(request):
        return api_error(request, 500, SERVER_ERROR)
    return page_error(request, 500, "Internal Server Error", SERVER_ERROR)

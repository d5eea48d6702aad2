"""HTTP at the edge of the application: what is refused before any view runs, how
links are built, and the headers every response gets.

From the outside in:
- pyramid_retry's execution policy copies each request body so a retry can read it
  again; `retry_attempts` (its activate hook) first bounds the body, so neither a
  200 MB upload nor an endless chunked one is copied.
- `response_headers_tween_factory`, the outermost tween, has `add_response_headers`
  run on every response, after the other response callbacks, so it sees the cookies
  they set: the security headers, the Content-Security-Policy of pages, and
  `Cache-Control: no-store` on whatever carries a credential or personal data.
- pyramid_tm, then the exception views.
- `ingress_tween_factory`, just above the router: builds URLs from `app.base_url`,
  refuses a Host outside `app.trusted_hosts`, a body over `app.max_body_size` and an
  address or form that is not UTF-8, by raising the HTTP error, so that the exception
  views answer it like any other (JSON under the API, a page elsewhere).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from io import BytesIO
from urllib.parse import urlsplit

from pyramid.httpexceptions import HTTPBadRequest, HTTPRequestEntityTooLarge
from pyramid.tweens import EXCVIEW, INGRESS

from .db import is_knock, is_webhook
from .security import SESSION_COOKIE

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

# Messages of the errors refused here (listed in i18n/messages.py for the pages).
NOT_UTF8 = "The address or the form is not valid UTF-8."
MALFORMED_FORM = "The form cannot be read: its multipart boundary is missing or invalid."
UNTRUSTED_HOST = "This site is not served under this host name."
BODY_TOO_LARGE = "The request body is larger than this site accepts."

HSTS = (("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),)

API_PREFIXES = ("/api/", "/external-api/")
STATIC_PREFIX = "/static/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
READ_CHUNK = 64 * 1024

# environ key: whether the body was found within the limit (it is measured once).
BODY_FITS_KEY = "meet_web.body_fits"

_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\]")


@dataclass(frozen=True)
class BaseUrl:
    """Where the site is reached (settings.py refuses one with a path)."""

    scheme: str
    netloc: str
    server_name: str
    server_port: str

    @classmethod
    def parse(cls, value: str) -> BaseUrl | None:
        if not value:
            return None
        parts = urlsplit(value)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.netloc.lower(), parts.hostname or "", str(port))


@dataclass(frozen=True)
class EdgeConfig:
    base_url: BaseUrl | None
    trusted_hosts: tuple[str, ...]
    max_body_size: int
    secure: bool
    content_security_policy: str
    guest_cookie: str
    site_headers: tuple[tuple[str, str], ...]  # every response's, unless it has its own

    @classmethod
    def from_settings(cls, settings) -> EdgeConfig:
        return cls(
            base_url=BaseUrl.parse(settings["app.base_url"]),
            trusted_hosts=tuple(trusted_host_patterns(settings["app.trusted_hosts"])),
            max_body_size=settings["app.max_body_size"],
            secure=settings["app.secure_cookies"],
            content_security_policy=content_security_policy(settings),
            guest_cookie=settings["lobby.cookie_name"],
            site_headers=(*HEADERS.items(), *(HSTS if settings["app.secure_cookies"] else ())),
        )

    @property
    def fallback_host(self) -> str:
        """The Host the error page for a refused Host is built with."""
        concrete = [t for t in self.trusted_hosts if t != "*" and not t.startswith(".")]
        return concrete[0] if concrete else "localhost"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def livekit_origins(url: str, force_wss: bool) -> list[str]:
    """What the meeting page's LiveKit client connects to: signalling over WebSocket
    and its HTTP endpoints, on the server's origin."""
    scheme, netloc = _origin(url)
    if scheme in ("https", "wss"):
        return [f"https://{netloc}", f"wss://{netloc}"]
    origins = [f"http://{netloc}", f"ws://{netloc}"]
    return [*origins, f"wss://{netloc}"] if force_wss else origins


def file_store_origins(settings) -> list[str]:
    """Where the account page's browser PUTs a background image (the presigned URL of the
    bucket), while files are on."""
    if not settings["files.enabled"]:
        return []
    endpoint = settings["s3.public_endpoint_url"] or settings["s3.endpoint_url"]
    if endpoint:
        scheme, netloc = _origin(endpoint)
        return [f"{scheme}://{netloc}"]
    return ["https://s3.amazonaws.com", f"https://s3.{settings['s3.region']}.amazonaws.com"]


def other_origins(url: str) -> list[str]:
    """The origin of an absolute URL (the segmentation model's), for connect-src."""
    scheme, netloc = _origin(url)
    return [f"{scheme}://{netloc}"] if scheme in ("http", "https") and netloc else []


def content_security_policy(settings) -> str:
    """The pages' policy: our own scripts, styles and API, the LiveKit server, and the
    identity provider as a form target (redirects after a form post count)."""
    livekit = livekit_origins(
        settings["livekit.public_url"] or settings["livekit.url"],
        settings["livekit.force_wss_protocol"],
    )
    scheme, netloc = _origin(settings["oidc.issuer"])
    directives = {
        "default-src": ["'self'"],
        # MediaPipe compiles its WebAssembly for camera backgrounds (no eval of scripts).
        "script-src": ["'self'", "'wasm-unsafe-eval'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": [
            "'self'",
            *livekit,
            *file_store_origins(settings),
            *other_origins(settings["backgrounds.model_url"]),
        ],
        # The background processor's frame timer runs in a worker it makes from a blob.
        "worker-src": ["'self'", "blob:"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'", f"{scheme}://{netloc}"],
        "object-src": ["'none'"],
    }
    return "; ".join(" ".join([name, *values]) for name, values in directives.items())


# -- Host and base URL -------------------------------------------------------------------


def host_name(host: str) -> str | None:
    """The lower-case name of a Host header (no port), or None if it is not one."""
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 address
        name, bracket, rest = host.partition("]")
        name += bracket
    else:
        name, colon, port = host.partition(":")
        rest = colon + port
    if rest and not (rest.startswith(":") and rest[1:].isdigit()):
        return None
    if not _HOST_NAME.fullmatch(name):
        return None
    return name.rstrip(".")


def trusted_host_patterns(entries) -> list[str]:
    """`app.trusted_hosts` entries as matched: names without port, `.name`, `*`."""
    patterns = []
    for entry in entries:
        entry = entry.strip().lower()
        if entry == "*":
            patterns.append(entry)
            continue
        name = host_name(entry.removeprefix("."))
        if name:
            patterns.append(("." if entry.startswith(".") else "") + name)
    return patterns


def host_is_trusted(host: str, trusted: tuple[str, ...]) -> bool:
    name = host_name(host)
    if name is None:
        return False
    for pattern in trusted:
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith(".") and (name == pattern[1:] or name.endswith(pattern)):
            return True
    return False


def apply_base_url(environ: dict, base: BaseUrl) -> None:
    """Make the request's URL the base URL's, so request.application_url, route_url
    and resource_url build links to it whatever the Host header said."""
    environ["wsgi.url_scheme"] = base.scheme
    environ["HTTP_HOST"] = base.netloc
    environ["SERVER_NAME"] = base.server_name
    environ["SERVER_PORT"] = base.server_port


# -- body size -------------------------------------------------------------------------


def bound_body(request, limit: int) -> bool:
    """Whether the body is at most `limit` bytes; never reads more than limit + 1.

    A body of unknown length (chunked) is read here, up to that bound, and replaced by
    what was read, with its length: later readers see an ordinary body.
    """
    environ = request.environ
    if BODY_FITS_KEY in environ:
        return environ[BODY_FITS_KEY]
    length = request.content_length
    if length is not None:
        fits = length <= limit
    elif not request.is_body_readable:
        fits = True
    else:
        stream, data = environ["wsgi.input"], bytearray()
        while len(data) <= limit:
            chunk = stream.read(min(READ_CHUNK, limit + 1 - len(data)))
            if not chunk:
                break
            data += chunk
        fits = len(data) <= limit
        if fits:
            environ["wsgi.input"] = BytesIO(bytes(data))
            environ["CONTENT_LENGTH"] = str(len(data))
            environ.pop("webob.is_body_seekable", None)
    environ[BODY_FITS_KEY] = fits
    return fits


def retry_attempts(request) -> int | None:
    """pyramid_retry's activate hook: a body over the limit is never copied for retries
    (one attempt, which the ingress tween refuses); others get the configured number.

    So are the two hot POSTs', which need no retry: the knock writes nothing to the
    database, and LiveKit redelivers a webhook answered with an error.
    """
    config: EdgeConfig = request.registry["edge_config"]
    if is_knock(request) or is_webhook(request):
        return 1
    return None if bound_body(request, config.max_body_size) else 1


# -- the ingress tween -------------------------------------------------------------------


def _repair(value: str) -> str:
    """A WSGI string (bytes as latin-1) with its invalid UTF-8 replaced by U+FFFD."""
    text = value.encode("latin-1").decode("utf-8", "replace")
    return text.encode("utf-8").decode("latin-1")


def check_encoding(request) -> None:
    """Decode the path, the query and a form body now: a view, a template or a log
    would otherwise fail on them halfway (a 500)."""
    try:
        request.path_info  # noqa: B018 - decoding is the check
        request.GET  # noqa: B018
        if request.content_type in FORM_TYPES:
            request.POST  # noqa: B018
    except UnicodeDecodeError:
        environ = request.environ
        # The error page shows the address it was asked for: make that one readable.
        environ["PATH_INFO"] = _repair(environ.get("PATH_INFO", ""))
        environ["QUERY_STRING"] = ""
        environ["CONTENT_LENGTH"] = "0"
        environ["wsgi.input"] = BytesIO()
        environ.pop("webob._parsed_post_vars", None)
        raise HTTPBadRequest(NOT_UTF8) from None
    except ValueError:  # cgi cannot split a multipart body without a valid boundary
        environ = request.environ
        environ["CONTENT_TYPE"] = ""  # nothing after this parses the body again
        environ["CONTENT_LENGTH"] = "0"
        environ["wsgi.input"] = BytesIO()
        environ.pop("webob._parsed_post_vars", None)
        raise HTTPBadRequest(MALFORMED_FORM) from None


def ingress_tween_factory(handler, registry):
    config: EdgeConfig = registry["edge_config"]

    def ingress(request):
        environ = request.environ
        host = environ.get("HTTP_HOST", "")
        if config.base_url is not None:
            apply_base_url(environ, config.base_url)
        if config.trusted_hosts and not host_is_trusted(host, config.trusted_hosts):
            if config.base_url is None:
                environ["HTTP_HOST"] = config.fallback_host  # no link to the refused host
            raise HTTPBadRequest(UNTRUSTED_HOST)
        if not bound_body(request, config.max_body_size):
            raise HTTPRequestEntityTooLarge(BODY_TOO_LARGE)
        check_encoding(request)
        return handler(request)

    return ingress


# -- response headers ----------------------------------------------------------------------


def carries_credential(request, sets_cookie: bool, config: EdgeConfig) -> bool:
    """Whether the request was made with a credential or the response sets one: the
    answer is then someone's own (their profile, a LiveKit token, their rooms)."""
    if sets_cookie or request.environ.get("HTTP_AUTHORIZATION"):
        return True
    if config.guest_cookie in request.cookies:
        return True  # a guest's identity in a meeting
    return SESSION_COOKIE in request.cookies and bool(request.session.get("user_id"))


def response_headers_tween_factory(handler, registry):
    """The outermost tween: every response the app makes gets the site's headers.

    Set from a response callback rather than a NewResponse subscriber: with no
    subscriber at all, Pyramid skips the five events it would otherwise notify on
    every request (a tenth of a knock's CPU).
    """

    def response_headers(request):
        request.add_response_callback(add_headers_last)
        return handler(request)

    return response_headers


def add_headers_last(request, response) -> None:
    """After every other response callback (the session's sets its cookie there, which
    decides the caching): callbacks added meanwhile run before this one again."""
    if request.response_callbacks:
        request.add_response_callback(add_headers_last)
    else:
        add_response_headers(request, response)


def add_response_headers(request, response) -> None:
    """On the header list itself: WebOb's accessors (`headers[...]`, `content_type`,
    `vary`) each parse or scan the whole list again, a tenth of a webhook's CPU."""
    config: EdgeConfig = request.registry["edge_config"]
    headerlist = response.headerlist
    present = {name.lower(): index for index, (name, _) in enumerate(headerlist)}
    headerlist.extend(h for h in config.site_headers if h[0].lower() not in present)
    # Raw PATH_INFO: it may not even be UTF-8 when ingress refused it.
    path = request.environ.get("PATH_INFO", "")
    if path.startswith(STATIC_PREFIX):
        return
    if "content-security-policy" not in present and "content-type" in present:
        media_type = headerlist[present["content-type"]][1].partition(";")[0].strip()
        if media_type.lower() == "text/html":
            headerlist.append(("Content-Security-Policy", config.content_security_policy))
    # Every page shows who is signed in and speaks the language of a cookie; API answers
    # depend on the session too.
    if "vary" in present:
        index = present["vary"]
        name, value = headerlist[index]
        if "cookie" not in {v.strip().lower() for v in value.split(",")}:
            headerlist[index] = (name, f"{value}, Cookie" if value.strip() else "Cookie")
    else:
        headerlist.append(("Vary", "Cookie"))
    if path.startswith(API_PREFIXES) or carries_credential(
        request, "set-cookie" in present, config
    ):
        headerlist[:] = [h for h in headerlist if h[0].lower() != "cache-control"]
        headerlist.append(("Cache-Control", "no-store"))


def includeme(config):
    settings = config.get_settings()
    config.registry["edge_config"] = EdgeConfig.from_settings(settings)
    # Read by pyramid_retry when the configuration commits (it was included by .db).
    settings.setdefault("retry.activate_hook", "meet_web.tweens.retry_attempts")
    config.add_tween("meet_web.tweens.ingress_tween_factory", under=EXCVIEW)
    config.add_tween("meet_web.tweens.response_headers_tween_factory", under=INGRESS)
    # Request counts and latency by route (meet_web/metrics.py), inside the headers tween.
    config.add_tween(
        "meet_web.metrics.metrics_tween_factory",
        under="meet_web.tweens.response_headers_tween_factory",
    )

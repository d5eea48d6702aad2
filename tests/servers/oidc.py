"""Run the development OpenID provider (``dev/oidc-provider.mjs``) for tests
and drive its login / logout pages with :mod:`requests`.

The provider accepts any login and any password; the login becomes ``sub``
(see the header of ``dev/oidc-provider.mjs`` for the derived claims).  Consent
is granted automatically, and any redirect URI on ``http://localhost[:port]``
or ``http://127.0.0.1[:port]`` is accepted.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Self
from urllib.parse import urljoin, urlsplit

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "dev" / "oidc-provider.mjs"

DEFAULT_CLIENT_ID = "meet"
DEFAULT_CLIENT_SECRET = "dev-oidc-client-secret-not-for-production"
NOMINAL_REDIRECT_URI = "http://localhost/api/v1.0/callback/"
DEFAULT_PASSWORD = "any-password"
# The provider's second client (dev/oidc-provider.mjs): another application whose
# users' access tokens call the external API.
INTEGRATION_CLIENT_ID = "integration"
INTEGRATION_CLIENT_SECRET = "dev-integration-secret-not-for-production"
INTEGRATION_REDIRECT_URI = "http://127.0.0.1/integration/callback"

_HTTP_TIMEOUT = 10


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OidcProvider:
    """``node dev/oidc-provider.mjs`` on a free loopback port.

    Usable as a context manager (``with OidcProvider() as op: ...``) or via
    :meth:`start` / :meth:`stop`.  ``start()`` returns once discovery answers.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        startup_timeout: float = 15.0,
        log_dir: str | os.PathLike | None = None,
    ) -> None:
        self.requested_port = port
        self.client_id = client_id
        self.client_secret = client_secret
        self.startup_timeout = startup_timeout
        self._log_dir_arg = log_dir
        self._own_log_dir: str | None = None
        self.log_path: Path | None = None
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self._log_file = None
        self._discovery: dict | None = None

    # -- properties -----------------------------------------------------
    @functools.cached_property
    def jwt_client_key(self):
        """The private key of the `<client id>-jwt` client, whose introspection answers
        the provider encrypts to it (its public half is that client's `jwks`)."""
        from joserfc.jwk import RSAKey

        return RSAKey.generate_key(2048, parameters={"kid": "meet-rs-enc", "use": "enc"})

    @property
    def jwt_client_id(self) -> str:
        return f"{self.client_id}-jwt"

    @property
    def issuer(self) -> str:
        if self.port is None:
            raise RuntimeError("OidcProvider is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def redirect_uri(self) -> str:
        """The nominal registered redirect URI (any loopback one is accepted)."""
        return NOMINAL_REDIRECT_URI

    def discovery(self) -> dict:
        """The provider's discovery document (cached)."""
        if self._discovery is None:
            with requests.Session() as http:
                response = http.get(self.discovery_url, timeout=_HTTP_TIMEOUT)
                response.raise_for_status()
                self._discovery = response.json()
        return self._discovery

    def integration_token(self, login: str, scope: str = "openid lasuite_meet") -> str:
        """An access token the integration client got for ``login`` by the
        authorization code flow (PKCE), as another application of this provider would."""
        import base64
        import hashlib
        import secrets
        from urllib.parse import parse_qs, urlencode

        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = urlencode(
            {
                "client_id": INTEGRATION_CLIENT_ID,
                "response_type": "code",
                "redirect_uri": INTEGRATION_REDIRECT_URI,
                "scope": scope,
                "state": secrets.token_urlsafe(12),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        back = complete_login(f"{self.discovery()['authorization_endpoint']}?{query}", login)
        code = parse_qs(urlsplit(back).query)["code"][0]
        response = requests.post(
            self.discovery()["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": INTEGRATION_REDIRECT_URI,
                "code_verifier": verifier,
            },
            auth=(INTEGRATION_CLIENT_ID, INTEGRATION_CLIENT_SECRET),
            timeout=_HTTP_TIMEOUT,
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def log_text(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    # -- lifecycle ------------------------------------------------------
    def start(self) -> Self:
        if self.process is not None:
            raise RuntimeError("OidcProvider already started")
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("`node` not found on PATH (needed for dev/oidc-provider.mjs)")
        if not (REPO_ROOT / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError(f"npm package oidc-provider missing: run `npm ci` in {REPO_ROOT}")
        if self._log_dir_arg is not None:
            log_dir = Path(self._log_dir_arg)
            log_dir.mkdir(parents=True, exist_ok=True)
        else:
            self._own_log_dir = tempfile.mkdtemp(prefix="meet-oidc-provider-")
            log_dir = Path(self._own_log_dir)
        self.log_path = log_dir / "oidc-provider.log"

        attempts = 1 if self.requested_port else 3
        last_error: Exception | None = None
        for _ in range(attempts):
            try:
                self._spawn(node, self.requested_port or _free_port())
                self._wait_ready()
            except (
                OSError,
                RuntimeError,
                ValueError,
                requests.RequestException,
            ) as exc:
                # port race or startup failure: retry with another port
                last_error = exc
                self._terminate()
                continue
            atexit.register(self.stop)
            return self
        self._cleanup_log_dir()
        raise RuntimeError(f"could not start dev OIDC provider: {last_error}") from last_error

    def _spawn(self, node: str, port: int) -> None:
        self.port = port
        self._discovery = None
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in _terminate()
        self.process = subprocess.Popen(
            [
                node,
                str(SCRIPT.relative_to(REPO_ROOT)),
                "--port",
                str(port),
                "--client-id",
                self.client_id,
                "--client-secret",
                self.client_secret,
                "--jwt-client-jwks",
                json.dumps({"keys": [self.jwt_client_key.as_dict(private=False)]}),
            ],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        with requests.Session() as http:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"node exited with status {self.process.returncode}:\n{self.log_text()}"
                    )
                try:
                    response = http.get(self.discovery_url, timeout=1)
                    if response.status_code == 200:
                        document = response.json()
                        if document.get("issuer") != self.issuer:
                            raise RuntimeError(f"unexpected issuer {document.get('issuer')!r}")
                        self._discovery = document
                        return
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"no discovery document at {self.discovery_url} after "
                        f"{self.startup_timeout}s:\n{self.log_text()}"
                    )
                time.sleep(0.05)

    def _terminate(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _cleanup_log_dir(self) -> None:
        if self._own_log_dir is not None:
            shutil.rmtree(self._own_log_dir, ignore_errors=True)
            self._own_log_dir = None

    def stop(self) -> None:
        """Terminate node (SIGTERM, then SIGKILL after 5 s).  Idempotent."""
        atexit.unregister(self.stop)
        self._terminate()
        self._cleanup_log_dir()

    def __enter__(self) -> Self:
        if self.process is None:
            self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid={self.pid} issuer={self.issuer}" if self.process else "stopped"
        return f"<OidcProvider {state}>"


# ---------------------------------------------------------------------------
# Driving the provider's HTML pages


class _Form:
    def __init__(self, attrs: dict[str, str | None]) -> None:
        self.id = attrs.get("id")
        self.action = attrs.get("action") or ""
        self.method = (attrs.get("method") or "get").lower()
        self.fields: list[tuple[str, str, str]] = []  # (type, name, value)
        self.buttons: list[tuple[str, str]] = []  # named submit buttons (name, value)

    def field_names(self) -> set[str]:
        return {name for _type, name, _value in self.fields}


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self._current: _Form | None = None
        self._orphan_buttons: list[tuple[str, str, str]] = []  # (form id, name, value)

    def handle_starttag(self, tag: str, attrs_list) -> None:
        attrs = {key: value for key, value in attrs_list}
        if tag == "form":
            self._current = _Form(attrs)
            self.forms.append(self._current)
        elif tag == "input":
            name = attrs.get("name")
            if name and self._current is not None:
                self._current.fields.append(
                    (
                        (attrs.get("type") or "text").lower(),
                        name,
                        attrs.get("value") or "",
                    )
                )
        elif tag == "button":
            name = attrs.get("name")
            if not name or (attrs.get("type") or "submit").lower() != "submit":
                return
            value = attrs.get("value") or ""
            if attrs.get("form"):
                self._orphan_buttons.append((attrs["form"], name, value))
            elif self._current is not None:
                self._current.buttons.append((name, value))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None

    def close(self) -> None:
        super().close()
        by_id = {form.id: form for form in self.forms if form.id}
        for form_id, name, value in self._orphan_buttons:
            if form_id in by_id:
                by_id[form_id].buttons.append((name, value))


def _parse_forms(html: str) -> list[_Form]:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms


def _page_text(response: requests.Response, limit: int = 3000) -> str:
    text = response.text
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", text)
    text = re.sub(r"(?s)<[^>]+>", " ", text)
    text = re.sub(r"\s+", " ", unescape(text)).strip()
    return f"HTTP {response.status_code} {response.url}\n{text[:limit]}"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _drive(
    start_url: str,
    session: requests.Session,
    *,
    login: str | None,
    password: str,
    what: str,
    max_steps: int = 20,
) -> str:
    """Follow the provider's redirects / forms from ``start_url``.

    Returns the first URL outside the provider's origin (not requested), or the
    last provider URL if the flow ends on a provider page without forms.
    """
    provider_origin = _origin(start_url)
    method, url, data = "GET", start_url, None
    history: list[str] = []
    login_posted = False
    for _ in range(max_steps):
        if _origin(url) != provider_origin:
            return url
        history.append(f"{method} {url}")
        response = session.request(
            method, url, data=data, allow_redirects=False, timeout=_HTTP_TIMEOUT
        )
        if response.is_redirect:
            location = response.headers["Location"]
            method, url, data = "GET", urljoin(response.url, location), None
            continue
        if response.status_code != 200:
            raise AssertionError(
                f"{what}: unexpected answer from the OIDC provider\n{_page_text(response)}"
                f"\nsteps: {history}"
            )
        forms = [form for form in _parse_forms(response.text) if form.method == "post"]
        if not forms:
            return response.url
        form = forms[0]
        names = form.field_names()
        fields = {name: value for _type, name, value in form.fields}
        if "login" in names and "password" in names:
            if login is None:
                raise AssertionError(
                    f"{what}: the provider asks for a login\n{_page_text(response)}"
                )
            if login_posted:
                raise AssertionError(
                    f"{what}: the login form was shown again after posting it\n"
                    f"{_page_text(response)}"
                )
            fields["login"] = login
            fields["password"] = password
            login_posted = True
        if form.buttons:
            button_name, button_value = form.buttons[0]
            fields.setdefault(button_name, button_value)
        method, url, data = "POST", urljoin(response.url, unescape(form.action)), fields
    raise AssertionError(f"{what}: too many steps on the OIDC provider: {history}")


def complete_login(
    authorize_url: str,
    login: str,
    *,
    session: requests.Session | None = None,
    password: str = DEFAULT_PASSWORD,
    expect_error: bool = False,
) -> str:
    """Log ``login`` in at the dev provider, starting at the relying party's
    authorization URL (the provider's ``/auth?...``).

    Follows redirects on the provider only, posts the login form (and a
    consent form if one ever appears), and returns the URL the provider
    redirects the browser to on the relying party -- e.g.
    ``http://localhost/api/v1.0/callback/?code=...&state=...&iss=...`` --
    without requesting it.

    ``session`` carries the provider's cookies; pass the same one to
    :func:`complete_logout` later.  Without one a fresh session is used (and
    closed), so the login form is always shown.  If a given session already
    has a provider login, the provider may skip the form and the existing
    account is used.

    Raises AssertionError (with the page text) if the flow breaks, or if the
    provider redirects back with ``error=...`` unless ``expect_error`` is true.
    """
    own_session = session is None
    http = requests.Session() if own_session else session
    try:
        url = _drive(authorize_url, http, login=login, password=password, what="complete_login")
    finally:
        if own_session:
            http.close()
    if _origin(url) == _origin(authorize_url):
        raise AssertionError(f"complete_login: flow ended on the provider at {url}")
    query = urlsplit(url).query
    has_error = re.search(r"(^|&)error=", query) is not None
    if has_error and not expect_error:
        raise AssertionError(f"complete_login: provider redirected back with an error: {url}")
    if not has_error and expect_error:
        raise AssertionError(f"complete_login: expected an error redirect, got {url}")
    return url


def complete_logout(end_session_url: str, session: requests.Session | None = None) -> str:
    """Drive RP-initiated logout from the provider's ``end_session_endpoint``
    URL (with ``client_id`` / ``id_token_hint``, ``post_logout_redirect_uri``
    and ``state`` in its query).

    The provider answers with an auto-submitting form (logout=yes); this
    posts it and returns the ``post_logout_redirect_uri`` (with ``state``) the
    provider redirects to, without requesting it.  If no
    ``post_logout_redirect_uri`` was given, the provider's own
    "Sign-out Success" page URL is returned.  Pass the session used for
    :func:`complete_login` so the provider session is really ended.
    """
    own_session = session is None
    http = requests.Session() if own_session else session
    try:
        return _drive(end_session_url, http, login=None, password="", what="complete_logout")
    finally:
        if own_session:
            http.close()


__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "NOMINAL_REDIRECT_URI",
    "OidcProvider",
    "complete_login",
    "complete_logout",
]

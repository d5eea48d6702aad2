"""OpenID Connect login with Authlib's framework-neutral client (it has no Pyramid adapter).

Authorization Code flow with PKCE (S256), ID token validated against the provider's
JWKS, then the userinfo endpoint is read for the profile claims (its `sub` must be the
ID token's, OIDC Core 5.3.2).

Each sign-in started keeps its state (nonce, PKCE verifier, redirect URI, where to go
back) in the ephemeral store for `STATE_LIFETIME`, keyed by the `state` parameter, not
in the session: the session is a signed cookie, and sign-ins started but never
finished would grow it past what browsers keep. The session holds one random browser
nonce; each stored state holds its hash, so a state only completes a login in the
browser that started it (no login CSRF), and only once.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from ..services.ephemeral import EphemeralStore

STATE_LIFETIME = 600  # seconds from the redirect to the provider until the callback
BROWSER_NONCE_KEY = "oidc.browser"
MAX_STATE_LENGTH = 128  # Authlib's are 30 characters; anything longer is not ours


class LoginError(Exception):
    """The provider's answer could not be turned into a login.

    The message is for the log only: it may quote the provider's (or a forger's) text.
    """


@dataclass(frozen=True)
class FinishedLogin:
    claims: dict
    return_to: str


def _state_key(state: str) -> str:
    return f"oidc-state:{state}"


def _browser_nonce(session, *, create: bool = False) -> str | None:
    nonce = session.get(BROWSER_NONCE_KEY)
    if not nonce and create:
        nonce = session[BROWSER_NONCE_KEY] = secrets.token_urlsafe(18)
    return nonce


def _browser_hash(nonce: str) -> str:
    return hashlib.sha256(f"oidc-browser:{nonce}".encode()).hexdigest()


def _take_state(store: EphemeralStore, session, state: str) -> dict | None:
    """The state's data if this browser started it, used up; None otherwise.

    Another browser's attempt leaves the state in place for its own browser.
    """
    nonce = _browser_nonce(session)
    if not nonce or not isinstance(state, str) or len(state) > MAX_STATE_LENGTH:
        return None
    data = store.get(_state_key(state))
    if not isinstance(data, dict) or not hmac.compare_digest(
        str(data.get("browser", "")), _browser_hash(nonce)
    ):
        return None
    # take(): of two callbacks racing with the same state, only one gets it.
    return data if store.take(_state_key(state)) is not None else None


# Authlib (with the requests stack it brings, about 8 MiB) is imported by the first
# sign-in a process serves, not at start: most requests never need it.


@functools.cache
def _authlib_client():
    """A new Authlib OAuth2/OpenID client class for the login."""
    from authlib.integrations.base_client import BaseApp, FrameworkIntegration
    from authlib.integrations.base_client.sync_app import OAuth2Mixin
    from authlib.integrations.base_client.sync_openid import OpenIDMixin
    from authlib.integrations.requests_client import OAuth2Session

    class PyramidFramework(FrameworkIntegration):
        def update_token(self, token, refresh_token=None, access_token=None):
            """Tokens are not kept after login."""

    class OidcClient(OAuth2Mixin, OpenIDMixin, BaseApp):
        client_cls = OAuth2Session

    return PyramidFramework, OidcClient


@functools.cache
def _authlib_errors() -> tuple[type[Exception], ...]:
    from authlib.common.errors import AuthlibBaseError
    from authlib.integrations.base_client import OAuthError

    return AuthlibBaseError, OAuthError


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    discovery_url: str
    client_id: str
    client_secret: str
    scopes: str
    timeout: float

    @classmethod
    def from_settings(cls, settings) -> OidcConfig:
        issuer = settings["oidc.issuer"].rstrip("/")
        return cls(
            issuer=issuer,
            discovery_url=settings["oidc.discovery_url"]
            or issuer + "/.well-known/openid-configuration",
            client_id=settings["oidc.client_id"],
            client_secret=settings["oidc.client_secret"],
            scopes=settings["oidc.scopes"],
            timeout=settings["oidc.timeout"],
        )


class OidcLogin:
    """One per process; holds no per-user state (that lives in the ephemeral store)."""

    def __init__(self, config: OidcConfig):
        self.config = config

    @functools.cached_property
    def _client(self):
        framework, client = _authlib_client()
        config = self.config
        return client(
            framework("oidc"),
            name="oidc",
            client_id=config.client_id,
            client_secret=config.client_secret,
            server_metadata_url=config.discovery_url,
            client_kwargs={
                "scope": config.scopes,
                "code_challenge_method": "S256",
                "timeout": config.timeout,
            },
        )

    def authorization_url(
        self, store: EphemeralStore, session, redirect_uri: str, return_to: str = "/"
    ) -> str:
        """The provider's URL for a new sign-in; its state is kept until the callback."""
        try:
            data = self._client.create_authorization_url(redirect_uri)
        except (*_authlib_errors(), OSError) as exc:
            raise LoginError(f"the identity provider is unreachable: {exc}") from exc
        state = data.pop("state")
        store.put(
            _state_key(state),
            {
                "browser": _browser_hash(_browser_nonce(session, create=True)),
                "redirect_uri": redirect_uri,
                "nonce": data.get("nonce"),
                "code_verifier": data.get("code_verifier"),
                "return_to": return_to,
            },
            STATE_LIFETIME,
        )
        return data["url"]

    def finish(self, store: EphemeralStore, session, params) -> FinishedLogin:
        """Exchange the code; return the ID token's claims merged with userinfo's."""
        state = params.get("state")
        data = _take_state(store, session, state) if state else None
        if params.get("error"):
            # The provider's words go to the log (escaped there), never to the page.
            raise LoginError(
                f"the provider refused: {str(params['error'])[:100]!r}"
                f" ({str(params.get('error_description', ''))[:300]!r})"
            )
        code = params.get("code")
        if not state or not code:
            raise LoginError("the provider's answer has no code or state")
        if data is None:
            raise LoginError(
                "the login state is unknown, expired, already used or another browser's"
            )
        try:
            token = self._client.fetch_access_token(
                redirect_uri=data["redirect_uri"],
                code=code,
                code_verifier=data.get("code_verifier"),
            )
            claims = dict(self._client.parse_id_token(token, nonce=data["nonce"]))
            userinfo = dict(self._client.userinfo(token=token))
        except (*_authlib_errors(), OSError, ValueError, KeyError) as exc:
            raise LoginError(f"the login could not be completed: {exc}") from exc
        if not claims.get("sub") or userinfo.get("sub") != claims["sub"]:
            raise LoginError(
                f"userinfo's subject {userinfo.get('sub')!r} is not the ID token's"
                f" {claims.get('sub')!r}"
            )
        claims.update(userinfo)
        return FinishedLogin(claims=claims, return_to=data.get("return_to") or "/")

    def server_metadata(self) -> dict | None:
        """The provider's discovery document (fetched once a process), or None while it
        cannot be read."""
        try:
            return self._client.load_server_metadata()
        except (*_authlib_errors(), OSError, ValueError):
            return None

    def logout_url(self, post_logout_redirect_uri: str) -> str | None:
        metadata = self.server_metadata()
        if metadata is None:
            return None
        end = metadata.get("end_session_endpoint")
        if not end:
            return None
        query = urlencode(
            {
                "client_id": self.config.client_id,
                "post_logout_redirect_uri": post_logout_redirect_uri,
            }
        )
        return f"{end}?{query}"

"""OpenID Connect login with Authlib's framework-neutral client (it has no Pyramid adapter).

Authorization Code flow with PKCE (S256), state and nonce kept in the signed session,
ID token validated against the provider's JWKS, then the userinfo endpoint is read
for the profile claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import BaseApp, FrameworkIntegration, OAuthError
from authlib.integrations.base_client.sync_app import OAuth2Mixin
from authlib.integrations.base_client.sync_openid import OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session


class LoginError(Exception):
    """The provider's answer could not be turned into a login."""


class _PyramidFramework(FrameworkIntegration):
    def update_token(self, token, refresh_token=None, access_token=None):
        """Tokens are not kept after login."""


class _OidcClient(OAuth2Mixin, OpenIDMixin, BaseApp):
    client_cls = OAuth2Session


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
    """One per process; holds no per-user state (that lives in the session)."""

    def __init__(self, config: OidcConfig):
        self.config = config
        self._client = _OidcClient(
            _PyramidFramework("oidc"),
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

    def authorization_url(self, session, redirect_uri: str) -> str:
        try:
            data = self._client.create_authorization_url(redirect_uri)
        except (AuthlibBaseError, OSError) as exc:
            raise LoginError(f"the identity provider is unreachable: {exc}") from exc
        state = data.pop("state")
        self._client.framework.set_state_data(
            session, state, dict(redirect_uri=redirect_uri, **data)
        )
        return data["url"]

    def finish(self, session, params) -> dict:
        """Exchange the code; return the merged ID-token and userinfo claims."""
        if params.get("error"):
            raise LoginError(params.get("error_description") or params["error"])
        state, code = params.get("state"), params.get("code")
        if not state or not code:
            raise LoginError("the provider's answer has no code or state")
        data = self._client.framework.get_state_data(session, state)
        if not data:
            raise LoginError("the login state is unknown or was already used")
        self._client.framework.clear_state_data(session, state)
        try:
            token = self._client.fetch_access_token(
                redirect_uri=data["redirect_uri"],
                code=code,
                code_verifier=data.get("code_verifier"),
            )
            claims = dict(self._client.parse_id_token(token, nonce=data["nonce"]))
            claims.update(self._client.userinfo(token=token))
        except (AuthlibBaseError, OAuthError, OSError, ValueError, KeyError) as exc:
            raise LoginError(f"the login could not be completed: {exc}") from exc
        return claims

    def logout_url(self, post_logout_redirect_uri: str) -> str | None:
        try:
            metadata = self._client.load_server_metadata()
        except (AuthlibBaseError, OSError, ValueError):
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

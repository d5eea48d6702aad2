"""The external API as an OAuth 2.0 resource server: bearer tokens that the identity
provider issued to other clients (a calendar, an intranet) for a user.

Such a token means nothing to us by itself: the provider's introspection endpoint
(RFC 7662) says whether it is active, for whom (`sub`), for which client and with
which scopes. We authenticate there with our own client's credentials. A token is
accepted when it is active, was issued by our provider, to one of the allowed clients
(`resource_server.audience_claim`, `client_id` by default), and holds the scopes this
service requires (`lasuite_meet` by default). Its other scopes, less the
`resource_server.scopes_prefix` (`meet:rooms:list` counts as `rooms:list`), are what
the actions check, as for an application's token.

With `resource_server.jwt_introspection` the provider answers with a JWT (RFC 9701):
signed with `resource_server.signing_algorithm` by a key of its JWKS, for us (`aud`),
and, when `resource_server.encryption_key` is set, encrypted to that key, whose public
half /jwks serves for the provider to fetch. An answer that fails any of these checks
is the provider's or the configuration's fault, not the caller's: 503, and the log says
which check failed.

The user is found by subject, created on first sight while `oidc.create_user` is on:
with no email or name, which only a sign-in's verified claims fill (the same account).
An answer accepted is remembered for `resource_server.cache_seconds` (never past the
token's expiry), under the token's SHA-256, never the token: a token revoked at the
provider may still work that long. The user's state is read on every request, so a
disabled account stops at once.

Every token we do not remember costs the provider a call, so a client address may have
`resource_server.rate_limit` tokens checked a minute; past that it gets 429 until the
minute is over. Without this, anyone could make us send the provider as many
introspections as they send us made-up tokens.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import User
from .applications import Delegation, Unauthenticated, parse_scopes
from .ephemeral import EphemeralStore
from .errors import DomainError, Throttled

log = logging.getLogger(__name__)

INACTIVE = "Invalid or expired token."
OTHER_ISSUER = "This token was issued by another identity provider."
CLIENT_NOT_ALLOWED = "This token was issued to a client this service does not accept."
MISSING_SCOPE = "This token lacks the scope {}."
NO_SUBJECT = "This token names no user."
USER_NOT_FOUND = "User not found."
USER_DISABLED = "User account is disabled."
UNREACHABLE = "The identity provider could not check this token; try again later."

JWT_ANSWER = "application/token-introspection+jwt"
PROVIDER_KEYS_LIFETIME = 3600  # seconds before the provider's JWKS is fetched again
RATE_WINDOW = 60  # seconds: resource_server.rate_limit counts introspections a minute

_users = User.__table__


class IdentityProviderUnavailable(DomainError):
    """The introspection endpoint cannot be reached or gave no usable answer (503)."""

    status = 503


class InvalidKey(ValueError):
    """`resource_server.encryption_key` is no RSA private key (the message never shows it)."""


def encryption_key(value: str):
    """Our private key for encrypted answers: a PEM, or a JWK as JSON."""
    from joserfc.errors import JoseError
    from joserfc.jwk import RSAKey

    text = value.strip()
    try:
        key = RSAKey.import_key(json.loads(text) if text.startswith("{") else text)
    except (JoseError, ValueError, TypeError):
        raise InvalidKey("not an RSA private key (PEM, or a JWK as JSON)") from None
    if not key.is_private:
        raise InvalidKey("a public key: the private one is needed to decrypt")
    return key


@dataclass(frozen=True)
class JwtAnswers:
    """How the provider's JWT answers are checked (RFC 9701)."""

    signing_algorithm: str
    encryption_algorithm: str
    encryption_encoding: str
    key: object | None  # our RSAKey, when answers are encrypted

    @classmethod
    def from_settings(cls, settings) -> JwtAnswers | None:
        if not settings["resource_server.jwt_introspection"]:
            return None
        raw = settings["resource_server.encryption_key"]
        return cls(
            signing_algorithm=settings["resource_server.signing_algorithm"],
            encryption_algorithm=settings["resource_server.encryption_algorithm"],
            encryption_encoding=settings["resource_server.encryption_encoding"],
            key=encryption_key(raw) if raw else None,
        )

    def public_jwks(self) -> dict:
        """/jwks: the public half of our encryption key (views/jwks.py serves it only
        while one is set)."""
        public = self.key.as_dict(private=False)
        public.update(use="enc", alg=self.encryption_algorithm)
        public.setdefault("kid", self.key.thumbprint())
        return {"keys": [public]}


@dataclass(frozen=True)
class ResourceServerConfig:
    enabled: bool
    issuer: str
    client_id: str
    client_secret: str
    introspection_endpoint: str  # empty: the provider's discovery document names it
    audience_claim: str
    allowed_audiences: frozenset[str]
    required_scopes: frozenset[str]
    scopes_prefix: str
    cache_seconds: int
    rate_limit: int  # introspections a minute per client address; 0: no limit
    create_user: bool
    timeout: float
    jwt: JwtAnswers | None

    @classmethod
    def from_settings(cls, settings) -> ResourceServerConfig:
        return cls(
            enabled=settings["resource_server.enabled"],
            issuer=settings["oidc.issuer"].rstrip("/"),
            client_id=settings["resource_server.client_id"] or settings["oidc.client_id"],
            client_secret=settings["resource_server.client_secret"]
            or settings["oidc.client_secret"],
            introspection_endpoint=settings["resource_server.introspection_endpoint"],
            audience_claim=settings["resource_server.audience_claim"],
            allowed_audiences=frozenset(settings["resource_server.allowed_audiences"]),
            required_scopes=parse_scopes(settings["resource_server.scopes"]),
            scopes_prefix=settings["resource_server.scopes_prefix"].lower().rstrip(":"),
            cache_seconds=settings["resource_server.cache_seconds"],
            rate_limit=settings["resource_server.rate_limit"],
            create_user=settings["oidc.create_user"],
            timeout=settings["oidc.timeout"],
            jwt=JwtAnswers.from_settings(settings),
        )

    def audience_allowed(self, claim) -> bool:
        if "*" in self.allowed_audiences:
            return True
        values = claim if isinstance(claim, list) else [claim]
        return any(isinstance(v, str) and v in self.allowed_audiences for v in values)

    def action_scopes(self, scopes: frozenset[str]) -> frozenset[str]:
        """The scopes without the prefix (`meet:rooms:list` -> `rooms:list`)."""
        if not self.scopes_prefix:
            return scopes
        prefix = self.scopes_prefix + ":"
        return frozenset(s.removeprefix(prefix) for s in scopes)


@dataclass(frozen=True)
class Introspected:
    """What an accepted token says, as remembered between requests."""

    subject: str
    client_id: str | None
    scopes: frozenset[str]

    def as_dict(self) -> dict:
        return {
            "sub": self.subject,
            "client_id": self.client_id,
            "scopes": sorted(self.scopes),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Introspected:
        return cls(data["sub"], data.get("client_id"), frozenset(data["scopes"]))


def cache_key(token: str) -> str:
    return "rs-token:" + hashlib.sha256(token.encode()).hexdigest()


class IntrospectedTokens:
    """The provider's tokens for other clients; the last kind the external API tries,
    so a token here is either the provider's or refused."""

    def __init__(self, config: ResourceServerConfig, store: EphemeralStore, oidc):
        self.config = config
        self.store = store
        self.oidc = oidc  # security/oidc.py's OidcLogin: the discovery document
        # The provider's public keys (a cache of its JWKS, the same in every process).
        self._provider_keys: tuple[float, object] | None = None
        self._keys_lock = threading.Lock()

    def verify(self, db: Session, token: str, address: str | None) -> Delegation | None:
        introspected = self._cached(token)
        if introspected is None:
            self._count_introspection(address)
            answer = self._introspect(token)
            introspected = self._accept(answer)
            self._remember(token, introspected, answer.get("exp"))
        user_id = self._user_id(db, introspected)
        scopes = self.config.action_scopes(introspected.scopes)
        return Delegation(user_id, scopes, introspected.client_id, from_provider=True)

    # -- asking the provider ------------------------------------------------------------

    def _count_introspection(self, address: str | None) -> None:
        """Throttled past `rate_limit` introspections this minute from `address`."""
        limit = self.config.rate_limit
        if not limit or not address:
            return
        # With the store down this fails, and the request gets the site's 503: no
        # unthrottled introspections meanwhile.
        if self.store.hit(f"rate:introspection:{address}", RATE_WINDOW) > limit:
            raise Throttled(RATE_WINDOW)

    def _endpoint(self) -> str:
        if self.config.introspection_endpoint:
            return self.config.introspection_endpoint
        metadata = self.oidc.server_metadata() or {}
        endpoint = metadata.get("introspection_endpoint")
        if not endpoint:
            log.warning("the identity provider's discovery names no introspection endpoint")
            raise IdentityProviderUnavailable(UNREACHABLE)
        return endpoint

    def _introspect(self, token: str) -> dict:
        import requests  # imported on first use, as for the login: workers start smaller

        config = self.config
        try:
            response = requests.post(
                self._endpoint(),
                data={"token": token, "token_type_hint": "access_token"},
                auth=(config.client_id, config.client_secret),
                headers={"Accept": JWT_ANSWER if config.jwt else "application/json"},
                timeout=config.timeout,
            )
            response.raise_for_status()
            answer = self._read_jwt(response.text) if config.jwt else response.json()
        except (OSError, ValueError) as exc:  # requests' errors are OSErrors
            log.warning("token introspection failed: %s", exc)
            raise IdentityProviderUnavailable(UNREACHABLE) from None
        if not isinstance(answer, dict):
            log.warning("token introspection answered %s, not an object", type(answer).__name__)
            raise IdentityProviderUnavailable(UNREACHABLE)
        return answer

    # -- JWT answers (RFC 9701) ---------------------------------------------------------

    def _read_jwt(self, text: str) -> dict:
        """The introspection answer a JWT carries; ValueError when any check fails."""
        from joserfc import jwe
        from joserfc.errors import JoseError

        answers: JwtAnswers = self.config.jwt
        text = text.strip()
        encrypted = text.count(".") == 4  # a compact JWE has five parts, a JWS three
        if encrypted != (answers.key is not None):
            raise ValueError(
                "the answer is encrypted but no resource_server.encryption_key is set"
                if encrypted
                else "the answer is not encrypted, though resource_server.encryption_key is set"
            )
        try:
            if encrypted:
                registry = jwe.JWERegistry(
                    algorithms=[answers.encryption_algorithm, answers.encryption_encoding],
                    # providers repeat `iss` and `aud` in the header (RFC 7519, 5.3)
                    strict_check_header=False,
                )
                text = jwe.decrypt_compact(text, answers.key, registry=registry).plaintext
            claims = self._verified_claims(text, answers.signing_algorithm)
        except JoseError as exc:
            raise ValueError(f"the answer's JWT does not verify: {exc}") from None
        if str(claims.get("iss", "")).rstrip("/") != self.config.issuer:
            raise ValueError(f"the answer's issuer is {claims.get('iss')!r}")
        audience = claims.get("aud")
        if self.config.client_id not in (audience if isinstance(audience, list) else [audience]):
            raise ValueError(f"the answer is for {audience!r}, not for us")
        answer = claims.get("token_introspection")
        if not isinstance(answer, dict):
            raise ValueError("the answer's JWT holds no token_introspection object")
        return answer

    def _verified_claims(self, text, algorithm: str) -> dict:
        from joserfc import jwt
        from joserfc.errors import JoseError

        try:
            return jwt.decode(text, self._keys(), algorithms=[algorithm]).claims
        except JoseError:  # perhaps a key the provider added since: fetch them again, once
            return jwt.decode(text, self._keys(refresh=True), algorithms=[algorithm]).claims

    def _keys(self, *, refresh: bool = False):
        import requests
        from joserfc.jwk import KeySet

        with self._keys_lock:
            kept = self._provider_keys
            if (
                kept is not None
                and not refresh
                and time.monotonic() - kept[0] < PROVIDER_KEYS_LIFETIME
            ):
                return kept[1]
            metadata = self.oidc.server_metadata() or {}
            if not metadata.get("jwks_uri"):
                raise ValueError("the provider's discovery names no jwks_uri")
            response = requests.get(metadata["jwks_uri"], timeout=self.config.timeout)
            response.raise_for_status()
            keys = KeySet.import_key_set(response.json())
            self._provider_keys = (time.monotonic(), keys)
            return keys

    def _accept(self, answer: dict) -> Introspected:
        config = self.config
        if answer.get("active") is not True:
            raise Unauthenticated(INACTIVE)
        issuer = answer.get("iss")
        if issuer is not None and str(issuer).rstrip("/") != config.issuer:
            raise Unauthenticated(OTHER_ISSUER)
        if not config.audience_allowed(answer.get(config.audience_claim)):
            log.warning(
                "token of client %r refused: not in resource_server.allowed_audiences",
                answer.get(config.audience_claim),
            )
            raise Unauthenticated(CLIENT_NOT_ALLOWED)
        scopes = parse_scopes(answer.get("scope"))
        for required in sorted(config.required_scopes):
            if required not in scopes:
                raise Unauthenticated(MISSING_SCOPE.format(required))
        subject = answer.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated(NO_SUBJECT)
        client_id = answer.get("client_id")
        return Introspected(subject, client_id if isinstance(client_id, str) else None, scopes)

    # -- remembering accepted answers ---------------------------------------------------

    def _cached(self, token: str) -> Introspected | None:
        if not self.config.cache_seconds:
            return None
        try:
            data = self.store.get(cache_key(token))
        except Exception as exc:  # the store is down: ask the provider instead
            log.warning("introspection cache not read: %s", exc)
            return None
        try:
            return Introspected.from_dict(data) if isinstance(data, dict) else None
        except (KeyError, TypeError):
            return None

    def _remember(self, token: str, introspected: Introspected, expires) -> None:
        seconds: float = self.config.cache_seconds
        if isinstance(expires, int | float):
            seconds = min(seconds, expires - time.time())
        if seconds < 1:
            return
        try:
            self.store.put(cache_key(token), introspected.as_dict(), seconds)
        except Exception as exc:  # the next request asks the provider again
            log.warning("introspection answer not cached: %s", exc)

    # -- the user -----------------------------------------------------------------------

    def _user_id(self, db: Session, introspected: Introspected) -> uuid.UUID:
        found = self._find(db, introspected.subject)
        if found is None:
            if not self.config.create_user:
                raise Unauthenticated(USER_NOT_FOUND)
            found = self._create(db, introspected)
        user_id, active = found
        if not active:
            raise Unauthenticated(USER_DISABLED)
        return user_id

    @staticmethod
    def _find(db: Session, subject: str) -> tuple[uuid.UUID, bool] | None:
        row = (
            db.connection()
            .execute(select(_users.c.id, _users.c.is_active).where(_users.c.sub == subject))
            .first()
        )
        return None if row is None else (row.id, row.is_active)

    def _create(self, db: Session, introspected: Introspected) -> tuple[uuid.UUID, bool]:
        """A user for this subject, as a first sign-in would make it, but without the
        email and names: those come from a sign-in's claims, not from a token."""
        user = User(sub=introspected.subject, is_active=True, is_operator=False)
        try:
            with db.begin_nested():  # the unique subject settles a concurrent creation
                db.add(user)
        except IntegrityError:
            found = self._find(db, introspected.subject)
            if found is None:
                raise
            return found
        log.info(
            "user %s created for subject of a token of client %s",
            user.id,
            introspected.client_id,
        )
        return user.id, True

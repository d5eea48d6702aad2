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

The user is found by subject, created on first sight while `oidc.create_user` is on:
with no email or name, which only a sign-in's verified claims fill (the same account).
An answer accepted is remembered for `resource_server.cache_seconds` (never past the
token's expiry), under the token's SHA-256, never the token: a token revoked at the
provider may still work that long.
The user's state is read on every request, so a disabled account stops at once.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass

import requests
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import User
from .applications import Delegation, Unauthenticated, parse_scopes
from .ephemeral import EphemeralStore
from .errors import DomainError

log = logging.getLogger(__name__)

INACTIVE = "Invalid or expired token."
OTHER_ISSUER = "This token was issued by another identity provider."
CLIENT_NOT_ALLOWED = "This token was issued to a client this service does not accept."
MISSING_SCOPE = "This token lacks the scope {}."
NO_SUBJECT = "This token names no user."
USER_NOT_FOUND = "User not found."
USER_DISABLED = "User account is disabled."
UNREACHABLE = "The identity provider could not check this token; try again later."

_users = User.__table__


class IdentityProviderUnavailable(DomainError):
    """The introspection endpoint cannot be reached or gave no usable answer (503)."""

    status = 503


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
    create_user: bool
    timeout: float

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
            create_user=settings["oidc.create_user"],
            timeout=settings["oidc.timeout"],
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

    def verify(self, db: Session, token: str) -> Delegation | None:
        introspected = self._cached(token)
        if introspected is None:
            answer = self._introspect(token)
            introspected = self._accept(answer)
            self._remember(token, introspected, answer.get("exp"))
        user_id = self._user_id(db, introspected)
        scopes = self.config.action_scopes(introspected.scopes)
        return Delegation(user_id, scopes, introspected.client_id, from_provider=True)

    # -- asking the provider ------------------------------------------------------------

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
        config = self.config
        try:
            response = requests.post(
                self._endpoint(),
                data={"token": token, "token_type_hint": "access_token"},
                auth=(config.client_id, config.client_secret),
                headers={"Accept": "application/json"},
                timeout=config.timeout,
            )
            response.raise_for_status()
            answer = response.json()
        except (OSError, ValueError) as exc:  # requests' errors are OSErrors
            log.warning("token introspection failed: %s", exc)
            raise IdentityProviderUnavailable(UNREACHABLE) from None
        if not isinstance(answer, dict):
            log.warning("token introspection answered %s, not an object", type(answer).__name__)
            raise IdentityProviderUnavailable(UNREACHABLE)
        return answer

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

"""The external API's applications: client credentials exchanged for delegated tokens,
the bearer tokens the external API accepts, and the rooms it makes.

An application (models/application.py) proves itself with its client id and secret;
only a hash of the secret is stored (PBKDF2-SHA256 from hashlib, 200 000 iterations,
a random salt). It asks for a token acting for one user, named by email in `scope`
(as the reference does), who must exist unless provisional users are allowed. The
token is an HS256 JWT: {iss, aud (when configured), iat, exp, user_id, client_id,
delegated: true, scope}, where `scope` lists the application's scopes.

The external API accepts, in the reference's order, an application's token (while
`applications.enabled`), an add-on's (services/addons.py, while `addons.enabled`) and
one the identity provider issued to another client (services/resource_server.py, while
`resource_server.enabled`).
A token signed with another key is not that kind's: the next kind is tried. One of the
right kind that is expired, or names an unknown or disabled application or user, is
refused with 401 at once. A token's scopes count only as long as its application still
holds them.
"""

from __future__ import annotations

import logging
import secrets
import string
import time
import uuid
from dataclasses import dataclass
from functools import cache

import jwt
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import AccessLevel, Application, ResourceAccess, Role, Room, User
from ..models.application import check_secret, hash_secret
from ..telephony.pins import write_with_pin
from ..validation import MISSING, ValidationError, normalize_email
from . import register
from .errors import Conflict, DomainError, NotFound, Refused
from .rooms import RoomDefaults

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
TOKEN_TYPE = "Bearer"  # noqa: S105 - a token type, not a secret

INVALID_CREDENTIALS = "Invalid credentials"
INACTIVE_APPLICATION = "Application is inactive"
SCOPE_NOT_AN_EMAIL = "Scope should be a valid email address."
DOMAIN_NOT_ALLOWED = "This application is not authorized for this email domain."
USER_NOT_FOUND = "User not found."
SHARED_EMAIL = "Multiple user accounts share a common email."
PROVISIONAL_RACE = "The user could neither be created nor found; try again."
PUBLIC_REFUSED = "Public rooms are disabled for the external API."


class Unauthenticated(DomainError):
    """The caller's credentials or token are refused (answered with 401)."""

    status = 401


@dataclass(frozen=True)
class ExternalApiConfig:
    enabled: bool
    applications_enabled: bool
    jwt_secret_key: str
    jwt_issuer: str
    jwt_audience: str
    jwt_expiration_seconds: int
    # Provisional users: created by email, given their subject at their first login
    # (the login's email fallback, services/users.py, attaches it).
    allow_user_creation: bool
    base_url: str
    default_access_level: AccessLevel
    allow_public_access: bool
    # Rooms' `telephony` block: the raw settings, as the reference shows them.
    telephony_enabled: bool
    phone_number: str
    default_country: str

    @classmethod
    def from_settings(cls, settings) -> ExternalApiConfig:
        return cls(
            enabled=settings["external_api.enabled"],
            applications_enabled=settings["applications.enabled"],
            jwt_secret_key=settings["applications.jwt_secret_key"],
            jwt_issuer=settings["applications.jwt_issuer"],
            jwt_audience=settings["applications.jwt_audience"],
            jwt_expiration_seconds=settings["applications.jwt_expiration_seconds"],
            allow_user_creation=settings["applications.allow_user_creation"]
            and settings["oidc.fallback_to_email_for_identification"],
            base_url=settings["applications.base_url"].rstrip("/"),
            default_access_level=AccessLevel(settings["external_api.default_access_level"]),
            allow_public_access=settings["external_api.allow_public_access"],
            telephony_enabled=settings["telephony.enabled"],
            phone_number=settings["telephony.phone_number"],
            default_country=settings["telephony.default_country"],
        )

    @property
    def public_rooms_allowed(self) -> bool:
        return self.allow_public_access or self.default_access_level == AccessLevel.PUBLIC


# -- client credentials -> a delegated token --------------------------------------------


@cache
def _unknown_client_hash() -> str:
    """A hash to check secrets of unknown clients against, so that an unknown client id
    takes as long to refuse as a wrong secret."""
    return hash_secret(secrets.token_urlsafe(32))


def _secret_matches(secret: str, hashed: str) -> bool:
    try:
        return check_secret(secret, hashed)
    except ValueError:  # a stored value that is not one of our hashes
        return False


def authenticate_application(db: Session, client_id: str, client_secret: str) -> Application:
    """The active application these credentials name; Unauthenticated otherwise."""
    application = db.scalars(
        select(Application).where(Application.client_id == client_id)
    ).one_or_none()
    if application is None:
        _secret_matches(client_secret, _unknown_client_hash())
        raise Unauthenticated(INVALID_CREDENTIALS)
    if not _secret_matches(client_secret, application.client_secret):
        raise Unauthenticated(INVALID_CREDENTIALS)
    if not application.is_active:
        raise Unauthenticated(INACTIVE_APPLICATION)
    return application


def delegated_user(db: Session, config: ExternalApiConfig, email: str, *, client_id: str) -> User:
    """The user `email` names (case-insensitively); a provisional one when allowed."""
    matches = User.by_email(db, email)
    if len(matches) > 1:
        raise DomainError(SHARED_EMAIL)
    if matches:
        return matches[0]
    if not config.allow_user_creation:
        raise NotFound(USER_NOT_FOUND)
    user = User(sub=None, email=email)
    try:
        with db.begin_nested():  # the partial unique index settles a concurrent creation
            db.add(user)
    except IntegrityError:
        matches = User.by_email(db, email)
        if len(matches) == 1:
            return matches[0]
        raise Conflict(PROVISIONAL_RACE) from None
    log.info("provisional user %s created for application %s", user.id, client_id)
    return user


def issue_token(
    db: Session, config: ExternalApiConfig, *, client_id: str, client_secret: str, scope: str
) -> dict:
    """The token answer of POST /application/token/, checks in the reference's order."""
    application = authenticate_application(db, client_id, client_secret)
    email = normalize_email(scope)
    if email is None:
        raise DomainError(SCOPE_NOT_AN_EMAIL, key="error")
    if not application.can_delegate_email(email):
        domain = email.rpartition("@")[2]
        log.warning("application %s may not act for users of %s", application.client_id, domain)
        raise Refused(DOMAIN_NOT_ALLOWED, key="error")
    user = delegated_user(db, config, email, client_id=application.client_id)
    scopes = " ".join(str(s) for s in application.scopes or [])
    now = int(time.time())
    claims = {
        "iat": now,
        "exp": now + config.jwt_expiration_seconds,
        "user_id": str(user.id),
        "client_id": application.client_id,
        "delegated": True,
    }
    if config.jwt_issuer:
        claims["iss"] = config.jwt_issuer
    if config.jwt_audience:
        claims["aud"] = config.jwt_audience
    if scopes:
        claims["scope"] = scopes
    answer = {
        "access_token": jwt.encode(claims, config.jwt_secret_key, algorithm=ALGORITHM),
        "token_type": TOKEN_TYPE,
        "expires_in": config.jwt_expiration_seconds,
    }
    if scopes:
        answer["scope"] = scopes
    return answer


# -- bearer tokens ---------------------------------------------------------------------


@dataclass(frozen=True)
class Delegation:
    """Who a verified token acts for, and what it may do."""

    user_id: uuid.UUID
    scopes: frozenset[str]
    client_id: str | None = None
    # The identity provider's token for another of its clients (services/resource_server.py).
    from_provider: bool = False


def parse_scopes(claim) -> frozenset[str]:
    """The reference's reading: split on white space, lower-cased, each once."""
    if isinstance(claim, str):
        claim = claim.split()
    if not isinstance(claim, list | tuple):
        return frozenset()
    return frozenset(s.lower() for s in claim if isinstance(s, str) and s)


def decode(token: str, key: str, *, issuer: str, audience: str) -> dict | None:
    """Verified claims; None for a token that is not this key's (let the next kind try);
    Unauthenticated for one that is, but expired or meant for someone else."""
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer or None,
            audience=audience or None,
        )
    except (jwt.DecodeError, jwt.InvalidAlgorithmError):
        return None
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("Token expired.") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("Invalid token.") from None


_users = User.__table__


def active_user_id(db: Session, claims: dict) -> uuid.UUID:
    """The id of the existing, active user a token's `user_id` names."""
    if not claims.get("user_id"):
        raise Unauthenticated("Invalid token claims.")
    try:
        user_id = uuid.UUID(str(claims["user_id"]))
    except ValueError:
        raise Unauthenticated(USER_NOT_FOUND) from None
    active = db.connection().scalar(select(_users.c.is_active).where(_users.c.id == user_id))
    if active is None:
        raise Unauthenticated(USER_NOT_FOUND)
    if not active:
        raise Unauthenticated("User account is disabled.")
    return user_id


class ApplicationTokens:
    """An application's delegated tokens."""

    def __init__(self, config: ExternalApiConfig):
        self.config = config

    def verify(self, db: Session, token: str, address: str | None) -> Delegation | None:
        config = self.config
        claims = decode(
            token, config.jwt_secret_key, issuer=config.jwt_issuer, audience=config.jwt_audience
        )
        if claims is None:
            return None
        client_id = claims.get("client_id")
        if not client_id or not isinstance(client_id, str):
            raise Unauthenticated("Invalid token claims.")
        application = db.scalars(
            select(Application).where(Application.client_id == client_id)
        ).one_or_none()
        if application is None:
            raise Unauthenticated("Application not found.")
        if not application.is_active:
            raise Unauthenticated("Application is disabled.")
        if claims.get("delegated") is not True:
            raise Unauthenticated("Invalid token type.")
        user_id = active_user_id(db, claims)
        held = parse_scopes(list(application.scopes or []))
        return Delegation(user_id, parse_scopes(claims.get("scope")) & held, client_id)


class DelegatedTokens:
    """The bearer tokens the external API accepts, each kind tried in turn."""

    def __init__(self, verifiers: list):
        self.verifiers = verifiers

    def authenticate(
        self, db: Session, authorization: str, address: str | None = None
    ) -> Delegation | None:
        """Who `Authorization: Bearer <token>`, sent from `address`, acts for; None for no
        bearer token or one of no kind accepted here; Unauthenticated for a refused one."""
        parts = authorization.split()
        if not parts or parts[0].lower() != "bearer" or not self.verifiers:
            return None
        if len(parts) != 2:
            raise Unauthenticated("Invalid token header.")
        for verifier in self.verifiers:
            delegation = verifier.verify(db, parts[1], address)
            if delegation is not None:
                return delegation
        return None


# -- rooms made through the external API -----------------------------------------------

_LETTERS = string.ascii_lowercase


def generated_room_name() -> str:
    """`abc-defg-hij`: random lower-case letters in groups of 3, 4 and 3 (as the
    reference); the name is also the slug."""
    return "-".join("".join(secrets.choice(_LETTERS) for _ in range(n)) for n in (3, 4, 3))


def check_access_level(config: ExternalApiConfig, level) -> None:
    if level == AccessLevel.PUBLIC and not config.public_rooms_allowed:
        raise ValidationError({"access_level": PUBLIC_REFUSED})


ROOM_NAME_ATTEMPTS = 5


def create_external_room(
    db: Session,
    owner: User,
    config: ExternalApiConfig,
    defaults: RoomDefaults,
    *,
    access_level=MISSING,
    configuration=MISSING,
) -> Room:
    """A room with a generated name, owned by `owner`; the owner's default room
    preferences are not applied (as the reference)."""
    if access_level is MISSING or access_level is None:
        access_level = config.default_access_level
    check_access_level(config, access_level)
    if configuration is MISSING or configuration is None:
        configuration = {}
    for _attempt in range(ROOM_NAME_ATTEMPTS):
        name = generated_room_name()
        room = Room(name=name, slug=name, access_level=access_level, configuration=configuration)
        room.accesses.append(ResourceAccess(user=owner, role=Role.OWNER))
        try:
            if defaults.assign_pins:
                write_with_pin(
                    db, room, length=defaults.pin_length, retries=defaults.pin_max_retries
                )
            else:
                with db.begin_nested():
                    db.add(room)
        except IntegrityError:
            continue  # the name, taken meanwhile: 26**10 of them, so rarely twice
        return room
    raise Conflict("No free room name was found; try again.")


def includeme(config):
    from .addons import AddonsConfig, AddonTokens  # both build on this module
    from .ephemeral import EphemeralStore
    from .resource_server import IntrospectedTokens, ResourceServerConfig

    settings = config.get_settings()
    external = ExternalApiConfig.from_settings(settings)
    register(config, external, ExternalApiConfig)
    verifiers: list = []
    if external.applications_enabled:
        verifiers.append(ApplicationTokens(external))
    addons = AddonsConfig.from_settings(settings)
    if addons.enabled:
        verifiers.append(AddonTokens(addons))
    resource_server = ResourceServerConfig.from_settings(settings)
    register(config, resource_server, ResourceServerConfig)
    if resource_server.enabled:  # last: it asks the provider about any token left
        store = config.registry["meet_services"][EphemeralStore]
        verifiers.append(IntrospectedTokens(resource_server, store, config.registry["oidc"]))
    register(config, DelegatedTokens(verifiers), DelegatedTokens)

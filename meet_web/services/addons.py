"""The calendar add-in's session exchange, and the add-on tokens it hands out.

An add-in (in Outlook, say) cannot sign in itself; a person signs in in a browser and
lends it a token:
1. `start` (POST /addons/sessions/init/, anyone): a pending session and a transit token
   bound to it. The add-in keeps the session id in a cookie and gets the transit token
   and a CSRF token (the HMAC-SHA256 of the session id under `addons.csrf_secret`).
2. `exchange` (POST /addons/sessions/exchange/, the signed-in person, given the transit
   token by the add-in): an add-on token for that person is bound to the session.
3. `poll` (POST /addons/sessions/poll/, the add-in, with the cookie and the CSRF token):
   pending, until the token is there; then the token, once, and the session is gone.

A transit token is single-use: using it marks it consumed, and the mark is kept as long
as a session lives, so a second use is recognised as a replay, which evicts the session
(its token might now be someone else's). Everything lives in the ephemeral store
(Redis in production, so any process may serve any step), under digests of the ids, and
each step that must happen once is one atomic store operation.

Add-on tokens are HS256 JWTs under `addons.token_secret_key`, issuer `lasuite-meet`,
audience `addons`, scope `rooms:create`; the external API accepts them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt
from sqlalchemy.orm import Session

from ..models import ApplicationScope
from . import register
from .applications import TOKEN_TYPE, Delegation, active_user_id, decode, parse_scopes
from .ephemeral import EphemeralStore
from .errors import DomainError, NotFound

log = logging.getLogger(__name__)
security_log = logging.getLogger("meet_web.security")

ISSUER = "lasuite-meet"
AUDIENCE = "addons"
SCOPE = str(ApplicationScope.ROOMS_CREATE)
RANDOM_BYTES = 60
SESSION_COOKIE = "addonsSid"

PENDING = "pending"
AUTHENTICATED = "authenticated"


class SessionGone(NotFound):
    pass


class BadSession(DomainError):
    """A session that cannot go on (expired, already used, corrupted): evicted."""


class BadTransitToken(DomainError):
    pass


@dataclass(frozen=True)
class AddonsConfig:
    enabled: bool
    token_secret_key: str
    csrf_secret: str
    session_ttl: int
    transit_token_ttl: int
    token_ttl: int
    secure_cookies: bool

    @classmethod
    def from_settings(cls, settings) -> AddonsConfig:
        return cls(
            enabled=settings["addons.enabled"],
            token_secret_key=settings["addons.token_secret_key"],
            csrf_secret=settings["addons.csrf_secret"],
            session_ttl=settings["addons.session_ttl"],
            transit_token_ttl=settings["addons.transit_token_ttl"],
            token_ttl=settings["addons.token_ttl"],
            secure_cookies=settings["app.secure_cookies"],
        )


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


def session_key(digest: str) -> str:
    return f"addons:session:{digest}"


def transit_key(digest: str) -> str:
    return f"addons:transit:{digest}"


def consumed_key(digest: str) -> str:
    return f"addons:transit-consumed:{digest}"


class AddonTokens:
    """Minting and checking add-on tokens."""

    def __init__(self, config: AddonsConfig):
        self.config = config

    def mint(self, user_id: uuid.UUID) -> dict:
        now = int(time.time())
        claims = {
            "iat": now,
            "exp": now + self.config.token_ttl,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "user_id": str(user_id),
            "scope": SCOPE,
        }
        return {
            "access_token": jwt.encode(claims, self.config.token_secret_key, algorithm="HS256"),
            "token_type": TOKEN_TYPE,
            "expires_in": self.config.token_ttl,
            "scope": SCOPE,
        }

    def verify(self, db: Session, token: str, address: str | None) -> Delegation | None:
        claims = decode(token, self.config.token_secret_key, issuer=ISSUER, audience=AUDIENCE)
        if claims is None:
            return None
        return Delegation(active_user_id(db, claims), parse_scopes(claims.get("scope")))


@dataclass(frozen=True)
class Started:
    session_id: str
    transit_token: str
    csrf_token: str


class AddonExchange:
    """The three steps (see the module docstring), on the ephemeral store."""

    def __init__(self, store: EphemeralStore, config: AddonsConfig, tokens: AddonTokens):
        self.store, self.config, self.tokens = store, config, tokens

    def csrf_token(self, session_id: str) -> str:
        secret = self.config.csrf_secret.encode()
        return hmac.new(secret, session_id.encode("utf-8", "surrogateescape"), "sha256").hexdigest()

    def csrf_matches(self, session_id: str, token: str) -> bool:
        expected = self.csrf_token(session_id)
        return hmac.compare_digest(expected.encode(), token.encode("utf-8", "surrogateescape"))

    def start(self) -> Started:
        session_id = secrets.token_urlsafe(RANDOM_BYTES)
        transit_token = secrets.token_urlsafe(RANDOM_BYTES)
        config = self.config
        session = {"state": PENDING, "expires_at": time.time() + config.session_ttl}
        digest = _digest(session_id)
        self.store.put(session_key(digest), session, config.session_ttl)
        self.store.put(transit_key(_digest(transit_token)), digest, config.transit_token_ttl)
        return Started(session_id, transit_token, self.csrf_token(session_id))

    def poll(self, session_id: str) -> dict | None:
        """The token answer, once (the session is then gone); None while pending."""
        key = session_key(_digest(session_id))
        session = self.store.get(key)
        if session is None:
            raise SessionGone("Session not found or expired.")
        state = session.get("state") if isinstance(session, dict) else None
        if state == PENDING:
            return None
        if state == AUTHENTICATED:
            # Read and delete in one step: of two polls at once, one gets the token.
            session = self.store.take(key)
            if session is None:
                raise SessionGone("Session not found or expired.")
            if isinstance(session, dict) and all(
                isinstance(session.get(k), str) for k in ("access_token", "scope")
            ):
                expires_in = session.get("expires_in")
                return {
                    "state": AUTHENTICATED,
                    "access_token": session["access_token"],
                    "token_type": TOKEN_TYPE,
                    "expires_in": expires_in if isinstance(expires_in, int) else 0,
                    "scope": session["scope"],
                }
        self.store.delete(key)
        raise BadSession("Invalid session data.")

    def exchange(self, transit_token: str, user_id: uuid.UUID) -> None:
        """Bind an add-on token for `user_id` to the session of `transit_token`."""
        store, config = self.store, self.config
        transit = _digest(transit_token)
        owner = store.get(transit_key(transit))
        if not isinstance(owner, str):
            replayed = store.get(consumed_key(transit))
            if isinstance(replayed, dict) and isinstance(replayed.get("session"), str):
                self._replayed(transit, replayed["session"])
            raise BadTransitToken("Invalid or expired transit token.")
        # Consuming is the atomic step: of two uses at once, one wins and the other is a
        # replay. The mark outlives the transit token, as long as any session lives.
        if not store.add(consumed_key(transit), {"session": owner}, config.session_ttl):
            self._replayed(transit, owner)
        store.delete(transit_key(transit))
        key = session_key(owner)
        session = store.get(key)
        if session is None:
            raise SessionGone("Session not found.")
        if not isinstance(session, dict) or not isinstance(session.get("expires_at"), int | float):
            store.delete(key)
            raise BadSession("Invalid session data.")
        remaining = session["expires_at"] - time.time()
        if remaining <= 0:
            store.delete(key)
            raise BadSession("Session expired.")
        if session.get("state") != PENDING:
            store.delete(key)
            raise BadSession("Access token already set.")
        store.put(key, {**session, **self.tokens.mint(user_id), "state": AUTHENTICATED}, remaining)
        # A replay between our read and our write marked the transit token; its
        # eviction may have come before our write, so evict again.
        mark = store.get(consumed_key(transit))
        if isinstance(mark, dict) and mark.get("replayed"):
            store.delete(key)
            raise BadTransitToken("Transit token already used.")

    def _replayed(self, transit: str, owner: str):
        security_log.warning("add-on transit token replayed: session evicted")
        self.store.put(
            consumed_key(transit), {"session": owner, "replayed": True}, self.config.session_ttl
        )
        self.store.delete(session_key(owner))
        raise BadTransitToken("Transit token already used.")


def includeme(config):
    settings = config.get_settings()
    addons = AddonsConfig.from_settings(settings)
    tokens = AddonTokens(addons)
    store = config.registry["meet_services"][EphemeralStore]
    register(config, addons, AddonsConfig)
    register(config, tokens, AddonTokens)
    register(config, AddonExchange(store, addons, tokens), AddonExchange)

from __future__ import annotations

import logging
import secrets
import time

from pyramid.authorization import ACLHelper, Everyone
from pyramid.csrf import new_csrf_token
from pyramid.request import RequestLocalCache

from ..models import User
from ..services.accounts import Account, Accounts, active_sessions, revoked_key
from ..services.applications import DelegatedTokens, Unauthenticated
from ..services.ephemeral import EphemeralStore
from ..services.livekit import InvalidToken, LiveKitGateway
from ..services.marketing import after_first_sign_in
from .identity import Identity

SESSION_USER_KEY = "user_id"
SESSION_ID_KEY = "sid"
SESSION_SINCE_KEY = "since"  # when the session signed in (seconds since the epoch)

log = logging.getLogger(__name__)


class MeetSecurityPolicy:
    """Identity from the signed session cookie (OIDC login), or on the external API's
    route from a delegated bearer token only; permits through ACLs."""

    def __init__(self):
        self._cache = RequestLocalCache(self._load_identity)
        self._acl = ACLHelper()

    def _load_identity(self, request) -> Identity | None:
        route = request.matched_route
        if route is not None and route.name == EXTERNAL_API_ROUTE:
            return bearer_identity(request)  # never the session: no cookies, no CSRF
        user = request.account
        claims = livekit_claims(request)
        if user is None and claims is None:
            return None
        return Identity(
            user_id=user.id if user else None,
            source="session" if user else "livekit",
            is_operator=bool(user and user.is_operator),
            livekit_room=claims.video.room if claims else None,
            livekit_identity=claims.identity if claims else None,
            livekit_attributes=dict(claims.attributes or {}) if claims else {},
        )

    def identity(self, request) -> Identity | None:
        if "view_name" not in request.__dict__:
            # Asked before traversal (e.g. by a tween): which view runs, and so whether
            # a LiveKit token counts, is not known yet. Never cache that answer.
            return self._load_identity(request)
        return self._cache.get_or_create(request)

    def authenticated_userid(self, request):
        """The signed-in user's id (pyramid_tm asks before routing); None for others,
        including holders of a LiveKit token only."""
        account = request.account
        return None if account is None else str(account.id)

    def permits(self, request, context, permission):
        identity = self.identity(request)
        principals = [Everyone] if identity is None else [Everyone, *identity.principals()]
        return self._acl.permits(context, principals, permission)

    def remember(self, request, userid, **kw):
        request.session.invalidate()  # a fresh session on login: no fixation
        request.session[SESSION_USER_KEY] = str(userid)
        request.session[SESSION_ID_KEY] = secrets.token_urlsafe(18)
        request.session[SESSION_SINCE_KEY] = int(time.time())
        new_csrf_token(request)
        after_first_sign_in(request, userid)
        return []

    def forget(self, request, **kw):
        # The session lives in a signed cookie: a copy of it would stay valid until it
        # expires, so logging out also revokes its id for the rest of its lifetime.
        session_id = request.session.get(SESSION_ID_KEY)
        if session_id:
            request.service(EphemeralStore).put(
                revoked_key(session_id), True, request.registry.settings["session.max_age"]
            )
            user_id = request.session.get(SESSION_USER_KEY)
            if user_id:  # no longer among the account's active sessions
                active_sessions(request.registry).forget(user_id, session_id)
        request.session.invalidate()
        return []


EXTERNAL_API_ROUTE = "external_api"
# Why a bearer token of the external API was refused, for the 401 (request.environ).
BEARER_REFUSAL = "meet_web.bearer_refusal"


def bearer_identity(request) -> Identity | None:
    """The external API's caller: the user a delegated token acts for, with its scopes."""
    tokens = request.service(DelegatedTokens)
    try:
        delegation = tokens.authenticate(
            request.dbsession, request.headers.get("Authorization", ""), request.client_addr
        )
    except Unauthenticated as exc:
        request.environ[BEARER_REFUSAL] = exc.message
        return None
    if delegation is None:
        return None
    return Identity(
        user_id=delegation.user_id,
        source="bearer",
        client_id=delegation.client_id,
        from_provider=delegation.from_provider,
        scopes=delegation.scopes,
    )


# API views that accept a LiveKit token as the caller's credential, as the reference does.
LIVEKIT_TOKEN_VIEWS = frozenset({"mute-participant", "toggle-hand", "rename", "start-subtitle"})


def livekit_claims(request):
    """Verified claims of a `Bearer <LiveKit token>` on the views that accept one, or None."""
    if request.matched_route is None or request.matched_route.name != "api":
        return None
    if getattr(request, "view_name", None) not in LIVEKIT_TOKEN_VIEWS:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    gateway = request.service(LiveKitGateway)
    try:
        return gateway.verify(token.strip())
    except InvalidToken:
        return None


def session_account(request) -> Account | None:
    """The signed-in, active account of this request (no ORM), or None."""
    user_id = request.session.get(SESSION_USER_KEY)
    session_id = request.session.get(SESSION_ID_KEY)
    if not user_id or session_id is None:
        return None
    account = request.service(Accounts).for_session(request.dbsession, user_id, session_id)
    if account is None:
        # Revoked, deactivated or gone: clear the cookie. Otherwise the session factory
        # would keep reissuing it, and a copy kept alive past the revocation mark's
        # lifetime (session.max_age) would work again.
        request.session.invalidate()
        return None
    note_seen(request, account, session_id)
    return account


def note_seen(request, account: Account, session_id: str) -> None:
    """The account page's list of sessions: this one, seen now (written at most once per
    `session.last_seen_interval` per process)."""
    try:
        active_sessions(request.registry).seen(
            account.id, session_id, request.user_agent, request.session.get(SESSION_SINCE_KEY)
        )
    except Exception as exc:  # the request goes on; the list is only less fresh
        log.warning("session last-seen not written: %s", exc)


def session_user(request) -> User | None:
    """The signed-in, active user of this request as an ORM object, or None (for the
    views that read or change more of it than its account)."""
    account = request.account
    return None if account is None else User.by_id(request.dbsession, account.id)

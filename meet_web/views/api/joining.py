"""Who a caller is in a meeting, and the LiveKit block that lets them in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from ...db import after_commit
from ...security.permissions import Permission
from ...services.livekit import LiveKitGateway
from ...services.lobby import Lobby, LobbyStatus
from ...services.lobby_alerts import after_knock

ANONYMOUS_NAME = "Anonymous"
KEY_COOKIE_SUFFIX = "Key"


def participant_key(secret: str, identity: str) -> str:
    """The proof that a guest's browser was given `identity` by us.

    A guest's identity is also their LiveKit identity, which everyone in the meeting
    can see: the identity cookie alone must not let someone else step into an
    admitted guest's (or a signed-in user's) place. The key cookie carries an HMAC of
    the identity that only this site can compute.
    """
    mac = hmac.new(secret.encode(), f"lobby-participant:{identity}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode()


def known_identity(request) -> str | None:
    """The caller's identity if they hold one already: the user id when signed in, else
    the lobby cookie's UUID when its key cookie proves it ours; None otherwise. Sets
    nothing (see participant_identity).

    The guest's cookies: `<lobby.cookie_name>` holds the identity (as the reference's
    does) and `<lobby.cookie_name>Key` its key.
    """
    if request.account is not None:
        return str(request.account.id)
    settings = request.registry.settings
    cookie_name = settings["lobby.cookie_name"]
    value = request.cookies.get(cookie_name, "")
    try:
        identity = str(uuid.UUID(value))
    except ValueError:
        return None
    key = request.cookies.get(cookie_name + KEY_COOKIE_SUFFIX, "")
    if hmac.compare_digest(key, participant_key(settings["session.secret"], identity)):
        return identity
    return None


def participant_identity(request) -> str:
    """The caller's known identity; a guest without one gets a new one, with its
    cookies set on the response (a missing or wrong key gets a new identity)."""
    identity = known_identity(request)
    if identity is not None:
        return identity
    settings = request.registry.settings
    cookie_name = settings["lobby.cookie_name"]
    key_name = cookie_name + KEY_COOKIE_SUFFIX
    secret = settings["session.secret"]
    identity = str(uuid.uuid4())
    key = participant_key(secret, identity)
    # later calls in this request agree
    request.cookies[cookie_name], request.cookies[key_name] = identity, key

    def set_cookies(request, response):
        for name, cookie_value in ((cookie_name, identity), (key_name, key)):
            response.set_cookie(
                name,
                cookie_value,
                httponly=True,
                secure=settings["app.secure_cookies"],
                samesite="Lax",
            )

    request.add_response_callback(set_cookies)
    return identity


def display_name(request, username: str | None) -> str:
    user = request.account
    if user is None:
        return username or ANONYMOUS_NAME
    can_edit = request.registry.settings["livekit.authenticated_participants_can_edit_display_name"]
    if can_edit and username:
        return username
    return user.full_name or str(user)


def livekit_block(
    request, room_name: str, role, configuration, *, identity: str, name: str, color=None
) -> dict:
    """{url, room, token}: what a browser needs to join the LiveKit room."""
    gateway = request.service(LiveKitGateway)
    token = gateway.token(
        room=room_name,
        identity=identity,
        name=name,
        role=role,
        sources=gateway.publish_sources(role, configuration),
        is_authenticated=request.account is not None,
        color=color,
    )
    return {"url": gateway.config.public_url, "room": room_name, "token": token}


def requested_name(request) -> str:
    """The display name asked for with `?username=`, for callers allowed to choose it."""
    return display_name(request, request.GET.get("username", "").strip()[:255])


def knock(request, context, username: str | None):
    """One poll at the room's door by the caller: the lobby entry and, if admitted, the
    LiveKit block. Raises the lobby's TooManyRequests (LobbyFull) / RemovedRecently.

    New knocks are counted per `request.client_addr` (see `lobby.address_rate_limit`);
    the meeting's notification, and for a new guest the managers' e-mail check, run
    once the request has committed. The room's
    version is read in the lobby's own round trip, to check the room's door.
    """
    identity = participant_identity(request)
    name = display_name(request, username)

    def may_skip(version) -> bool:
        context.confirm(version)
        return request.has_permission(Permission.ROOM_JOIN, context)

    entry = request.service(Lobby).request_entry(
        context.id,
        identity,
        name,
        may_skip=may_skip,
        along=context.version_key,
        address=request.client_addr or "",  # no REMOTE_ADDR: one bucket for all such
        defer=lambda fn, *args: after_commit(request, fn, *args),
    )
    after_knock(request, context.id, entry)  # a new guest: maybe the managers' e-mail
    block = None
    if entry.status == LobbyStatus.ACCEPTED:
        door = context.door
        block = livekit_block(
            request,
            str(door.id),
            context.role,
            door.configuration,
            identity=identity,
            name=name,
            color=entry.color,
        )
    return entry, block

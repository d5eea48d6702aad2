"""Who a caller is in a meeting, and the LiveKit block that lets them in."""

from __future__ import annotations

import uuid

from ...security.permissions import Permission
from ...services.livekit import LiveKitGateway
from ...services.lobby import Lobby, LobbyStatus

ANONYMOUS_NAME = "Anonymous"


def participant_identity(request) -> str:
    """The user id when signed in; else the lobby cookie's UUID (set if missing)."""
    if request.user is not None:
        return str(request.user.id)
    settings = request.registry.settings
    cookie_name = settings["lobby.cookie_name"]
    value = request.cookies.get(cookie_name, "")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        pass
    identity = str(uuid.uuid4())
    request.cookies[cookie_name] = identity  # later calls in this request agree

    def set_cookie(request, response):
        response.set_cookie(
            cookie_name,
            identity,
            httponly=True,
            secure=settings["app.secure_cookies"],
            samesite="Lax",
        )

    request.add_response_callback(set_cookie)
    return identity


def display_name(request, username: str | None) -> str:
    user = request.user
    if user is None:
        return username or ANONYMOUS_NAME
    can_edit = request.registry.settings["livekit.authenticated_participants_can_edit_display_name"]
    if can_edit and username:
        return username
    return user.full_name or str(user)


def livekit_block(request, room, role, *, identity: str, name: str, color=None) -> dict:
    gateway = request.find_service(LiveKitGateway)
    token = gateway.token(
        room=str(room.id),
        identity=identity,
        name=name,
        role=role,
        sources=gateway.publish_sources(role, room.configuration),
        is_authenticated=request.user is not None,
        color=color,
    )
    return {"url": gateway.config.public_url, "room": str(room.id), "token": token}


def knock(request, context, username: str | None):
    """One poll at the room's door by the caller: the lobby entry and, if admitted, the
    LiveKit block. Raises the lobby's TooManyRequests / RemovedRecently."""
    identity = participant_identity(request)
    name = display_name(request, username)
    may_skip = request.has_permission(Permission.ROOM_JOIN, context)
    entry = request.find_service(Lobby).request_entry(
        context.room.id, identity, name, may_skip=may_skip
    )
    block = None
    if entry.status == LobbyStatus.ACCEPTED:
        block = livekit_block(
            request, context.room, context.role, identity=identity, name=name, color=entry.color
        )
    return entry, block

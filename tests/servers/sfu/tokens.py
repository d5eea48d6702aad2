"""Who may join: the ``access_token`` of a ``/rtc`` request checked as LiveKit checks it
(HS256 with the server's key and secret, ``video.roomJoin`` and ``video.room``, an identity)."""

from __future__ import annotations

from dataclasses import dataclass, field

import jwt
from livekit import api
from livekit.api.access_token import Claims


@dataclass(frozen=True)
class Admission:
    """A verified join: the participant's fields come from the token."""

    room: str
    identity: str
    name: str
    metadata: str
    attributes: dict[str, str] = field(default_factory=dict)
    claims: Claims | None = None


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str


def admit(verifier: api.TokenVerifier, token: str | None) -> Admission | Refusal:
    if not token:
        return Refusal(401, "no authorization token")
    try:
        claims = verifier.verify(token)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        return Refusal(401, f"invalid token: {exc}")
    video = claims.video
    if video is None or not video.room_join:
        return Refusal(401, "permissions denied")
    if not video.room:
        return Refusal(401, "no room name")
    if not claims.identity:
        return Refusal(401, "no participant identity")
    return Admission(
        room=video.room,
        identity=claims.identity,
        name=claims.name or "",
        metadata=claims.metadata or "",
        attributes=dict(claims.attributes or {}),
        claims=claims,
    )


def permission_from(claims: Claims) -> api.ParticipantPermission:
    """The ParticipantPermission LiveKit derives from a token's video grant."""
    video = claims.video
    sources = [api.TrackSource.Value(s.upper()) for s in (video.can_publish_sources or [])]
    return api.ParticipantPermission(
        can_subscribe=video.can_subscribe is not False,
        can_publish=video.can_publish is not False,
        can_publish_data=video.can_publish_data is not False,
        can_publish_sources=sources,
        hidden=bool(video.hidden),
        can_update_metadata=bool(video.can_update_own_metadata),
    )

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from pyramid.authorization import Authenticated

from .permissions import (
    OPERATOR,
    delegated_principal,
    participant_principal,
    scope_principal,
    user_principal,
)


@dataclass(frozen=True)
class Identity:
    """Who is calling: ids and flags only, never ORM objects.

    `source` says how the caller proved it: "session" (OIDC login), "bearer" (a
    delegated token of the external API: an application's, with its `client_id`, an
    add-on's, without, or the identity provider's, with the `client_id` of the client
    it was issued to; `scopes` are what it may do for `user_id`), or
    "livekit" (a LiveKit token for one room, accepted only where the reference accepts
    it; it makes the caller a participant of that room, never an administrator).
    """

    user_id: uuid.UUID | None
    source: str
    is_operator: bool = False
    client_id: str | None = None
    from_provider: bool = False  # a bearer token of the identity provider's
    scopes: frozenset[str] = field(default_factory=frozenset)
    livekit_room: str | None = None
    livekit_identity: str | None = None
    livekit_attributes: dict[str, str] = field(default_factory=dict, hash=False)

    def principals(self) -> list[str]:
        if self.source == "bearer":
            return self._delegated_principals()
        principals = []
        if self.livekit_room is not None:
            principals.append(participant_principal(self.livekit_room))
        if self.user_id is not None:
            principals += [Authenticated, user_principal(self.user_id)]
        if self.is_operator:
            principals.append(OPERATOR)
        if self.client_id is not None:
            principals.append(f"client:{self.client_id}")
            principals.extend(f"scope:{s}" for s in sorted(self.scopes))
        return principals

    def _delegated_principals(self) -> list[str]:
        """A token acting for its user within its scopes (the external API): neither
        `Authenticated` nor `user:<id>`, so no grant of the site or of a room's roles
        reaches it; see security/permissions.py for the grants that do."""
        scopes = sorted(self.scopes)
        principals = [scope_principal(s) for s in scopes]
        principals += [delegated_principal(s, self.user_id) for s in scopes]
        if self.client_id is not None:
            principals.append(f"client:{self.client_id}")
        return principals

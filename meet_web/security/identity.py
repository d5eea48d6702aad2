from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from pyramid.authorization import Authenticated

from .permissions import OPERATOR, user_principal


@dataclass(frozen=True)
class Identity:
    """Who is calling: ids and flags only, never ORM objects.

    `source` says how the caller proved it: "session" (OIDC login) or "bearer".
    """

    user_id: uuid.UUID | None
    source: str
    is_operator: bool = False
    client_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    def principals(self) -> list[str]:
        principals = [Authenticated]
        if self.user_id is not None:
            principals.append(user_principal(self.user_id))
        if self.is_operator:
            principals.append(OPERATOR)
        if self.client_id is not None:
            principals.append(f"client:{self.client_id}")
            principals.extend(f"scope:{s}" for s in sorted(self.scopes))
        return principals

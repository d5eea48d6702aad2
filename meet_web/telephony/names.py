"""The names telephony gives in LiveKit, and reading them back.

A meeting's LiveKit room is named by the room's id; its holding room, where phone
callers wait to be let in, by `phone-lobby-<id>` (which no unregistered room's slug
can be: slugs holding a UUID are refused); its dispatch rule by `SIP_<id>`, as the
reference names it. Browsers' identities are UUIDs (a user's id, a guest's cookie):
a lobby entry under any other identity is a phone caller's (LiveKit's `sip_<number>`).
"""

from __future__ import annotations

import uuid

RULE_PREFIX = "SIP_"
HOLDING_PREFIX = "phone-lobby-"


def rule_name(room_id) -> str:
    return f"{RULE_PREFIX}{room_id}"


def holding_room(room_id) -> str:
    return f"{HOLDING_PREFIX}{room_id}"


def meeting_room(room_id) -> str:
    return str(room_id)


def room_id_of_meeting(name: str) -> uuid.UUID | None:
    """The room id a meeting's LiveKit room is named by; None for other names."""
    return _uuid(name) if len(name) == 36 else None


def room_id_of_holding(name: str) -> uuid.UUID | None:
    """The room id of a holding room's name; None for other names."""
    if not name.startswith(HOLDING_PREFIX):
        return None
    return room_id_of_meeting(name.removeprefix(HOLDING_PREFIX))


def is_phone_identity(identity: str) -> bool:
    return _uuid(identity) is None


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None

"""Explicit JSON shapes, field for field as the reference's API."""

from __future__ import annotations

from math import ceil
from urllib.parse import urlencode

from ...models import AccessLevel, Role
from ...validation import ROOM_CONFIGURATION_SCHEMA, check_page


def user_json(user) -> dict:
    return {
        "id": str(user.id),
        "email": user.email,
        "full_name": user.full_name,
        "short_name": user.short_name,
        "timezone": user.timezone,
        "language": user.language,
        "default_room_access_level": user.default_room_access_level,
        "default_room_configuration": user.default_room_configuration or {},
    }


def account_json(user) -> dict:
    """The user as they see themselves: their preferences that others need not see too."""
    return {**user_json(user), "guest_waiting_emails": user.guest_waiting_emails}


def access_json(access) -> dict:
    return {
        "id": str(access.id),
        "user": str(access.user_id),
        "resource": str(access.resource_id),
        "role": access.role,
    }


def nested_access_json(access) -> dict:
    return {**access_json(access), "user": user_json(access.user)}


def room_json(room, *, role=None, may_join: bool = False) -> dict:
    """Base fields for all; pin_code for those who may join; accesses for managers."""
    data = {
        "id": str(room.id),
        "name": room.name,
        "slug": room.slug,
        "configuration": room.configuration or {},
        "access_level": room.access_level,
        "is_administrable": role in ("owner", "administrator"),
    }
    if may_join:
        data["pin_code"] = room.pin_code
    if data["is_administrable"]:
        data["accesses"] = [nested_access_json(a) for a in room.accesses]
    return data


def page_json(request, items: list, count: int, page: int, size: int) -> dict:
    """The reference's page: {count, next, previous, results}; past the last page, 404."""
    check_page(page, size, count)
    last = max(1, ceil(count / size))

    def link(number: int) -> str:
        # As DRF: the requested path (trailing slash kept), other parameters sorted,
        # and no `page` at all for the first page.
        query = sorted((k, v) for k, v in request.GET.items() if k != "page")
        if number > 1:
            query = sorted([*query, ("page", str(number))])
        return request.path_url + (f"?{urlencode(query)}" if query else "")

    return {
        "count": count,
        "next": link(page + 1) if page < last else None,
        "previous": link(page - 1) if page > 1 else None,
        "results": items,
    }


# -- the same shapes as JSON Schema, for the OpenAPI document ---------------------------
# Kept beside the functions that build them; the functional tests validate every JSON
# answer they receive against these, so the two cannot drift apart.

_STRING_OR_NULL = {"type": ["string", "null"]}
_ACCESS_LEVEL = {"enum": [level.value for level in AccessLevel]}
_ROLE = {"enum": [role.value for role in Role]}


def object_schema(required: dict, optional: dict | None = None) -> dict:
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": sorted(required),
        "additionalProperties": False,
    }


USER_SCHEMA = object_schema(
    {
        "id": {"type": "string", "format": "uuid"},
        "email": _STRING_OR_NULL,
        "full_name": _STRING_OR_NULL,
        "short_name": _STRING_OR_NULL,
        "timezone": {"type": "string"},
        "language": {"type": "string"},
        "default_room_access_level": {"enum": [*_ACCESS_LEVEL["enum"], None]},
        "default_room_configuration": ROOM_CONFIGURATION_SCHEMA,
    }
)
ACCOUNT_SCHEMA = object_schema(
    {**USER_SCHEMA["properties"], "guest_waiting_emails": {"type": "boolean"}}
)
ACCESS_SCHEMA = object_schema(
    {
        "id": {"type": "string", "format": "uuid"},
        "user": {"type": "string", "format": "uuid"},
        "resource": {"type": "string", "format": "uuid"},
        "role": _ROLE,
    }
)
NESTED_ACCESS_SCHEMA = object_schema({**ACCESS_SCHEMA["properties"], "user": USER_SCHEMA})
LIVEKIT_BLOCK_SCHEMA = object_schema(
    {"url": {"type": "string"}, "room": {"type": "string"}, "token": {"type": "string"}}
)
ROOM_SCHEMA = object_schema(
    {
        "id": {"type": "string", "format": "uuid"},
        "name": {"type": "string"},
        "slug": {"type": "string"},
        "configuration": ROOM_CONFIGURATION_SCHEMA,
        "access_level": _ACCESS_LEVEL,
        "is_administrable": {"type": "boolean"},
    },
    {
        "pin_code": _STRING_OR_NULL,
        "accesses": {"type": "array", "items": NESTED_ACCESS_SCHEMA},
        "livekit": LIVEKIT_BLOCK_SCHEMA,
    },
)
UNREGISTERED_ROOM_SCHEMA = object_schema(
    {
        "id": {"type": "null"},
        "slug": {"type": "string"},
        "is_administrable": {"const": False},
        "access_level": {"const": "public"},
        "livekit": LIVEKIT_BLOCK_SCHEMA,
    }
)
LOBBY_ENTRY_SCHEMA = object_schema(
    {
        "id": {"type": "string"},
        "username": {"type": "string"},
        "status": {"enum": ["unknown", "waiting", "accepted", "denied"]},
        "color": {"type": "string"},
    }
)
SUCCESS_SCHEMA = object_schema({"status": {"const": "success"}})
MESSAGE_SCHEMA = object_schema({"message": {"type": "string"}})


def page_schema(items: dict) -> dict:
    link = {"type": ["string", "null"], "format": "uri"}
    return object_schema(
        {
            "count": {"type": "integer", "minimum": 0},
            "next": link,
            "previous": link,
            "results": {"type": "array", "items": items},
        }
    )

"""The external API's JSON shapes, field for field as the reference's, with their schemas.

A room shows what an integration needs to send people to it: never its accesses, nor a
LiveKit token, nor the PIN but inside the telephony block.
"""

from __future__ import annotations

from ...models import AccessLevel
from ...services.applications import ExternalApiConfig
from ...validation import ROOM_CONFIGURATION_SCHEMA
from ..api.serializers import object_schema


def external_room_json(room, config: ExternalApiConfig) -> dict:
    data = {
        "id": str(room.id),
        "name": room.name,
        "slug": room.slug,
        "access_level": room.access_level,
        "configuration": room.configuration or {},
    }
    if config.base_url:
        data["url"] = f"{config.base_url}/{room.slug}"
    if config.telephony_enabled:
        data["telephony"] = {
            "enabled": True,
            "phone_number": config.phone_number,
            "pin_code": room.pin_code,
            "default_country": config.default_country,
        }
    return data


_STRING_OR_NULL = {"type": ["string", "null"]}

EXTERNAL_ROOM_SCHEMA = object_schema(
    {
        "id": {"type": "string", "format": "uuid"},
        "name": {"type": "string"},
        "slug": {"type": "string"},
        "access_level": {"enum": [level.value for level in AccessLevel]},
        "configuration": ROOM_CONFIGURATION_SCHEMA,
    },
    {
        "url": {"type": "string", "description": "`applications.base_url`/<slug>, when set."},
        "telephony": object_schema(
            {
                "enabled": {"const": True},
                "phone_number": {"type": "string"},
                "pin_code": _STRING_OR_NULL,
                "default_country": {"type": "string"},
            }
        ),
    },
)
TOKEN_SCHEMA = object_schema(
    {
        "access_token": {"type": "string"},
        "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer", "minimum": 1},
    },
    {"scope": {"type": "string", "description": "The application's scopes, space-separated."}},
)

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ...openapi import operation
from ...recording import Recordings
from ...resources import ApiRoot
from ...telephony.config import TelephonyConfig

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["LANGUAGE_CODE", "recording", "telephony", "livekit", "resource"],
    "properties": {
        "LANGUAGE_CODE": {"type": "string"},
        "recording": {"type": "object"},
        "telephony": {
            "type": "object",
            "required": ["enabled"],
            "properties": {
                "enabled": {"type": "boolean"},
                "default_country": {"type": ["string", "null"]},
                "international_phone_number": {"type": "string"},
            },
            "additionalProperties": False,
        },
        "livekit": {"type": "object"},
        "resource": {"type": "object"},
    },
    "description": "The frontend configuration, with frontend.configuration merged in.",
}


@view_config(
    context=ApiRoot,
    route_name="api",
    name="config",
    request_method="GET",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
)
@operation("The frontend configuration", responses={200: CONFIG_SCHEMA}, tag="config")
def get_config(request):
    s = request.registry.settings
    return {
        **s["frontend.configuration"],
        "LANGUAGE_CODE": s["app.default_language"],
        "recording": {
            "is_enabled": s["recording.enabled"],
            "available_modes": request.service(Recordings).modes,
            "expiration_days": s["recording.expiration_days"],
            "max_duration": s["recording.max_duration"],
        },
        "background_image": {"upload_is_enabled": False},
        "telephony": request.service(TelephonyConfig).frontend_block(),
        "resource": {"default_access_level": s["rooms.default_access_level"]},
        "subtitle": {"enabled": s["subtitles.enabled"]},
        "diagnostics": {"connection_test_enabled": s["diagnostics.connection_test_enabled"]},
        "livekit": {
            "url": s["livekit.public_url"] or s["livekit.url"],
            "force_wss_protocol": s["livekit.force_wss_protocol"],
            "enable_firefox_proxy_workaround": False,
            "default_sources": s["livekit.default_sources"],
        },
        "authenticated_users_can_edit_display_name": s[
            "livekit.authenticated_participants_can_edit_display_name"
        ],
    }

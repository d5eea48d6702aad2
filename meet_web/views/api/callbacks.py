"""Room creation callback: a creator context hands the new room's slug to a waiting one."""

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ...resources import RoomContainer
from ...services.ephemeral import EphemeralStore
from ...validation import Fields, json_body


def callback_key(callback_id: str) -> str:
    return f"room-creation-callback:{callback_id}"


def remember_created_room(request, callback_id: str, slug: str) -> None:
    ttl = request.registry.settings["rooms.creation_callback_timeout"]
    request.find_service(EphemeralStore).put(callback_key(callback_id), {"slug": slug}, ttl)


@view_config(
    context=RoomContainer,
    route_name="api",
    name="creation-callback",
    request_method="POST",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
)
def creation_callback(request):
    """The first poll after creation gets the slug; later polls get an empty room."""
    fields = Fields(json_body(request))
    callback_id = fields.string("callback_id", required=True, max_length=255)
    fields.check()
    room = request.find_service(EphemeralStore).take(callback_key(callback_id))
    return {"status": "success", "room": room or {}}

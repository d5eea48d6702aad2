"""Room creation callback: a creator context hands the new room's slug to a waiting one."""

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ...openapi import operation
from ...resources import RoomContainer
from ...services.ephemeral import EphemeralStore
from ...validation import Body, String
from .serializers import object_schema

CALLBACK_BODY = Body("CreationCallback", required=("callback_id",), callback_id=String(255))
CALLBACK_SCHEMA = object_schema(
    {
        "status": {"const": "success"},
        "room": {"type": "object", "properties": {"slug": {"type": "string"}}},
    }
)


def callback_key(callback_id: str) -> str:
    return f"room-creation-callback:{callback_id}"


def remember_created_room(request, callback_id: str, slug: str) -> None:
    ttl = request.registry.settings["rooms.creation_callback_timeout"]
    request.service(EphemeralStore).put(callback_key(callback_id), {"slug": slug}, ttl)


@view_config(
    context=RoomContainer,
    route_name="api",
    name="creation-callback",
    request_method="POST",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
)
@operation(
    "The slug of the room created with this callback_id (once; then an empty room)",
    body=CALLBACK_BODY,
    responses={200: CALLBACK_SCHEMA},
    tag="rooms",
)
def creation_callback(request):
    """The first poll after creation gets the slug; later polls get an empty room."""
    callback_id = CALLBACK_BODY.parse(request)["callback_id"]
    room = request.service(EphemeralStore).take(callback_key(callback_id))
    return {"status": "success", "room": room or {}}

from pyramid.httpexceptions import HTTPTooManyRequests
from pyramid.view import view_config, view_defaults

from ...resources import RoomResource
from ...security.permissions import Permission
from ...services.errors import NotFound, Refused
from ...services.lobby import Lobby, ParticipantNotFound, RemovedRecently, TooManyRequests
from ...validation import Fields, json_body
from .joining import knock


@view_defaults(context=RoomResource, route_name="api", renderer="json")
class LobbyApi:
    def __init__(self, context, request):
        self.context, self.request = context, request
        self.room = context.room
        self.lobby = request.find_service(Lobby)

    @view_config(
        name="request-entry", request_method="POST", permission=Permission.ROOM_REQUEST_ENTRY
    )
    def request_entry(self):
        fields = Fields(json_body(self.request))
        username = fields.string("username", required=True, max_length=255)
        fields.check()
        try:
            entry, livekit = knock(self.request, self.context, username)
        except TooManyRequests as exc:
            raise HTTPTooManyRequests(headers={"Retry-After": "60"}) from exc
        except RemovedRecently as exc:
            raise Refused("You were removed from this meeting; try again later.") from exc
        return {**entry.as_json(), "livekit": livekit}

    @view_config(name="enter", request_method="POST", permission=Permission.ROOM_MANAGE)
    def enter(self):
        fields = Fields(json_body(self.request))
        participant = fields.uuid("participant_id", required=True)
        allow = fields.boolean("allow_entry", required=True)
        fields.check()
        if self.room.is_public:
            raise NotFound("Room has no lobby system.", key="message")
        try:
            self.lobby.decide(self.room.id, str(participant), allow=allow)
        except ParticipantNotFound as exc:
            raise NotFound("Participant not found.", key="message") from exc
        return {"message": "Participant was updated."}

    @view_config(
        name="waiting-participants", request_method="GET", permission=Permission.ROOM_MANAGE
    )
    def waiting_participants(self):
        if self.room.is_public:
            return {"participants": []}
        return {"participants": [e.as_json() for e in self.lobby.waiting(self.room.id)]}

import re
from dataclasses import dataclass
from typing import Any

from pyramid.httpexceptions import HTTPServiceUnavailable
from pyramid.view import view_config, view_defaults

from ...openapi import operation
from ...resources import RoomResource
from ...security.permissions import Permission
from ...services import audit
from ...services.errors import NotFound, Refused, Throttled
from ...services.lobby import (
    Lobby,
    LobbyFull,
    ParticipantNotFound,
    RemovedRecently,
    TooManyRequests,
)
from ...validation import Body, Boolean, Fields, String, Uuid
from .joining import knock
from .serializers import LIVEKIT_BLOCK_SCHEMA, LOBBY_ENTRY_SCHEMA, MESSAGE_SCHEMA, object_schema

LOBBY_FULL = "The lobby of this room is full; try again later."
LOBBY_FULL_RETRY_AFTER = "10"

REQUEST_ENTRY_BODY = Body(
    "RequestEntry", required=("username",), username=String(255, "The name to show.")
)
PHONE_IDENTITY = re.compile(r"sip_\S{1,251}\Z")


@dataclass(frozen=True)
class ParticipantId(Uuid):
    """A browser's lobby id (a UUID), or a phone caller's LiveKit identity (`sip_…`)."""

    def read(self, fields: Fields, name: str, required: bool) -> Any:
        value = fields.data.get(name)
        if isinstance(value, str) and PHONE_IDENTITY.match(value):
            return value
        return super().read(fields, name, required)

    def json_schema(self) -> dict:
        return {"anyOf": [super().json_schema(), {"type": "string", "pattern": "^sip_\\S+$"}]}


ENTER_BODY = Body(
    "Enter",
    required=("participant_id", "allow_entry"),
    participant_id=ParticipantId(
        "The waiting participant's id (a phone caller's: their `sip_…` identity)."
    ),
    allow_entry=Boolean("true admits them, false denies them."),
)
REQUEST_ENTRY_SCHEMA = object_schema(
    {
        **LOBBY_ENTRY_SCHEMA["properties"],
        "livekit": {"anyOf": [{"type": "null"}, LIVEKIT_BLOCK_SCHEMA]},
    }
)
WAITING_SCHEMA = object_schema({"participants": {"type": "array", "items": LOBBY_ENTRY_SCHEMA}})


@view_defaults(context=RoomResource, route_name="api", renderer="json")
class LobbyApi:
    def __init__(self, context, request):
        self.context, self.request = context, request
        self.lobby = request.service(Lobby)

    @view_config(
        name="request-entry", request_method="POST", permission=Permission.ROOM_REQUEST_ENTRY
    )
    @operation(
        "Knock at the room's door (poll about once a second); admitted callers get a token",
        body=REQUEST_ENTRY_BODY,
        responses={200: REQUEST_ENTRY_SCHEMA},
        tag="lobby",
    )
    def request_entry(self):
        username = REQUEST_ENTRY_BODY.parse(self.request)["username"]
        try:
            entry, livekit = knock(self.request, self.context, username)
        except LobbyFull as exc:
            # The room's state, not this caller's pace: waiting guests leave (admitted,
            # denied or gone) within seconds.
            raise HTTPServiceUnavailable(
                detail=LOBBY_FULL, headers={"Retry-After": LOBBY_FULL_RETRY_AFTER}
            ) from exc
        except TooManyRequests as exc:
            raise Throttled(60) from exc
        except RemovedRecently as exc:
            raise Refused("You were removed from this meeting; try again later.") from exc
        return {**entry.as_json(), "livekit": livekit}

    @view_config(name="enter", request_method="POST", permission=Permission.ROOM_MANAGE)
    @operation(
        "Admit or deny a waiting participant",
        body=ENTER_BODY,
        responses={200: MESSAGE_SCHEMA},
        tag="lobby",
    )
    def enter(self):
        values = ENTER_BODY.parse(self.request)
        participant, allow = values["participant_id"], values["allow_entry"]
        if self.context.door.is_public:
            raise NotFound("Room has no lobby system.", key="message")
        try:
            self.lobby.decide(self.context.id, str(participant), allow=allow)
        except ParticipantNotFound as exc:
            raise NotFound("Participant not found.", key="message") from exc
        audit.record(
            self.request,
            audit.LOBBY_ADMIT if allow else audit.LOBBY_DENY,
            target_type="participant",
            target_id=participant,
            changes={"room": self.context.id},
        )
        return {"message": "Participant was updated."}

    @view_config(
        name="waiting-participants", request_method="GET", permission=Permission.ROOM_MANAGE
    )
    @operation(
        "The participants waiting in the lobby", responses={200: WAITING_SCHEMA}, tag="lobby"
    )
    def waiting_participants(self):
        if self.context.door.is_public:
            return {"participants": []}
        return {"participants": [e.as_json() for e in self.lobby.waiting(self.context.id)]}

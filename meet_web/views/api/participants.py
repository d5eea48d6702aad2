"""Acting on people in a meeting, through LiveKit's server API.

Administrators act through their session. Some actions also accept a LiveKit token for
the room (the security policy turns it into a participant principal), but the rights a
LiveKit token may carry are never taken as administrator rights.
"""

from __future__ import annotations

from datetime import UTC, datetime

from livekit import api
from pyramid.view import view_config, view_defaults

from ...models import ResourceAccess, Role, User
from ...openapi import operation
from ...resources import RoomResource
from ...security.permissions import Permission
from ...services import audit
from ...services.errors import NotFound, Refused
from ...services.livekit import LiveKitError, LiveKitGateway, LiveKitNotFound
from ...services.lobby import Lobby
from ...validation import MISSING, Body, Boolean, Choice, Raw, String, ValidationError
from .serializers import SUCCESS_SCHEMA, object_schema

PERMISSION_FIELDS = {
    "can_subscribe": bool,
    "can_publish": bool,
    "can_publish_data": bool,
    "can_publish_sources": list,
    "hidden": bool,
    "recorder": bool,
    "can_update_metadata": bool,
    "agent": bool,
    "can_subscribe_metrics": bool,
}
FORBIDDEN_PERMISSION_FIELDS = ("hidden", "recorder", "agent")
SOURCES = {
    "camera": api.TrackSource.CAMERA,
    "microphone": api.TrackSource.MICROPHONE,
    "screen_share": api.TrackSource.SCREEN_SHARE,
    "screen_share_audio": api.TrackSource.SCREEN_SHARE_AUDIO,
}
SUCCESS = {"status": "success"}

_IDENTITY = String(255, "The participant's LiveKit identity.")
MUTE_BODY = Body(
    "MuteParticipant",
    required=("participant_identity", "track_sid"),
    participant_identity=_IDENTITY,
    track_sid=String(255, "The track to mute."),
)
UPDATE_BODY = Body(
    "UpdateParticipant",
    required=("participant_identity",),
    participant_identity=_IDENTITY,
    name=String(255),
    metadata=Raw({"type": "object"}),
    attributes=Raw({"type": "object", "additionalProperties": {"type": "string"}}),
    permission=Raw(
        {
            "type": "object",
            "properties": {
                name: {"type": "boolean"} if kind is bool else {"type": "array"}
                for name, kind in PERMISSION_FIELDS.items()
                if name not in FORBIDDEN_PERMISSION_FIELDS
            },
            "additionalProperties": False,
        },
        "LiveKit participant permissions; hidden, recorder and agent may not be set.",
    ),
)
IDENTITY_BODY = Body(
    "Participant", required=("participant_identity",), participant_identity=_IDENTITY
)
ROLE_BODY = Body(
    "ParticipantRole",
    required=("participant_identity", "role"),
    participant_identity=_IDENTITY,
    role=Choice(Role, description="member or administrator (owner is refused)."),
)
HAND_BODY = Body("ToggleHand", required=("raised",), raised=Boolean())
RENAME_BODY = Body("Rename", required=("name",), name=String(255))
ROLE_SCHEMA = object_schema({"role": {"type": "string"}, "livekit_synced": {"type": "boolean"}})


def parse_permission(value) -> api.ParticipantPermission:
    if not isinstance(value, dict):
        raise ValidationError({"permission": "Must be an object."})
    unknown = sorted(set(value) - set(PERMISSION_FIELDS))
    if unknown:
        raise ValidationError({"permission": f"Unknown fields: {', '.join(unknown)}."})
    forbidden = sorted(set(value) & set(FORBIDDEN_PERMISSION_FIELDS))
    if forbidden:
        raise ValidationError({"permission": f"May not be set: {', '.join(forbidden)}."})
    permission = api.ParticipantPermission()
    for name, kind in PERMISSION_FIELDS.items():
        if name not in value:
            continue
        if not isinstance(value[name], kind):
            raise ValidationError({"permission": f"{name} has the wrong type."})
        if name == "can_publish_sources":
            bad = [s for s in value[name] if not isinstance(s, str) or s not in SOURCES]
            if bad:
                raise ValidationError(
                    {"permission": f"Unknown sources: {', '.join(map(str, bad))}."}
                )
            permission.can_publish_sources.extend(SOURCES[s] for s in value[name])
        else:
            setattr(permission, name, value[name])
    return permission


@view_defaults(context=RoomResource, route_name="api", renderer="json")
class ParticipantApi:
    def __init__(self, context, request):
        self.context, self.request = context, request
        self.room_name = str(context.room.id)
        self.livekit = request.service(LiveKitGateway)

    def _caller_livekit_identity(self) -> str:
        identity = self.request.identity
        if identity is None or identity.livekit_room != self.room_name:
            raise Refused("A LiveKit token for this room is required.")
        return identity.livekit_identity

    @view_config(
        name="mute-participant", request_method="POST", permission=Permission.PARTICIPANT_MUTE
    )
    @operation(
        "Mute a participant's track (admins, or anyone when everyone_can_mute)",
        body=MUTE_BODY,
        responses={200: SUCCESS_SCHEMA},
        tag="participants",
    )
    def mute(self):
        values = MUTE_BODY.parse(self.request)
        target, track_sid = values["participant_identity"], values["track_sid"]
        if not self.request.has_permission(Permission.ROOM_MANAGE, self.context):
            caller = self._caller_livekit_identity()
            try:
                present = self.livekit.is_connected(self.room_name, caller)
            except LiveKitError:
                present = False
            if not present:
                raise Refused("Could not verify caller presence", key="error")
        self.livekit.mute_track(self.room_name, target, track_sid)
        return SUCCESS

    @view_config(
        name="update-participant", request_method="POST", permission=Permission.ROOM_MANAGE
    )
    @operation(
        "Change a participant's name, metadata, attributes or permissions",
        body=UPDATE_BODY,
        responses={200: SUCCESS_SCHEMA},
        tag="participants",
    )
    def update(self):
        values = UPDATE_BODY.parse(self.request)
        target, name = values["participant_identity"], values["name"]
        metadata = None if values["metadata"] is MISSING else values["metadata"]
        attributes = None if values["attributes"] is MISSING else values["attributes"]
        if metadata is not None and not isinstance(metadata, dict):
            raise ValidationError({"metadata": "Must be an object."})
        if attributes is not None and (
            not isinstance(attributes, dict)
            or not all(isinstance(v, str) for v in attributes.values())
        ):
            raise ValidationError({"attributes": "Must be an object of strings."})
        permission = None
        if values["permission"] is not MISSING:
            permission = parse_permission(values["permission"])
        if name is MISSING and not metadata and not attributes and permission is None:
            raise ValidationError(
                {"name": "Give at least one of name, metadata, attributes or permission."}
            )
        self.livekit.update_participant(
            self.room_name,
            target,
            name=None if name is MISSING else name,
            metadata=metadata or None,
            attributes=attributes or None,
            permission=permission,
        )
        return SUCCESS

    @view_config(
        name="remove-participant", request_method="POST", permission=Permission.ROOM_MANAGE
    )
    @operation(
        "Remove a participant from the meeting (they may not knock again for a while)",
        body=IDENTITY_BODY,
        responses={200: SUCCESS_SCHEMA},
        tag="participants",
    )
    def remove(self):
        target = IDENTITY_BODY.parse(self.request)["participant_identity"]
        self.request.service(Lobby).participant_removed(self.context.room.id, target)
        self.livekit.remove_participant(self.room_name, target)
        audit.record(
            self.request,
            audit.PARTICIPANT_REMOVE,
            target_type="participant",
            target_id=target,
            changes={"room": self.context.room.id},
        )
        return SUCCESS

    @view_config(name="end-meeting", request_method="POST", permission=Permission.ROOM_MANAGE)
    @operation(
        "End the meeting for everyone (LiveKit deletes the room and disconnects all)",
        responses={200: SUCCESS_SCHEMA},
        tag="participants",
    )
    def end_meeting(self):
        self.livekit.delete_room(self.room_name)
        return SUCCESS

    @view_config(
        name="update-participant-role", request_method="POST", permission=Permission.ROOM_MANAGE
    )
    @operation(
        "Make a connected participant a member or an administrator of the room",
        body=ROLE_BODY,
        responses={200: ROLE_SCHEMA},
        tag="participants",
    )
    def update_role(self):
        values = ROLE_BODY.parse(self.request)
        target, role = values["participant_identity"], values["role"]
        if role == Role.OWNER:
            raise ValidationError({"role": "The owner role cannot be given here."})
        me = str(self.request.user.id)
        if target == me:
            raise Refused("You cannot change your own role.", key="error")
        if not self.livekit.is_connected(self.room_name, me):
            raise Refused("You must be in the meeting to change roles.", key="error")
        if not self.livekit.is_connected(self.room_name, target):
            raise LiveKitNotFound("Participant not found")
        user = User.by_id(self.request.dbsession, target)
        if user is None:
            raise LiveKitNotFound("This participant has no account.")
        room = self.context.room
        current = room.role_of(user.id)
        if current == Role.OWNER:
            raise Refused("Room owners cannot be demoted.", key="error")
        access = next((a for a in room.accesses if a.user_id == user.id), None)
        if access is None:
            room.accesses.append(ResourceAccess(user=user, role=role))
        else:
            access.role = role
        audit.record(
            self.request,
            audit.PARTICIPANT_PROMOTE,
            target_type="user",
            target_id=user.id,
            changes={"room": room.id, "role": role, "from": current},
        )
        self.request.dbsession.flush()
        try:
            self.livekit.update_participant(
                self.room_name, target, attributes={"room_role": str(role)}
            )
            synced = True
        except LiveKitError:
            synced = False
        return {"role": str(role), "livekit_synced": synced}

    @view_config(name="toggle-hand", request_method="POST", permission=Permission.PARTICIPANT_SELF)
    @operation(
        "Raise or lower the caller's hand (LiveKit token)",
        body=HAND_BODY,
        responses={200: SUCCESS_SCHEMA},
        tag="participants",
    )
    def toggle_hand(self):
        raised = HAND_BODY.parse(self.request)["raised"]
        caller = self._caller_livekit_identity()
        # LiveKit deletes an attribute set to the empty string: that lowers the hand.
        stamp = datetime.now(UTC).isoformat() if raised else ""
        self.livekit.update_participant(self.room_name, caller, attributes={"handRaisedAt": stamp})
        return SUCCESS

    @view_config(name="rename", request_method="POST", permission=Permission.PARTICIPANT_SELF)
    @operation(
        "Change the caller's display name (LiveKit token)",
        body=RENAME_BODY,
        responses={200: SUCCESS_SCHEMA},
        tag="participants",
    )
    def rename(self):
        name = RENAME_BODY.parse(self.request)["name"]
        caller = self._caller_livekit_identity()
        signed_in = self.request.identity.livekit_attributes.get("is_authenticated") == "true"
        can_edit = self.request.registry.settings[
            "livekit.authenticated_participants_can_edit_display_name"
        ]
        if signed_in and not can_edit:
            raise Refused("Signed-in participants keep the name of their account.")
        self.livekit.update_participant(self.room_name, caller, name=name)
        return SUCCESS

    @view_config(
        name="start-subtitle", request_method="POST", permission=Permission.PARTICIPANT_SELF
    )
    @operation(
        "Start live subtitles: dispatch the transcription agent once (LiveKit token;"
        " subtitles.enabled)",
        responses={200: SUCCESS_SCHEMA},
        tag="participants",
    )
    def start_subtitle(self):
        settings = self.request.registry.settings
        if not settings["subtitles.enabled"]:
            raise NotFound("Subtitles are not enabled.")
        self._caller_livekit_identity()
        agent_name = settings["subtitles.agent_name"]
        try:
            dispatches = self.livekit.list_agent_dispatches(self.room_name)
            if not any(d.agent_name == agent_name for d in dispatches):
                self.livekit.create_agent_dispatch(self.room_name, agent_name)
        except LiveKitError as exc:
            slug = self.context.room.slug
            raise LiveKitError(f"Subtitles failed to start for room {slug}") from exc
        return SUCCESS

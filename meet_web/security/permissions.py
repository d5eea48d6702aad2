"""Every permission, and the one table that says which role holds which.

Room roles are data: a room's ACL turns each access row into an Allow for
`user:<id>` with ROLE_GRANTS[role], and its access level into ENTRY_GRANTS.
"""

from enum import StrEnum

from pyramid.authorization import Allow, Authenticated, Everyone

from ..models import AccessLevel, Role


class Permission(StrEnum):
    # keep sorted
    ACCESS_DELETE = "access:delete"
    ACCESS_UPDATE = "access:update"
    ACCESS_VIEW = "access:view"
    ADMIN = "admin:access"
    AUTHENTICATED = "site:authenticated"
    PARTICIPANT_MUTE = "participant:mute"
    PARTICIPANT_SELF = "participant:self"
    RECORDING_DELETE = "recording:delete"
    RECORDING_VIEW = "recording:view"
    ROOM_CREATE = "room:create"
    ROOM_DELETE = "room:delete"
    ROOM_JOIN = "room:join"
    ROOM_MANAGE = "room:manage"
    ROOM_REQUEST_ENTRY = "room:request-entry"
    ROOM_VIEW = "room:view"
    USER_UPDATE = "user:update"


# Granted by no ACL: a view that forgets `permission=` is forbidden to everybody.
UNDECLARED = "undeclared"

OPERATOR = "role:operator"

MANAGER_ROLES = (Role.ADMINISTRATOR, Role.OWNER)

_MANAGER = (Permission.ROOM_JOIN, Permission.ROOM_MANAGE, Permission.PARTICIPANT_MUTE)
ROLE_GRANTS = {
    Role.MEMBER: (Permission.ROOM_JOIN,),
    Role.ADMINISTRATOR: _MANAGER,
    Role.OWNER: (*_MANAGER, Permission.ROOM_DELETE),
}

# Who may act on a recording, by the role the actor holds on it (members are refused).
RECORDING_ROLE_GRANTS = {
    Role.MEMBER: (),
    Role.ADMINISTRATOR: (Permission.RECORDING_VIEW, Permission.RECORDING_DELETE),
    Role.OWNER: (Permission.RECORDING_VIEW, Permission.RECORDING_DELETE),
}

# Who may join directly (without the lobby) by access level; everyone else knocks.
ENTRY_GRANTS = {
    AccessLevel.PUBLIC: [(Allow, Everyone, Permission.ROOM_JOIN)],
    AccessLevel.TRUSTED: [(Allow, Authenticated, Permission.ROOM_JOIN)],
    AccessLevel.RESTRICTED: [],
}

# Who may act on an access row, by the role the actor holds on its room.
ACCESS_GRANTS = {
    Role.MEMBER: (),
    Role.ADMINISTRATOR: (
        Permission.ACCESS_VIEW,
        Permission.ACCESS_UPDATE,
        Permission.ACCESS_DELETE,
    ),
    Role.OWNER: (Permission.ACCESS_VIEW, Permission.ACCESS_UPDATE, Permission.ACCESS_DELETE),
}

ROOM_PUBLIC_GRANTS = [
    (Allow, Everyone, (Permission.ROOM_VIEW, Permission.ROOM_REQUEST_ENTRY)),
]

# Operators run the site through the admin pages; they hold no room role by default.
SITE_GRANTS = [
    (Allow, Authenticated, (Permission.AUTHENTICATED, Permission.ROOM_CREATE)),
    (Allow, OPERATOR, Permission.ADMIN),
]


def user_principal(user_id) -> str:
    return f"user:{user_id}"


def participant_principal(livekit_room: str) -> str:
    """Holder of a valid LiveKit token for this LiveKit room (the room's UUID)."""
    return f"livekit-room:{livekit_room}"


def participant_grants(room_id, configuration: dict) -> list:
    """What a LiveKit token for the room allows: act on oneself, and mute if the room lets all."""
    grants = [Permission.PARTICIPANT_SELF]
    if (configuration or {}).get("everyone_can_mute") is not False:
        grants.append(Permission.PARTICIPANT_MUTE)
    return [(Allow, participant_principal(str(room_id)), tuple(grants))]


def roles_that_may_be_granted(actor_role: Role | None) -> set[Role]:
    """The roles an actor may give to another user on a room."""
    if actor_role == Role.OWNER:
        return {Role.MEMBER, Role.ADMINISTRATOR, Role.OWNER}
    if actor_role == Role.ADMINISTRATOR:
        return {Role.MEMBER, Role.ADMINISTRATOR}
    return set()

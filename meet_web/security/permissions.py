"""Every permission, and the one table that says which role holds which.

Room roles are data: a room's ACL turns each access row into an Allow for
`user:<id>` with ROLE_GRANTS[role], and its access level into ENTRY_GRANTS.
"""

from enum import StrEnum

from pyramid.authorization import Allow, Authenticated, Everyone

from ..models import AccessLevel, ApplicationScope, Role


class Permission(StrEnum):
    # keep sorted
    ACCESS_DELETE = "access:delete"
    ACCESS_UPDATE = "access:update"
    ACCESS_VIEW = "access:view"
    ADMIN = "admin:access"
    AUTHENTICATED = "site:authenticated"
    EXTERNAL_ROOM_CREATE = "external-room:create"
    EXTERNAL_ROOM_DELETE = "external-room:delete"
    EXTERNAL_ROOM_LIST = "external-room:list"
    EXTERNAL_ROOM_RETRIEVE = "external-room:retrieve"
    EXTERNAL_ROOM_UPDATE = "external-room:update"
    FILE_DELETE = "file:delete"
    FILE_UPDATE = "file:update"
    FILE_VIEW = "file:view"
    PARTICIPANT_MUTE = "participant:mute"
    PARTICIPANT_SELF = "participant:self"
    RECORDING_DELETE = "recording:delete"
    RECORDING_SHARE = "recording:share"
    RECORDING_VIEW = "recording:view"
    ROOM_CREATE = "room:create"
    ROOM_DELETE = "room:delete"
    ROOM_JOIN = "room:join"
    ROOM_MANAGE = "room:manage"
    ROOM_REQUEST_ENTRY = "room:request-entry"
    ROOM_VIEW = "room:view"
    SHARED_RECORDING_PLAY = "shared-recording:play"
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

# What a file's creator may do with it (nobody else may see it): a deleted file can
# still be seen, not changed.
FILE_CREATOR_GRANTS = (Permission.FILE_VIEW, Permission.FILE_UPDATE, Permission.FILE_DELETE)
DELETED_FILE_CREATOR_GRANTS = (Permission.FILE_VIEW,)

# Who may act on a recording, by the role the actor holds on it (members are refused).
RECORDING_ROLE_GRANTS = {
    Role.MEMBER: (),
    Role.ADMINISTRATOR: (Permission.RECORDING_VIEW, Permission.RECORDING_DELETE),
    Role.OWNER: (Permission.RECORDING_VIEW, Permission.RECORDING_DELETE),
}

# Who may make, list and revoke a recording's share links, by their role on it.
SHARE_LINK_ROLE_GRANTS = {
    Role.MEMBER: (),
    Role.ADMINISTRATOR: (Permission.RECORDING_SHARE,),
    Role.OWNER: (Permission.RECORDING_SHARE,),
}

# A share link's token is the credential: whoever holds the address may play the
# recording (the views check the link is still usable).
SHARED_RECORDING_GRANTS = [(Allow, Everyone, Permission.SHARED_RECORDING_PLAY)]

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


# -- the external API --------------------------------------------------------------------
# A delegated token (an application's or an add-on's) acts for one user, within its
# scopes. Listing and creating need the scope only; acting on a room needs the scope and
# a role on it: such a grant names both in one principal, so that neither a role without
# the scope nor the scope without a role can satisfy it.

SCOPE_PERMISSIONS = {
    ApplicationScope.ROOMS_CREATE: Permission.EXTERNAL_ROOM_CREATE,
    ApplicationScope.ROOMS_LIST: Permission.EXTERNAL_ROOM_LIST,
    ApplicationScope.ROOMS_RETRIEVE: Permission.EXTERNAL_ROOM_RETRIEVE,
    ApplicationScope.ROOMS_UPDATE: Permission.EXTERNAL_ROOM_UPDATE,
    ApplicationScope.ROOMS_DELETE: Permission.EXTERNAL_ROOM_DELETE,
}
# The scopes each role on a room lets a token use on it (as the JSON API: managers
# change a room, only owners delete it).
EXTERNAL_ROLE_SCOPES = {
    Role.MEMBER: (ApplicationScope.ROOMS_RETRIEVE,),
    Role.ADMINISTRATOR: (ApplicationScope.ROOMS_RETRIEVE, ApplicationScope.ROOMS_UPDATE),
    Role.OWNER: (
        ApplicationScope.ROOMS_RETRIEVE,
        ApplicationScope.ROOMS_UPDATE,
        ApplicationScope.ROOMS_DELETE,
    ),
}
# On a room that does not exist, the scope alone decides between 403 and 404.
ROOM_SCOPES = (
    ApplicationScope.ROOMS_RETRIEVE,
    ApplicationScope.ROOMS_UPDATE,
    ApplicationScope.ROOMS_DELETE,
)


def scope_principal(scope: str) -> str:
    return f"scope:{scope}"


def delegated_principal(scope: str, user_id) -> str:
    """A token holding `scope`, acting for this user."""
    return f"scope:{scope}:user:{user_id}"


EXTERNAL_API_GRANTS = [
    (Allow, scope_principal(scope), SCOPE_PERMISSIONS[scope])
    for scope in (ApplicationScope.ROOMS_LIST, ApplicationScope.ROOMS_CREATE)
]
MISSING_EXTERNAL_ROOM_GRANTS = [
    (Allow, scope_principal(scope), SCOPE_PERMISSIONS[scope]) for scope in ROOM_SCOPES
]


def external_room_grants(user_id, role: Role) -> list:
    """What a token acting for a user who holds `role` on a room may do to it."""
    return [
        (Allow, delegated_principal(scope, user_id), SCOPE_PERMISSIONS[scope])
        for scope in EXTERNAL_ROLE_SCOPES[role]
    ]


def roles_that_may_be_granted(actor_role: Role | None) -> set[Role]:
    """The roles an actor may give to another user on a room."""
    if actor_role == Role.OWNER:
        return {Role.MEMBER, Role.ADMINISTRATOR, Role.OWNER}
    if actor_role == Role.ADMINISTRATOR:
        return {Role.MEMBER, Role.ADMINISTRATOR}
    return set()

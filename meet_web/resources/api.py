from __future__ import annotations

from ..security.permissions import SITE_GRANTS
from .accesses import AccessContainer
from .files import FileContainer
from .recordings import RecordingContainer
from .rooms import RoomContainer
from .users import UserContainer


class DiagnosticsSection:
    """/api/v1.0/diagnostics/: its views test the caller's connection to LiveKit."""

    __acl__ = SITE_GRANTS

    def __init__(self, parent, name: str):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request


class RoomkitSection:
    """/api/v1.0/roomkit/: a room system's server (bearer token) readies a room for
    its call."""

    __acl__ = SITE_GRANTS

    def __init__(self, parent, name: str):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request


class AddonSessions:
    """/api/v1.0/addons/sessions/: its views are the add-in's session exchange
    (init, poll, exchange)."""

    __acl__ = SITE_GRANTS

    def __init__(self, parent, name: str):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request


class AddonsSection:
    """/api/v1.0/addons/: what calendar add-ins use."""

    __acl__ = SITE_GRANTS

    def __init__(self, parent, name: str):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request

    def __getitem__(self, key: str) -> AddonSessions:
        if key != "sessions":
            raise KeyError(key)
        return AddonSessions(self, key)


_CHILDREN = {
    "addons": AddonsSection,
    "diagnostics": DiagnosticsSection,
    "roomkit": RoomkitSection,
    "files": FileContainer,
    "recordings": RecordingContainer,
    "rooms": RoomContainer,
    "resource-accesses": AccessContainer,
    "users": UserContainer,
}


class ApiRoot:
    """Root of /api/v1.0/; its views are config, authenticate, callback and logout."""

    __name__ = ""
    __parent__ = None
    __acl__ = SITE_GRANTS

    def __init__(self, request):
        self.request = request

    def __getitem__(self, key: str):
        return _CHILDREN[key](self, key)

from __future__ import annotations

from ..models.room import RESERVED_SLUGS
from ..security.permissions import SITE_GRANTS
from .admin import AdminRoot
from .recordings import RecordingContainer
from .rooms import RoomContainer, room_at


class SiteRoot:
    """Root of the HTML site: reserved names first, then rooms by slug."""

    __name__ = ""
    __parent__ = None
    __acl__ = SITE_GRANTS

    def __init__(self, request):
        self.request = request

    def __getitem__(self, key: str):
        if key == "rooms":
            return RoomContainer(self, key)
        if key == "recordings":
            return RecordingContainer(self, key)
        if key == "admin":
            return AdminRoot(self, key)
        if key in RESERVED_SLUGS:
            raise KeyError(key)
        room = room_at(self, key)
        if room is None:
            raise KeyError(key)
        return room

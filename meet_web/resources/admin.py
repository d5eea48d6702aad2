"""The admin subtree (`/admin/`): operators only, whatever the room roles say.

Each section is a path segment under `/admin/` served by a resource class taking
`(parent, name)`; ADMIN_SECTIONS maps the segment to that class and ADMIN_NAV lists
the sections the admin layout's navigation shows, in order.
"""

from __future__ import annotations

import uuid

from pyramid.authorization import DENY_ALL, Allow

from ..models import Application, Recording, Room, User
from ..security.permissions import OPERATOR, Permission


class AdminSection:
    """A section of the admin pages; its children are found by UUID."""

    model = None  # the ORM class a child's id names, in sections that have children
    child_class = None

    def __init__(self, parent, name: str):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request

    def __getitem__(self, key: str):
        if self.model is None or self.child_class is None:
            raise KeyError(key)
        try:
            row_id = uuid.UUID(key)
        except ValueError:
            raise KeyError(key) from None
        row = self.request.dbsession.get(self.model, row_id)
        if row is None:
            raise KeyError(key)
        return self.child_class(self, key, row)


class AdminItem:
    """One row shown by an admin section (a user, a room)."""

    def __init__(self, parent, name: str, row):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request
        self.row = row


class AdminUser(AdminItem):
    @property
    def user(self) -> User:
        return self.row


class AdminRoom(AdminItem):
    @property
    def room(self) -> Room:
        return self.row


class UsersSection(AdminSection):
    model = User
    child_class = AdminUser


class RoomsSection(AdminSection):
    model = Room
    child_class = AdminRoom


class DashboardSection(AdminSection):
    """Usage statistics over a range of days (views/admin/dashboard.py)."""


class AdminRecording(AdminItem):
    @property
    def recording(self) -> Recording:
        return self.row


class RecordingsSection(AdminSection):
    """Every recording, and the repairs of one (views/admin/recordings.py)."""

    model = Recording
    child_class = AdminRecording


class AdminApplication(AdminItem):
    @property
    def application(self) -> Application:
        return self.row


class ApplicationsSection(AdminSection):
    """The external API's applications (views/admin/applications.py)."""

    model = Application
    child_class = AdminApplication


class AuditSection(AdminSection):
    """The audit log, filtered, and its CSV export (views/admin/audit.py)."""


# segment -> section class; each section adds its own line.
ADMIN_SECTIONS: dict[str, type] = {
    "users": UsersSection,
    "rooms": RoomsSection,
    "dashboard": DashboardSection,
    "audit": AuditSection,
    "recordings": RecordingsSection,
    "applications": ApplicationsSection,
}

# (segment, label) of the layout's navigation, in order; labels are translated there.
ADMIN_NAV: list[tuple[str, str]] = [
    ("users", "Users"),
    ("rooms", "Rooms"),
    ("dashboard", "Usage"),
    ("recordings", "Recordings"),
    ("applications", "Applications"),
    ("audit", "Audit log"),
]


class AdminRoot:
    """`/admin/`: operators may do everything below it, nobody else anything."""

    __acl__ = [(Allow, OPERATOR, Permission.ADMIN), DENY_ALL]

    def __init__(self, parent, name: str = "admin"):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request

    def __getitem__(self, key: str):
        section = ADMIN_SECTIONS.get(key)
        if section is None:
            raise KeyError(key)
        return section(self, key)

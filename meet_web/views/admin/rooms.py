"""`/admin/rooms/`: find rooms, see who holds them and what goes on in them now.

The list searches name, slug and owners' emails, filters by access level and sorts by
creation, name or last use (the latest meeting's start; rooms never used come last
either way). A room's page shows its accesses (add, change a role, remove: the
room services' rules hold, the last owner among them), configuration and PIN, and
its live state from LiveKit and the lobby; the operator may end its meeting for
everyone or delete the room, each after a confirmation.

Operators act on accesses with an owner's authority over every access: they may change
or remove an owner's access, never the last one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config, view_defaults
from sqlalchemy import exists, func, or_, select

from ...models import AccessLevel, Meeting, ResourceAccess, Role, Room, User
from ...models.enums import ROLE_ORDER
from ...resources.admin import AdminRoom, RoomsSection
from ...security.permissions import Permission
from ...services import audit
from ...services.errors import NotFound
from ...services.livekit import LiveKitError, LiveKitGateway, LiveKitNotFound
from ...services.lobby import Lobby
from ...services.rooms import add_member, change_role, remove_member
from ...validation import ValidationError
from ..pages.common import ACCESS_LEVEL_LABELS, form_fields, vary_on_htmx
from . import (
    contains,
    is_results_fragment,
    list_view,
    paginate,
    read_list_query,
    refuse_without_confirmation,
)

# A correlated subquery on ix_meetings_room_id: only the page's rooms are looked up
# when the list is not sorted by it.
LAST_USED = (
    select(func.max(Meeting.started_at))
    .where(Meeting.room_id == Room.id)
    .correlate(Room)
    .scalar_subquery()
    .label("last_used")
)

FILTERS = {"access_level": tuple(level.value for level in AccessLevel)}
SORTS = {
    "created": Room.created_at.asc(),
    "-created": Room.created_at.desc(),
    "name": Room.name.asc(),
    "-name": Room.name.desc(),
    "last_used": LAST_USED.asc().nulls_last(),
    "-last_used": LAST_USED.desc().nulls_last(),
}
DEFAULT_SORT = "-created"

NO_ACCOUNT = "No account uses this email address."
SEVERAL_ACCOUNTS = "Several accounts use this email address: merge them first."
GONE_ACCESS = "This access no longer exists."
NO_MEETING = "No meeting is going on in this room."


@dataclass
class LiveState:
    """What LiveKit and the lobby say of a room now; `reachable` False when LiveKit
    did not answer."""

    reachable: bool = True
    participants: list = field(default_factory=list)
    waiting: list = field(default_factory=list)

    @property
    def in_meeting(self) -> bool:
        return bool(self.participants)


def live_state(request, room: Room) -> LiveState:
    state = LiveState(waiting=request.service(Lobby).waiting(room.id))
    try:
        state.participants = request.service(LiveKitGateway).list_participants(str(room.id))
    except LiveKitNotFound:
        pass
    except LiveKitError:
        state.reachable = False
    return state


def _owner_email_matches(text: str):
    return exists().where(
        ResourceAccess.resource_id == Room.id,
        ResourceAccess.role == Role.OWNER,
        ResourceAccess.user_id == User.id,
        contains(User.email, text),
    )


def _owners(db, room_ids) -> dict:
    owners: dict = {room_id: [] for room_id in room_ids}
    if room_ids:
        rows = db.execute(
            select(ResourceAccess.resource_id, User.email)
            .join(User, User.id == ResourceAccess.user_id)
            .where(ResourceAccess.resource_id.in_(room_ids), ResourceAccess.role == Role.OWNER)
            .order_by(User.email)
        )
        for room_id, email in rows:
            owners[room_id].append(email)
    return owners


@list_view(RoomsSection, "admin/rooms.jinja2", "admin/_rooms_results.jinja2")
def room_list(context, request):
    listing = read_list_query(request, filters=FILTERS, sorts=SORTS, default_sort=DEFAULT_SORT)
    query = select(Room, LAST_USED)
    if listing.q:
        query = query.where(
            or_(
                contains(Room.name, listing.q),
                contains(Room.slug, listing.q),
                _owner_email_matches(listing.q),
            )
        )
    if listing.filters["access_level"]:
        query = query.where(Room.access_level == AccessLevel(listing.filters["access_level"]))
    query = query.order_by(SORTS[listing.sort], Room.id)
    rows, pages, total = paginate(request.dbsession, query, listing.page)
    rooms = [row[0] for row in rows]
    vary_on_htmx(request, target=True)
    return {
        "rooms": rooms,
        "last_used": {row[0].id: row[1] for row in rows},
        "owners": _owners(request.dbsession, [room.id for room in rooms]),
        "listing": listing,
        "fragment": is_results_fragment(request),
        "pages": pages,
        "total": total,
        "access_levels": list(AccessLevel),
        "access_level_labels": ACCESS_LEVEL_LABELS,
    }


@view_defaults(context=AdminRoom, permission=Permission.ADMIN)
class RoomAdmin:
    def __init__(self, context: AdminRoom, request):
        self.context, self.request = context, request
        self.room = context.room
        self.db = request.dbsession

    def _page(self) -> str:
        return self.request.resource_path(self.context, "")

    def _done(self, message: str, location: str | None = None) -> HTTPSeeOther:
        self.request.session.flash(message)
        return HTTPSeeOther(location=location or self._page())

    def _access_from_form(self) -> ResourceAccess:
        fields = form_fields(self.request.POST, "access_id")
        access_id = fields.uuid("access_id", required=True)
        fields.check()
        access = self.db.get(ResourceAccess, access_id)
        if access is None or access.resource_id != self.room.id:
            raise NotFound(GONE_ACCESS)
        return access

    @view_config(request_method="GET", renderer="admin/room.jinja2")
    def detail(self):
        accesses = sorted(
            self.room.accesses,
            key=lambda a: (-a.role.strength, (a.user.email or "").lower()),
        )
        return {
            "room": self.room,
            "accesses": accesses,
            "roles": ROLE_ORDER,
            "access_level_labels": ACCESS_LEVEL_LABELS,
            "configuration": json.dumps(self.room.configuration or {}, indent=2, sort_keys=True),
            "live": live_state(self.request, self.room),
        }

    @view_config(name="accesses", request_method="POST")
    def add_access(self):
        fields = form_fields(self.request.POST, "email", "role")
        email = fields.string("email", required=True, max_length=254)
        role = fields.choice("role", Role, required=True)
        fields.check()
        users = User.by_email(self.db, email)
        if not users:
            raise ValidationError({"email": NO_ACCOUNT})
        if len(users) > 1:
            raise ValidationError({"email": SEVERAL_ACCOUNTS})
        access = add_member(self.db, self.room, Role.OWNER, users[0], role)
        audit.record_access(self.request, audit.ACCESS_GRANT, access)
        return self._done("The access was added.")

    @view_config(name="access-role", request_method="POST")
    def change_access_role(self):
        fields = form_fields(self.request.POST, "role")
        role = fields.choice("role", Role, required=True)
        fields.check()
        access = self._access_from_form()
        before = access.role
        # As the access's holder would: the owner-only rules pass, the last-owner guard holds.
        change_role(self.db, access, access.user_id, Role.OWNER, role)
        if role != before:
            audit.record_access(self.request, audit.ACCESS_CHANGE, access, {"from": before})
        return self._done("The role was changed.")

    @view_config(name="access-remove", request_method="POST")
    def remove_access(self):
        access = self._access_from_form()
        audit.record_access(self.request, audit.ACCESS_REVOKE, access)
        remove_member(self.db, access, access.user_id)
        return self._done("The access was removed.")

    @view_config(name="end-meeting", request_method="GET", renderer="admin/room_confirm.jinja2")
    @view_config(name="delete", request_method="GET", renderer="admin/room_confirm.jinja2")
    def confirm(self):
        return {"room": self.room, "action": self.request.view_name}

    @view_config(name="end-meeting", request_method="POST")
    def end_meeting(self):
        refuse_without_confirmation(self.request)
        try:
            self.request.service(LiveKitGateway).delete_room(str(self.room.id))
        except LiveKitNotFound:
            return self._done(NO_MEETING)
        except LiveKitError:
            return self._done("LiveKit cannot be reached: the meeting was not ended.")
        audit.record_room(self.request, audit.ROOM_END_MEETING, self.room)
        return self._done("The meeting was ended for everyone.")

    @view_config(name="delete", request_method="POST")
    def delete(self):
        refuse_without_confirmation(self.request)
        audit.record_room(self.request, audit.ROOM_DELETE, self.room)
        self.db.delete(self.room)
        self.db.flush()
        return self._done(
            "The room was deleted.", self.request.resource_path(self.context.__parent__, "")
        )

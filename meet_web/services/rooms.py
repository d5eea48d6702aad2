"""Creating and changing rooms and their memberships: the rules shared by API and pages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import AccessLevel, ResourceAccess, Role, Room, SlugError, User, slug_for_name
from ..models.access import LastOwnerError
from ..security.permissions import roles_that_may_be_granted
from ..telephony.pins import write_with_pin
from ..validation import MISSING, ValidationError
from .errors import Refused

SLUG_TAKEN = "Room with this Slug already exists."


@dataclass(frozen=True)
class RoomDefaults:
    access_level: AccessLevel
    pin_length: int
    pin_max_retries: int
    assign_pins: bool

    @classmethod
    def from_settings(cls, settings) -> RoomDefaults:
        return cls(
            access_level=AccessLevel(settings["rooms.default_access_level"]),
            pin_length=settings["telephony.pin_length"],
            pin_max_retries=settings["telephony.pin_max_retries"],
            assign_pins=settings["telephony.enabled"] or settings["roomkit.enabled"],
        )


def _slug(name: str) -> str:
    try:
        return slug_for_name(name)
    except SlugError as exc:
        raise ValidationError({"name": str(exc)}) from exc


def _flush_unique(session: Session, obj, fields: dict[str, str]) -> None:
    """Write `obj` in a savepoint so a unique-index clash is a 400, not a doomed commit."""
    try:
        with session.begin_nested():
            session.add(obj)
    except IntegrityError as exc:
        raise ValidationError(fields) from exc


def create_room(
    session: Session,
    owner: User,
    defaults: RoomDefaults,
    *,
    name: str,
    access_level=MISSING,
    configuration=MISSING,
) -> Room:
    slug = _slug(name)
    if Room.slug_taken(session, slug):
        raise ValidationError({"slug": SLUG_TAKEN})
    if access_level is MISSING or access_level is None:
        access_level = owner.default_room_access_level or defaults.access_level
    if configuration is MISSING or not configuration:
        configuration = dict(owner.default_room_configuration or {})
    room = Room(name=name, slug=slug, access_level=access_level, configuration=configuration)
    room.accesses.append(ResourceAccess(user=owner, role=Role.OWNER))
    if not defaults.assign_pins:
        _flush_unique(session, room, {"slug": SLUG_TAKEN})
        return room
    try:
        write_with_pin(session, room, length=defaults.pin_length, retries=defaults.pin_max_retries)
    except IntegrityError as exc:  # the slug, taken meanwhile
        raise ValidationError({"slug": SLUG_TAKEN}) from exc
    return room


def update_room(
    session: Session, room: Room, *, name=MISSING, access_level=MISSING, configuration=MISSING
) -> bool:
    """Apply the given changes; return whether what LiveKit must know changed."""
    if name is not MISSING and name != room.name:
        slug = _slug(name)
        if Room.slug_taken(session, slug, other_than=room.id):
            raise ValidationError({"slug": SLUG_TAKEN})
        room.name, room.slug = name, slug
    synced_before = (room.access_level, room.configuration)
    if access_level is not MISSING:
        room.access_level = access_level or room.access_level
    if configuration is not MISSING:
        room.configuration = configuration
    _flush_unique(session, room, {"slug": SLUG_TAKEN})
    return synced_before != (room.access_level, room.configuration)


def add_member(
    session: Session, room: Room, actor_role: Role | None, user: User, role: Role
) -> ResourceAccess:
    if role not in roles_that_may_be_granted(actor_role):
        raise Refused(_grant_refusal(actor_role))
    if room.role_of(user.id) is not None:
        raise ValidationError({"user": "This user already has access to this room."})
    # By ids: linking the objects would add the row to `room.accesses` before the
    # savepoint, where the flush that opens it would insert it unguarded.
    access = ResourceAccess(resource_id=room.id, user_id=user.id, role=role)
    _flush_unique(session, access, {"user": "This user already has access to this room."})
    session.expire(room, ["accesses"])
    return access


def change_role(
    session: Session, access: ResourceAccess, actor_id, actor_role: Role | None, role: Role
) -> None:
    # The rules first: even a change to the same role is refused to whom they forbid it.
    if role not in roles_that_may_be_granted(actor_role):
        raise Refused(_grant_refusal(actor_role))
    if access.role == Role.OWNER and access.user_id != actor_id:
        raise Refused("Only an owner may change their own role.")
    if role == access.role:
        return
    try:
        access.change_role(session, role)
    except LastOwnerError as exc:
        raise Refused(str(exc)) from exc


def remove_member(session: Session, access: ResourceAccess, actor_id) -> None:
    if access.role == Role.OWNER and access.user_id != actor_id:
        raise Refused("Only an owner may remove their own access.")
    try:
        access.delete(session)
    except LastOwnerError as exc:
        raise Refused(str(exc)) from exc
    session.flush()


def _grant_refusal(actor_role: Role | None) -> str:
    if actor_role == Role.ADMINISTRATOR:
        return "Only owners of a room can assign other users as owners."
    return "You must be administrator or owner of a room to add accesses to it."

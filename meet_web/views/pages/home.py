"""The home page: create a room, join one by its code, list mine; and the site's icon."""

from urllib.parse import urlsplit

from pyramid.httpexceptions import HTTPMovedPermanently, HTTPNoContent, HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...models import ResourceAccess, Room, slugify
from ...models.enums import ROLE_ORDER
from ...models.room import NAME_MAX_LENGTH, NAME_TYPED_MAX_LENGTH, RESERVED_SLUGS
from ...resources import RoomContainer, RoomResource, SiteRoot
from ...resources.rooms import room_at
from ...security.permissions import Permission
from ...services import audit
from ...services.rooms import RoomDefaults, create_room
from ...validation import ValidationError
from .common import (
    ACCESS_LEVEL_LABELS,
    field_messages,
    form_fields,
    is_htmx,
    room_path,
    vary_on_htmx,
)

MY_ROOMS_LIMIT = 200
JOIN_CODE_MESSAGE = "Enter a meeting code or a meeting link."
JOIN_UNKNOWN_MESSAGE = "No meeting uses this code. Check it, or ask for the meeting's link."


def my_rooms(request) -> list[dict]:
    """The rooms the caller holds a role on, strongest role first, then by name."""
    user = request.user
    if user is None:
        return []
    mine = select(ResourceAccess.resource_id).where(ResourceAccess.user_id == user.id)
    rooms = request.dbsession.scalars(
        select(Room)
        .where(Room.id.in_(mine))
        .options(selectinload(Room.accesses))
        .order_by(Room.name, Room.id)
        .limit(MY_ROOMS_LIMIT)
    ).all()
    items = []
    for room in rooms:
        resource = RoomResource(room, parent=request.root)
        items.append(
            {
                "room": room,
                "path": room_path(request, room),
                "role": room.role_of(user.id),
                "access_level": ACCESS_LEVEL_LABELS[room.access_level],
                "settings_path": (
                    room_path(request, room, "settings")
                    if request.has_permission(Permission.ROOM_MANAGE, resource)
                    else None
                ),
            }
        )
    items.sort(key=lambda item: -ROLE_ORDER.index(item["role"]))
    return items


def home_values(request, **extra) -> dict:
    values = {
        "rooms": my_rooms(request),
        "create_errors": {},
        "create_name": "",
        "join_error": None,
        "join_code": "",
        "may_create": request.has_permission(Permission.ROOM_CREATE, request.root),
        "name_max_length": NAME_TYPED_MAX_LENGTH,
    }
    values.update(extra)
    return values


@view_config(
    context=SiteRoot,
    request_method="GET",
    permission=NO_PERMISSION_REQUIRED,
    renderer="home.jinja2",
)
def home(request):
    return home_values(request)


@view_config(
    context=RoomContainer,
    request_method="POST",
    permission=Permission.ROOM_CREATE,
    renderer="home.jinja2",
)
def create_room_from_form(context, request):
    fields = form_fields(request.POST, "name")
    name = fields.string("name", required=True, max_length=NAME_MAX_LENGTH)
    try:
        fields.check()
        room = create_room(
            request.dbsession,
            request.user,
            request.service(RoomDefaults),
            name=name,
        )
    except ValidationError as exc:
        request.response.status = 400
        return home_values(
            request,
            create_errors=field_messages(exc),
            create_name=request.POST.get("name", ""),
        )
    audit.record_room(request, audit.ROOM_CREATE, room, {"name": room.name})
    request.session.flash(f"Room “{room.name}” created.")
    return HTTPSeeOther(location=request.application_url + room_path(request, room))


@view_config(
    context=SiteRoot,
    name="join",
    request_method="GET",
    permission=NO_PERMISSION_REQUIRED,
    renderer="home.jinja2",
)
def join(request):
    """A meeting code or a full meeting link leads to the room page; a bad or unknown
    code gives the home page again, its message beside the code (htmx takes the join
    card from it, and is sent on to the room with HX-Redirect)."""
    vary_on_htmx(request)
    code = request.GET.get("code", "").strip()
    path = urlsplit(code).path if "://" in code else code.split("#", 1)[0].split("?", 1)[0]
    slug = slugify(path.rstrip("/").rsplit("/", 1)[-1])
    error = None
    if not slug or slug in RESERVED_SLUGS:
        error = JOIN_CODE_MESSAGE
    elif room_at(request.root, slug) is None:
        error = JOIN_UNKNOWN_MESSAGE
    if error is not None:
        request.response.status = 400
        return home_values(request, join_error=error, join_code=code)
    location = request.resource_url(request.root, slug)
    if is_htmx(request):
        return HTTPNoContent(headers={"HX-Redirect": location, "Vary": "HX-Request"})
    return HTTPSeeOther(location=location)


@view_config(
    context=SiteRoot,
    name="favicon.ico",
    request_method="GET",
    permission=NO_PERMISSION_REQUIRED,
)
def favicon(request):
    """Browsers ask for /favicon.ico whatever the pages link: it is the SVG icon."""
    return HTTPMovedPermanently(location=request.application_url + "/static/favicon.svg")

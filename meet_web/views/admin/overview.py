"""`/admin/`: what the site holds, at a glance, and the way into each section."""

from __future__ import annotations

from pyramid.view import view_config
from sqlalchemy import func, select

from ...models import Application, Recording, Room, User
from ...resources.admin import ADMIN_NAV, AdminRoot
from ...security.permissions import Permission

_COUNTS = {
    "users": select(func.count()).select_from(User),
    "rooms": select(func.count()).select_from(Room),
    "recordings": select(func.count()).select_from(Recording),
    "applications": select(func.count()).select_from(Application),
}


@view_config(
    context=AdminRoot,
    request_method="GET",
    permission=Permission.ADMIN,
    renderer="admin/overview.jinja2",
)
def overview(context, request):
    db = request.dbsession
    figures = []
    for segment, label in ADMIN_NAV:
        query = _COUNTS.get(segment)
        figures.append(
            {
                "segment": segment,
                "label": label,
                "count": db.scalar(query) if query is not None else None,
            }
        )
    return {"figures": figures}

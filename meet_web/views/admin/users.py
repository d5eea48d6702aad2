"""`/admin/users/`: find users, see what they hold, and change their standing.

The list searches email, name and sub, filters on operator, active and provisional
(no sub yet: invited by email, never signed in), sorts and pages; htmx replaces the
results as the operator types, the same form works without JavaScript. Each action
is a form post that redirects to the user's page with a flash message; deactivating
and merging ask for confirmation first.

A deactivated user's open sessions stop at once: the change writes a new version of
the user (services/versions.py), so every process reloads the account and finds it
inactive; sign-in and delegated tokens refuse inactive users too.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config, view_defaults
from sqlalchemy import or_, select

from ...models import Recording, RecordingAccess, ResourceAccess, Room, User
from ...resources.admin import AdminUser, UsersSection
from ...security.permissions import Permission
from ...services.audit import (
    USER_DEACTIVATE,
    USER_GRANT_OPERATOR,
    USER_MERGE,
    USER_REACTIVATE,
    USER_REVOKE_OPERATOR,
    record,
)
from ...services.errors import Refused
from ...services.user_merge import group_of, merge_group
from ..pages.common import vary_on_htmx
from . import (
    contains,
    is_results_fragment,
    list_view,
    paginate,
    read_list_query,
    refuse_without_confirmation,
)

YES_NO = ("yes", "no")
FILTERS = {"operator": YES_NO, "active": YES_NO, "provisional": YES_NO}
SORTS = {
    "email": User.email.asc(),
    "-email": User.email.desc(),
    "name": User.full_name.asc(),
    "-name": User.full_name.desc(),
    "created": User.created_at.asc(),
    "-created": User.created_at.desc(),
    "last_login": User.last_login.asc(),
    "-last_login": User.last_login.desc(),
}
DEFAULT_SORT = "-created"

NOT_YOURSELF = "Operators may not change their own standing here."
NO_DUPLICATES = "No other user has this email address."


def _filter(query, name: str, value: str):
    if not value:
        return query
    wanted = value == "yes"
    if name == "operator":
        return query.where(User.is_operator.is_(wanted))
    if name == "active":
        return query.where(User.is_active.is_(wanted))
    return query.where(User.sub.is_(None) if wanted else User.sub.is_not(None))


@list_view(UsersSection, "admin/users.jinja2", "admin/_users_results.jinja2")
def user_list(context, request):
    listing = read_list_query(request, filters=FILTERS, sorts=SORTS, default_sort=DEFAULT_SORT)
    query = select(User)
    if listing.q:
        query = query.where(
            or_(
                contains(User.email, listing.q),
                contains(User.full_name, listing.q),
                contains(User.sub, listing.q),
            )
        )
    for name, value in listing.filters.items():
        query = _filter(query, name, value)
    query = query.order_by(SORTS[listing.sort], User.id)
    rows, pages, total = paginate(request.dbsession, query, listing.page)
    vary_on_htmx(request, target=True)
    return {
        "users": [row[0] for row in rows],
        "listing": listing,
        "fragment": is_results_fragment(request),
        "pages": pages,
        "total": total,
        "sorts": list(SORTS),
    }


@view_defaults(context=AdminUser, permission=Permission.ADMIN)
class UserAdmin:
    def __init__(self, context: AdminUser, request):
        self.context, self.request = context, request
        self.user = context.user
        self.db = request.dbsession

    def _page(self) -> str:
        return self.request.resource_path(self.context)

    def _done(self, message: str) -> HTTPSeeOther:
        self.request.session.flash(message)
        return HTTPSeeOther(location=self._page())

    def _not_myself(self) -> None:
        if self.request.identity.user_id == self.user.id:
            raise Refused(NOT_YOURSELF)

    @view_config(request_method="GET", renderer="admin/user.jinja2")
    def detail(self):
        rooms = self.db.execute(
            select(ResourceAccess.role, Room)
            .join(Room, Room.id == ResourceAccess.resource_id)
            .where(ResourceAccess.user_id == self.user.id)
            .order_by(Room.name)
        ).all()
        recordings = self.db.execute(
            select(RecordingAccess.role, Recording, Room)
            .join(Recording, Recording.id == RecordingAccess.recording_id)
            .join(Room, Room.id == Recording.room_id)
            .where(RecordingAccess.user_id == self.user.id)
            .order_by(Recording.created_at.desc())
        ).all()
        return {
            "user": self.user,
            "rooms": rooms,
            "recordings": recordings,
            "duplicates": group_of(self.db, self.user),
            "is_me": self.request.identity.user_id == self.user.id,
        }

    @view_config(name="grant-operator", request_method="POST")
    def grant_operator(self):
        self._not_myself()
        if not self.user.is_operator:
            self.user.is_operator = True
            record(self.request, USER_GRANT_OPERATOR, target_type="user", target_id=self.user.id)
        return self._done("This user is now an operator.")

    @view_config(name="revoke-operator", request_method="POST")
    def revoke_operator(self):
        self._not_myself()
        if self.user.is_operator:
            self.user.is_operator = False
            record(self.request, USER_REVOKE_OPERATOR, target_type="user", target_id=self.user.id)
        return self._done("This user is no longer an operator.")

    @view_config(name="deactivate", request_method="GET", renderer="admin/user_confirm.jinja2")
    def confirm_deactivate(self):
        self._not_myself()
        return {"user": self.user, "action": "deactivate"}

    @view_config(name="deactivate", request_method="POST")
    def deactivate(self):
        self._not_myself()
        refuse_without_confirmation(self.request)
        if self.user.is_active:
            self.user.is_active = False
            record(self.request, USER_DEACTIVATE, target_type="user", target_id=self.user.id)
        return self._done("This user is deactivated: they are signed out and cannot sign in.")

    @view_config(name="reactivate", request_method="POST")
    def reactivate(self):
        if not self.user.is_active:
            self.user.is_active = True
            record(self.request, USER_REACTIVATE, target_type="user", target_id=self.user.id)
        return self._done("This user is active again.")

    def _duplicates(self):
        group = group_of(self.db, self.user)
        if group is None:
            raise Refused(NO_DUPLICATES)
        return group

    @view_config(name="merge", request_method="GET", renderer="admin/user_confirm.jinja2")
    def confirm_merge(self):
        return {"user": self.user, "action": "merge", "group": self._duplicates()}

    @view_config(name="merge", request_method="POST")
    def merge(self):
        refuse_without_confirmation(self.request)
        group = self._duplicates()
        if self.request.identity.user_id in {user.id for user in group.merged}:
            raise Refused(NOT_YOURSELF)
        kept = group.kept
        merge_group(self.db, group)
        record(
            self.request, USER_MERGE, target_type="user", target_id=kept.id, changes=group.as_dict()
        )
        self.request.session.flash("The duplicate users were merged into this one.")
        return HTTPSeeOther(
            location=self.request.resource_path(self.context.__parent__, str(kept.id), "")
        )

"""The room page and its settings: name, access level, configuration, members and
invitations.

Each members action, and the invite form, answers an htmx request (`HX-Request`) with
its partial and a plain form post with a 303 back to the settings page (a form with
errors is shown again), so the page works without JavaScript.
"""

from __future__ import annotations

import re

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config, view_defaults

from ...models import AccessLevel, Role, User
from ...models.enums import ROLE_ORDER
from ...models.room import NAME_MAX_LENGTH, NAME_TYPED_MAX_LENGTH
from ...resources import RoomResource
from ...security.permissions import Permission, roles_that_may_be_granted
from ...services import audit
from ...services.errors import Refused
from ...services.rooms import add_member, change_role, remove_member, update_room
from ...validation import Fields, ValidationError
from ..api.invitations import (
    InvitationNotSent,
    InvitationsUnavailable,
    max_recipients,
    read_recipients,
    send_invitation,
)
from ..api.rooms import sync_after_commit
from .common import (
    ACCESS_LEVEL_LABELS,
    ACCESS_LEVELS,
    SOURCE_LABELS,
    configuration_from_form,
    configuration_view,
    field_messages,
    form_fields,
    is_htmx,
    room_path,
    vary_on_htmx,
)

NO_ACCOUNT = "No account uses this email address."
SEVERAL_ACCOUNTS = "Several accounts use this email address; ask an operator for help."
GONE_MEMBER = "This person no longer has access to this room."
INVITATION_SENT = "The invitation has been sent."  # translated: rooms/_invite.jinja2
INVITE_SEPARATORS = re.compile(r"[\s,;]+")


@view_defaults(context=RoomResource, renderer="rooms/settings.jinja2")
class RoomPages:
    def __init__(self, context: RoomResource, request):
        self.context, self.request = context, request
        self.room = context.room

    # -- values shared by the page and its partials ---------------------------------

    def _default_sources(self):
        return self.request.registry.settings["livekit.default_sources"]

    def _members(self) -> list[dict]:
        actor_id = self.request.identity.user_id if self.request.identity else None
        grantable = roles_that_may_be_granted(self.context.role)
        rows = []
        for access in self.room.accesses:
            # Owners change or drop only their own access (the service enforces it).
            editable = access.role != Role.OWNER or access.user_id == actor_id
            rows.append(
                {
                    "access": access,
                    "user": access.user,
                    "is_me": access.user_id == actor_id,
                    "editable": editable,
                    "roles": [r for r in ROLE_ORDER if r in grantable or r == access.role],
                }
            )
        rows.sort(key=lambda r: (-r["access"].role.strength, r["user"].display_name.lower()))
        return rows

    def _values(self, **extra) -> dict:
        room = self.room
        values = {
            "room": room,
            "role": self.context.role,
            "room_path": room_path(self.request, room),
            "settings_path": room_path(self.request, room, "settings"),
            "access_levels": ACCESS_LEVELS,
            "source_labels": SOURCE_LABELS,
            "form": {
                "name": room.name,
                "access_level": room.access_level,
                **configuration_view(room.configuration, self._default_sources()),
            },
            "errors": {},
            "saved": False,
            "members": self._members(),
            "grantable_roles": [
                r for r in ROLE_ORDER if r in roles_that_may_be_granted(self.context.role)
            ],
            "member_error": None,
            "member_message": None,
            "member_email": "",
            "member_role": Role.MEMBER,
            "name_max_length": NAME_TYPED_MAX_LENGTH,
            "invite_emails": "",
            "invite_error": None,  # the kind of problem: the partial words it
            "invite_bad": [],  # the addresses that are not valid
            "invite_sent": False,
            "invite_limit": max_recipients(self.request),
        }
        values.update(extra)
        vary_on_htmx(self.request)
        return values

    # -- the room page ----------------------------------------------------------------

    @view_config(
        request_method="GET", permission=Permission.ROOM_VIEW, renderer="rooms/room.jinja2"
    )
    def room_page(self):
        request = self.request
        return {
            "room": self.room,
            "role": self.context.role,
            "access_level": ACCESS_LEVEL_LABELS[self.room.access_level],
            "access_description": dict((a, d) for a, _, d in ACCESS_LEVELS)[self.room.access_level],
            "may_join": request.has_permission(Permission.ROOM_JOIN, self.context),
            "settings_path": (
                room_path(request, self.room, "settings")
                if request.has_permission(Permission.ROOM_MANAGE, self.context)
                else None
            ),
        }

    # -- settings -------------------------------------------------------------------

    @view_config(name="settings", request_method="GET", permission=Permission.ROOM_MANAGE)
    def settings(self):
        return self._values()

    @view_config(name="settings", request_method="POST", permission=Permission.ROOM_MANAGE)
    @view_config(
        name="settings",
        request_method="POST",
        permission=Permission.ROOM_MANAGE,
        header="HX-Request",
        renderer="rooms/_settings_form.jinja2",
    )
    def save_settings(self):
        request, room = self.request, self.room
        post = request.POST
        fields = form_fields(post, "name", "access_level")
        name = fields.string("name", required=True, max_length=NAME_MAX_LENGTH)
        access_level = fields.choice("access_level", AccessLevel, required=True)
        old_slug = room.slug
        try:
            configuration = configuration_from_form(
                post, room.configuration, self._default_sources()
            )
            fields.check()
            if update_room(
                request.dbsession,
                room,
                name=name,
                access_level=access_level,
                configuration=configuration,
            ):
                sync_after_commit(request, room)
            audit.record_room(
                request,
                audit.ROOM_UPDATE,
                room,
                {"name": name, "access_level": access_level, "configuration": configuration},
            )
        except ValidationError as exc:
            request.response.status = 400
            form = {
                "name": post.get("name", ""),
                "access_level": post.get("access_level"),
                "can_publish_sources": post.getall("can_publish_sources"),
                "everyone_can_mute": "everyone_can_mute" in post,
            }
            return self._values(form=form, errors=field_messages(exc))
        settings_url = request.application_url + room_path(request, room, "settings")
        if not is_htmx(request):
            request.session.flash("Settings saved.")
            return HTTPSeeOther(location=settings_url)
        if room.slug != old_slug:
            # Every link on the page holds the old slug: reload at the new address.
            request.session.flash("Settings saved.")
            return Response(status=200, headers={"HX-Redirect": settings_url})
        return self._values(saved=True)

    # -- members --------------------------------------------------------------------

    @view_config(
        name="members",
        request_method="GET",
        permission=Permission.ROOM_MANAGE,
        header="HX-Request",
        renderer="rooms/_members.jinja2",
    )
    def members(self):
        return self._values()

    @view_config(name="members", request_method="GET", permission=Permission.ROOM_MANAGE)
    def members_page(self):
        return HTTPSeeOther(location=self._settings_url() + "#members")

    @view_config(name="members", request_method="POST", permission=Permission.ROOM_MANAGE)
    @view_config(
        name="members",
        request_method="POST",
        permission=Permission.ROOM_MANAGE,
        header="HX-Request",
        renderer="rooms/_members.jinja2",
    )
    def add(self):
        post = self.request.POST
        email = post.get("email", "").strip()
        fields = form_fields(post, "email", "role")
        fields.string("email", required=True, max_length=254)
        role = fields.choice("role", Role, required=True)

        def act():
            fields.check()
            users = [u for u in User.by_email(self.request.dbsession, email) if u.is_active]
            if not users:
                raise ValidationError({"email": NO_ACCOUNT})
            if len(users) > 1:
                raise ValidationError({"email": SEVERAL_ACCOUNTS})
            access = add_member(
                self.request.dbsession, self.room, self.context.role, users[0], role
            )
            audit.record_access(self.request, audit.ACCESS_GRANT, access)
            return f"{users[0].display_name} can now join as {role.value}."

        return self._member_action(act, member_email=email, member_role=post.get("role"))

    @view_config(name="members-role", request_method="POST", permission=Permission.ROOM_MANAGE)
    @view_config(
        name="members-role",
        request_method="POST",
        permission=Permission.ROOM_MANAGE,
        header="HX-Request",
        renderer="rooms/_members.jinja2",
    )
    def change_role(self):
        fields = form_fields(self.request.POST, "access_id", "role")
        role = fields.choice("role", Role, required=True)

        def act():
            fields.check()
            access = self._access_from_form()
            before = access.role
            change_role(
                self.request.dbsession,
                access,
                self.request.identity.user_id,
                self.context.role,
                role,
            )
            if access.role != before:
                audit.record_access(self.request, audit.ACCESS_CHANGE, access, {"from": before})
            return f"{access.user.display_name} is now {role.value}."

        return self._member_action(act)

    @view_config(name="members-remove", request_method="POST", permission=Permission.ROOM_MANAGE)
    @view_config(
        name="members-remove",
        request_method="POST",
        permission=Permission.ROOM_MANAGE,
        header="HX-Request",
        renderer="rooms/_members.jinja2",
    )
    def remove(self):
        def act():
            access = self._access_from_form()
            name = access.user.display_name
            # before the row goes; a refusal aborts the transaction, and the event with it
            audit.record_access(self.request, audit.ACCESS_REVOKE, access)
            remove_member(self.request.dbsession, access, self.request.identity.user_id)
            return f"{name} no longer has access to this room."

        return self._member_action(act)

    # -- invitations ----------------------------------------------------------------

    @view_config(name="invite", request_method="POST", permission=Permission.ROOM_MANAGE)
    @view_config(
        name="invite",
        request_method="POST",
        permission=Permission.ROOM_MANAGE,
        header="HX-Request",
        renderer="rooms/_invite.jinja2",
    )
    def invite(self):
        request = self.request
        text = request.POST.get("emails", "")
        addresses = INVITE_SEPARATORS.split(text.strip()) if text.strip() else []
        fields = Fields({"emails": addresses})
        recipients = read_recipients(fields, request)
        problem = fields.errors.get("emails")
        if problem is not None:
            request.response.status = 400
            if isinstance(problem, dict):
                bad = [addresses[int(index)] for index in problem]
                return self._values(
                    invite_emails=text, invite_error="bad_addresses", invite_bad=bad
                )
            kind = "empty" if not addresses else "too_many"
            return self._values(invite_emails=text, invite_error=kind)
        try:
            send_invitation(request, self.room, recipients)
        except (InvitationNotSent, InvitationsUnavailable) as exc:
            # htmx swaps no 5xx answer (the layout's htmx-config): its fragment is a 200
            request.response.status = 200 if is_htmx(request) else exc.status
            kind = "not_sent" if isinstance(exc, InvitationNotSent) else "unavailable"
            return self._values(invite_emails=text, invite_error=kind)
        if is_htmx(request):
            return self._values(invite_sent=True)
        request.session.flash(INVITATION_SENT)
        return HTTPSeeOther(location=self._settings_url() + "#invite")

    # -- members helpers ------------------------------------------------------------

    def _settings_url(self) -> str:
        return self.request.application_url + room_path(self.request, self.room, "settings")

    def _access_from_form(self):
        """The access row named by the form, looked up among this room's rows only."""
        access_id = self.request.POST.get("access_id", "")
        for access in self.room.accesses:
            if str(access.id) == access_id:
                return access
        raise ValidationError({"access_id": GONE_MEMBER})

    def _member_action(self, act, **form_values):
        """Run a members change; answer with the partial (htmx) or a 303 (plain form)."""
        request = self.request
        try:
            message = act()
        except ValidationError as exc:
            request.response.status = 400
            messages = field_messages(exc)
            return self._values(member_error=next(iter(messages.values())), **form_values)
        except Refused as exc:
            request.response.status = 403
            return self._values(member_error=exc.message, **form_values)
        request.dbsession.flush()
        request.dbsession.expire(self.room, ["accesses"])
        if not request.has_permission(Permission.ROOM_MANAGE, self.context):
            # The caller gave up their own right to manage the room.
            request.session.flash(message)
            room_url = request.application_url + room_path(request, self.room)
            if is_htmx(request):
                return Response(status=200, headers={"HX-Redirect": room_url})
            return HTTPSeeOther(location=room_url)
        if is_htmx(request):
            return self._values(member_message=message)
        request.session.flash(message)
        return HTTPSeeOther(location=self._settings_url() + "#members")

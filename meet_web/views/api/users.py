import zoneinfo
from functools import cache

from pyramid.httpexceptions import HTTPMethodNotAllowed
from pyramid.view import view_config, view_defaults
from sqlalchemy import func, select

from ...models import AccessLevel, User
from ...openapi import PAGING, Query, operation
from ...resources import UserContainer, UserResource
from ...security.permissions import Permission
from ...validation import (
    MISSING,
    Body,
    Boolean,
    Choice,
    RoomConfiguration,
    String,
    check_page,
    page_params,
)
from .serializers import (
    ACCOUNT_SCHEMA,
    USER_SCHEMA,
    account_json,
    page_json,
    page_schema,
    user_json,
)

SEARCH_LIMIT = 50  # a search shows at most this many users, whatever the page

USER_UPDATE_BODY = Body(
    "UserUpdate",
    timezone=String(64, "An IANA time zone name."),
    language=String(10, "One of the site's languages (app.languages)."),
    default_room_access_level=Choice(AccessLevel, nullable=True),
    default_room_configuration=RoomConfiguration(),
    guest_waiting_emails=Boolean(
        "E-mail me when a guest waits in the lobby of a room I manage and no manager is in"
        " the meeting."
    ),
)
ALWAYS_405 = "always answers 405, as the reference"


@cache
def valid_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


@view_defaults(context=UserContainer, route_name="api", renderer="json")
class UserCollectionApi:
    def __init__(self, context, request):
        self.context, self.request = context, request

    @view_config(request_method="GET", permission=Permission.AUTHENTICATED)
    @operation(
        "Users whose email contains q (only when users.allow_listing is on)",
        responses={200: page_schema(USER_SCHEMA)},
        query=(Query("q", {"type": "string"}, "Part of an email address."), *PAGING),
        tag="users",
    )
    def list(self):
        """Empty unless `users.allow_listing`: listing users leaks who has an account."""
        request = self.request
        page, size = page_params(request, request.registry.settings["rooms.page_size"])
        q = request.GET.get("q", "").replace("\x00", "").strip().lower()
        if not request.registry.settings["users.allow_listing"] or not q:
            return page_json(request, [], 0, page, size)
        query = select(User).where(func.lower(User.email).contains(q, autoescape=True))
        db = request.dbsession
        count = min(db.scalar(select(func.count()).select_from(query.subquery())), SEARCH_LIMIT)
        check_page(page, size, count)  # before the offset reaches the database
        start = (page - 1) * size
        users = db.scalars(
            query.order_by(User.email, User.id)
            .offset(start)
            .limit(max(0, min(size, SEARCH_LIMIT - start)))
        ).all()
        return page_json(request, [user_json(u) for u in users], count, page, size)

    @view_config(name="me", request_method="GET", permission=Permission.AUTHENTICATED)
    @operation("The signed-in user", responses={200: ACCOUNT_SCHEMA}, tag="users")
    def me(self):
        return account_json(self.request.user)

    @view_config(request_method="POST", permission=Permission.AUTHENTICATED)
    @operation("", undocumented=ALWAYS_405)
    def create(self):
        raise HTTPMethodNotAllowed(headers={"Allow": "GET"})


@view_defaults(context=UserResource, route_name="api", renderer="json")
class UserApi:
    def __init__(self, context, request):
        self.context, self.request = context, request

    @view_config(request_method=("PUT", "PATCH"), permission=Permission.USER_UPDATE)
    @operation(
        "Change the signed-in user's preferences",
        body=USER_UPDATE_BODY,
        responses={200: ACCOUNT_SCHEMA},
        tag="users",
    )
    def update(self):
        values, fields = USER_UPDATE_BODY.read(self.request, partial=True)
        timezone, language = values["timezone"], values["language"]
        if timezone is not MISSING and timezone not in valid_timezones():
            fields.errors["timezone"] = f"'{timezone}' is not a known time zone."
        languages = self.request.registry.settings["app.languages"]
        if language is not MISSING and language not in languages:
            fields.errors["language"] = f"Expected one of: {', '.join(languages)}."
        fields.check()
        user = self.context.user
        for name, value in values.items():
            if value is not MISSING:
                setattr(user, name, value)
        if timezone is not MISSING:
            user.timezone_chosen = True
        self.request.dbsession.flush()
        return account_json(user)

    @view_config(request_method=("GET", "POST", "DELETE"), permission=Permission.AUTHENTICATED)
    @operation("", undocumented=ALWAYS_405)
    def not_allowed(self):
        raise HTTPMethodNotAllowed(headers={"Allow": "PUT, PATCH"})

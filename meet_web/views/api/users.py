import zoneinfo
from functools import cache

from pyramid.httpexceptions import HTTPMethodNotAllowed
from pyramid.view import view_config, view_defaults
from sqlalchemy import Select, func, or_, select

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
Q_MAX = 254  # longer than any address or name: nothing starts with it

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


def starting_with(q: str) -> Select:
    """Active users whose email, full name or a word of their full name starts with `q`
    (lower case; wildcards in it are literal). On PostgreSQL the trigram indexes on
    lower(email) and lower(full_name) serve these patterns too."""
    email, name = func.lower(User.email), func.lower(User.full_name)
    return select(User).where(
        User.is_active.is_(True),
        or_(
            email.startswith(q, autoescape=True),
            name.startswith(q, autoescape=True),
            name.contains(" " + q, autoescape=True),
        ),
    )


def similar_to(q: str) -> tuple[Select, tuple]:
    """PostgreSQL only: active users whose email or full name holds words like `q`
    (pg_trgm's word similarity over pg_trgm.word_similarity_threshold, 0.6 by default),
    most alike first. Asked only when no one starts with `q`: a precise query is never
    drowned in near misses, and a mistyped one still finds someone."""
    email, name = func.lower(User.email), func.lower(User.full_name)
    alike = func.greatest(func.word_similarity(q, email), func.word_similarity(q, name))
    query = select(User).where(
        User.is_active.is_(True),
        or_(email.op("%>")(q), name.op("%>")(q)),  # the indexed side first
    )
    return query, (alike.desc(), User.email, User.id)


def bounded_count(db, query: Select) -> int:
    """How many users match, counting no further than a search shows."""
    return db.scalar(select(func.count()).select_from(query.limit(SEARCH_LIMIT).subquery()))


@view_defaults(context=UserContainer, route_name="api", renderer="json")
class UserCollectionApi:
    def __init__(self, context, request):
        self.context, self.request = context, request

    @view_config(request_method="GET", permission=Permission.AUTHENTICATED)
    @operation(
        "Active users whose email, full name or a word of it starts with q, or (on"
        " PostgreSQL, when none does) whose email or name is like q; at most"
        f" {SEARCH_LIMIT} (only when users.allow_listing is on)",
        responses={200: page_schema(USER_SCHEMA)},
        query=(Query("q", {"type": "string"}, "The start of an email address or name."), *PAGING),
        tag="users",
    )
    def list(self):
        """Empty unless `users.allow_listing`: listing users leaks who has an account."""
        request = self.request
        page, size = page_params(request, request.registry.settings["rooms.page_size"])
        q = request.GET.get("q", "").replace("\x00", "").strip().lower()
        if not request.registry.settings["users.allow_listing"] or not q or len(q) > Q_MAX:
            return page_json(request, [], 0, page, size)
        db = request.dbsession
        query, order = starting_with(q), (User.email, User.id)
        count = bounded_count(db, query)
        if count == 0 and db.get_bind().dialect.name == "postgresql":
            query, order = similar_to(q)
            count = bounded_count(db, query)
        check_page(page, size, count)  # before the offset reaches the database
        start = (page - 1) * size
        users = db.scalars(
            query.order_by(*order).offset(start).limit(max(0, min(size, SEARCH_LIMIT - start)))
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

import zoneinfo
from functools import cache

from pyramid.httpexceptions import HTTPMethodNotAllowed
from pyramid.view import view_config, view_defaults
from sqlalchemy import func, select

from ...models import AccessLevel, User
from ...resources import UserContainer, UserResource
from ...security.permissions import Permission
from ...validation import MISSING, Fields, check_page, json_body, page_params
from .serializers import page_json, user_json

SEARCH_LIMIT = 50  # a search shows at most this many users, whatever the page


@cache
def valid_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


@view_defaults(context=UserContainer, route_name="api", renderer="json")
class UserCollectionApi:
    def __init__(self, context, request):
        self.context, self.request = context, request

    @view_config(request_method="GET", permission=Permission.AUTHENTICATED)
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
    def me(self):
        return user_json(self.request.user)

    @view_config(request_method="POST", permission=Permission.AUTHENTICATED)
    def create(self):
        raise HTTPMethodNotAllowed(headers={"Allow": "GET"})


@view_defaults(context=UserResource, route_name="api", renderer="json")
class UserApi:
    def __init__(self, context, request):
        self.context, self.request = context, request

    @view_config(request_method=("PUT", "PATCH"), permission=Permission.USER_UPDATE)
    def update(self):
        fields = Fields(json_body(self.request), partial=True)
        timezone = fields.string("timezone", max_length=64)
        language = fields.string("language", max_length=10)
        level = fields.choice("default_room_access_level", AccessLevel, nullable=True)
        configuration = fields.room_configuration("default_room_configuration")
        if timezone is not MISSING and timezone not in valid_timezones():
            fields.errors["timezone"] = f"'{timezone}' is not a known time zone."
        languages = self.request.registry.settings["app.languages"]
        if language is not MISSING and language not in languages:
            fields.errors["language"] = f"Expected one of: {', '.join(languages)}."
        fields.check()
        user = self.context.user
        for name, value in (
            ("timezone", timezone),
            ("language", language),
            ("default_room_access_level", level),
            ("default_room_configuration", configuration),
        ):
            if value is not MISSING:
                setattr(user, name, value)
        self.request.dbsession.flush()
        return user_json(user)

    @view_config(request_method=("GET", "POST", "DELETE"), permission=Permission.AUTHENTICATED)
    def not_allowed(self):
        raise HTTPMethodNotAllowed(headers={"Allow": "PUT, PATCH"})

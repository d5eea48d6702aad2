"""The account page (language, time zone, notifications, room defaults) and the language
selector."""

from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config, view_defaults

from ...models import AccessLevel
from ...resources import SiteRoot
from ...security.permissions import Permission
from ...validation import MISSING, ValidationError
from ..api.auth import safe_return_to
from .backgrounds import background_values
from .common import (
    ACCESS_LEVELS,
    LANGUAGE_COOKIE,
    LANGUAGE_LABELS,
    SOURCE_LABELS,
    configuration_from_form,
    configuration_view,
    field_messages,
    form_fields,
    offered_timezones,
    timezone_groups,
    timezone_names,
)

LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
CHECKED = ("on", "true", "1")  # what a ticked checkbox may send

# `/account` is a view name on the site root; its subpath picks the page or the selector.
ACCOUNT_PATH = r"^/account/?$"
LANGUAGE_PATH = r"^/account/language/?$"


def languages(request) -> list[tuple[str, str]]:
    return [
        (code, LANGUAGE_LABELS.get(code, code))
        for code in request.registry.settings["app.languages"]
    ]


@view_defaults(context=SiteRoot, name="account", renderer="account.jinja2")
class AccountPages:
    def __init__(self, context, request):
        self.context, self.request = context, request
        self.user = request.user

    def _default_sources(self):
        return self.request.registry.settings["livekit.default_sources"]

    def _values(self, **extra) -> dict:
        user = self.user
        values = {
            "languages": languages(self.request),
            "timezone_groups": timezone_groups(),
            "offered_timezones": offered_timezones(),
            # the browser's zone is offered until the person has chosen one
            "preselect_browser_zone": not user.timezone_chosen,
            "access_levels": ACCESS_LEVELS,
            "site_default_level": self.request.registry.settings["rooms.default_access_level"],
            "source_labels": SOURCE_LABELS,
            "form": {
                "language": user.language,
                "timezone": user.timezone,
                "guest_waiting_emails": user.guest_waiting_emails,
                "default_room_access_level": user.default_room_access_level or "",
                **configuration_view(user.default_room_configuration, self._default_sources()),
            },
            "errors": {},
            **background_values(self.request),
        }
        values.update(extra)
        return values

    @view_config(request_method="GET", path_info=ACCOUNT_PATH, permission=Permission.AUTHENTICATED)
    def show(self):
        return self._values()

    @view_config(request_method="POST", path_info=ACCOUNT_PATH, permission=Permission.AUTHENTICATED)
    def save(self):
        request, user = self.request, self.user
        post = request.POST
        fields = form_fields(post, "language", "timezone", "default_room_access_level")
        language = fields.string("language", required=True, max_length=10)
        timezone = fields.string("timezone", required=True, max_length=64)
        level_text = post.get("default_room_access_level", "")
        guest_waiting_emails = post.get("guest_waiting_emails") in CHECKED
        level = None
        if level_text:
            level = fields.choice("default_room_access_level", AccessLevel)
        if language is not MISSING and language not in dict(languages(request)):
            fields.errors["language"] = "Choose one of the languages offered."
        if timezone is not MISSING and timezone not in timezone_names():
            fields.errors["timezone"] = f"“{timezone}” is not a known time zone."
        try:
            configuration = configuration_from_form(
                post, user.default_room_configuration, self._default_sources()
            )
            fields.check()
        except ValidationError as exc:
            request.response.status = 400
            form = {
                "language": post.get("language"),
                "timezone": post.get("timezone", ""),
                "guest_waiting_emails": guest_waiting_emails,
                "default_room_access_level": level_text,
                "can_publish_sources": post.getall("can_publish_sources"),
                "everyone_can_mute": "everyone_can_mute" in post,
            }
            return self._values(form=form, errors=field_messages(exc), preselect_browser_zone=False)
        user.language = language
        user.timezone = timezone
        user.timezone_chosen = True
        user.guest_waiting_emails = guest_waiting_emails
        user.default_room_access_level = level
        user.default_room_configuration = configuration
        request.dbsession.flush()
        request.session.flash("Account settings saved.")
        return HTTPSeeOther(location=request.resource_url(self.context, "account"))


@view_config(
    context=SiteRoot,
    name="account",
    path_info=LANGUAGE_PATH,
    request_method="POST",
    permission=NO_PERMISSION_REQUIRED,
)
def change_language(context, request):
    """Signed-in people keep the choice on their account; everyone gets a cookie."""
    language = request.POST.get("language", "")
    if language not in dict(languages(request)):
        raise HTTPBadRequest("Choose one of the languages offered.")
    if request.user is not None:
        request.user.language = language
        request.dbsession.flush()
    response = HTTPSeeOther(
        location=request.application_url + safe_return_to(request.POST.get("next"))
    )
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=LANGUAGE_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.registry.settings["app.secure_cookies"],
        path="/",
    )
    return response

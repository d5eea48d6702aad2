"""Share links in the pages: the holder's page and media (no sign-in), and the section
of the recording page where its owners and administrators make and revoke links.

The holder's answers, error pages included, carry `Referrer-Policy: no-referrer`, and
its pages `Cache-Control: no-store` (the media keeps the stream's `private`): the token
is in their address, and must reach neither another site in a Referer nor a shared
cache. An unknown or malformed token is answered 404 ("This link does not work"); a
link that was revoked or has expired, or whose recording has expired, 410 with a page
saying which. Only someone who holds a real token can learn that much about it.

The manager's forms answer an htmx request with the section's partial and a plain
form post with a 303 back to the recording page, where the section shows the new
link's address once (it travels there in a flash queue of its own) or a flash says the
link was revoked. While `recording.enabled` is off these pages answer 404, as the
site's other recording pages do.
"""

from __future__ import annotations

from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ...models import Recording, RecordingMode
from ...models.share_link import RecordingShareLink
from ...recording import RecordingConfig, RecordingStorage
from ...recording.share_links import (
    LinkStatus,
    Problem,
    check_shareable,
    create_link,
    days_from_form,
    default_days,
    link_status,
    links_of,
    max_days,
    revoke_link,
)
from ...recording.streaming import stream_object
from ...resources import (
    RecordingResource,
    SharedRecording,
    ShareLinkContainer,
    ShareLinkResource,
)
from ...resources.recordings import SHARE_LINKS, SHARED
from ...security.permissions import Permission
from ...services.errors import DomainError
from ...templating import template_global
from .common import is_htmx, vary_on_htmx

NEW_LINK_QUEUE = "share-link-url"
LINK_REVOKED = "The share link was revoked: it no longer works."
CONTENT_TYPES = {"mp4": "video/mp4", "ogg": "audio/ogg"}

# What the holder is told, by what is wrong with their link: (status, title, message).
DOES_NOT_WORK = (
    404,
    "This link does not work",
    "Check that you have the whole address, or ask the person who shared the recording"
    " for a new link.",
)
UNAVAILABLE = {
    Problem.UNKNOWN: DOES_NOT_WORK,
    Problem.NOT_SAVED: DOES_NOT_WORK,
    Problem.REVOKED: (
        410,
        "This link was revoked",
        "The person who shared this recording has withdrawn the link. Ask them for a"
        " new one if you still need it.",
    ),
    Problem.EXPIRED: (
        410,
        "This link has expired",
        "Ask the person who shared this recording for a new link if you still need it.",
    ),
    Problem.RECORDING_EXPIRED: (
        410,
        "This recording is no longer available",
        "The recording has expired: it can no longer be played or downloaded.",
    ),
}


def share_url(request, token: str) -> str:
    """The holder's page: the address a share link is."""
    return f"{request.application_url}/recordings/{SHARED}/{token}"


def recording_page_url(request, recording: Recording) -> str:
    return f"{request.application_url}/recordings/{recording.id}"


def holder_media_url(request, recording: Recording, token: str) -> str:
    """Where the holder's player and download button get the bytes: the media front
    (nginx, which asks media-auth with the token) when there is one, else the app."""
    if request.registry.settings["recording.media_front"]:
        config: RecordingConfig = request.service(RecordingConfig)
        url = f"{config.media_url}{recording.key(config.output_folder)}"
        if url.startswith("/"):
            url = request.application_url + url
        return f"{url}?{urlencode({'share': token})}"
    return share_url(request, token) + "/media"


def local_moment(request, moment) -> str:
    """A date and time in the page's language, in the signed-in person's time zone (UTC
    for others), with the zone named."""
    user = request.user
    try:
        zone = ZoneInfo((user.timezone if user is not None else None) or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    text = format_datetime(moment, "medium", tzinfo=zone, locale=request.locale_name)
    return f"{text} ({zone.key})"


def moment_view(request, moment) -> dict | None:
    """A moment for a `<time>` element: its text and its ISO form."""
    if moment is None:
        return None
    return {"text": local_moment(request, moment), "iso": moment.isoformat()}


def media_filename(recording: Recording) -> str:
    """The name a downloaded recording is saved under: its room and when it began."""
    when = recording.created_at.strftime("%Y-%m-%d %H-%M")
    return f"{recording.room.name} {when}.{recording.extension}"


def check_recording_enabled(request) -> None:
    """While `recording.enabled` is off, recordings' pages answer 404 (as the site's
    recording pages do); the API's share links stay, as its recordings do."""
    if not request.service(RecordingConfig).enabled:
        raise HTTPNotFound()


def keep_token_private(request) -> None:
    def headers(request, response):
        response.headers["Referrer-Policy"] = "no-referrer"
        # pages hold the token; the media (`private`) may stay in the browser's cache
        response.headers.setdefault("Cache-Control", "no-store")

    request.add_response_callback(headers)


# -- the holder's side ----------------------------------------------------------------------


@view_defaults(context=SharedRecording, permission=Permission.SHARED_RECORDING_PLAY)
class SharedRecordingPages:
    def __init__(self, context: SharedRecording, request):
        self.context, self.request = context, request
        keep_token_private(request)
        check_recording_enabled(request)

    def _unavailable(self, problem: Problem) -> dict:
        status, title, message = UNAVAILABLE[problem]
        self.request.response.status = status
        self.request.override_renderer = "recordings/shared_unavailable.jinja2"
        link = self.context.resolution.link
        expired_on = None
        if problem == Problem.EXPIRED and link is not None:
            expired_on = moment_view(self.request, link.expires_at)
        return {"title": title, "message": message, "status": status, "expired_on": expired_on}

    @view_config(request_method="GET", renderer="recordings/shared.jinja2")
    def page(self):
        resolution = self.context.resolution
        if not resolution.usable:
            return self._unavailable(resolution.problem)
        recording = resolution.recording
        media_url = holder_media_url(self.request, recording, self.context.token)
        separator = "&" if "?" in media_url else "?"
        return {
            "recording": recording,
            "room_name": recording.room.name,
            "recorded": moment_view(self.request, recording.created_at),
            "link_expires": moment_view(self.request, resolution.link.expires_at),
            "is_video": recording.mode != RecordingMode.TRANSCRIPT,
            "content_type": CONTENT_TYPES[recording.extension],
            "media_url": media_url,
            "download_url": f"{media_url}{separator}download=1",
        }

    @view_config(
        name="media",
        request_method=("GET", "HEAD"),
        renderer="recordings/shared_unavailable.jinja2",
    )
    def media(self):
        resolution = self.context.resolution
        if not resolution.usable:
            return self._unavailable(resolution.problem)
        recording = resolution.recording
        config: RecordingConfig = self.request.service(RecordingConfig)
        return stream_object(
            self.request,
            self.request.service(RecordingStorage),
            recording.key(config.output_folder),
            filename=media_filename(recording),
            content_type=CONTENT_TYPES[recording.extension],
        )


# -- the recording page's section (owners and administrators) ----------------------------------


def share_link_container(request, recording: Recording) -> ShareLinkContainer:
    """The recording's links as a resource (for its ACL): the page's own context when
    that is the recording, else one built around it."""
    context = getattr(request, "context", None)
    if isinstance(context, ShareLinkContainer) and context.recording.id == recording.id:
        return context
    if isinstance(context, ShareLinkResource) and context.__parent__.recording.id == recording.id:
        return context.__parent__
    if not (isinstance(context, RecordingResource) and context.recording.id == recording.id):
        context = RecordingResource(recording, request.root)
    return context[SHARE_LINKS]


def link_row(request, recording: Recording, link: RecordingShareLink) -> dict:
    status = link_status(link)
    return {
        "id": str(link.id),
        "status": status,
        "created": moment_view(request, link.created_at),
        "expires": moment_view(request, link.expires_at),
        "revoked": moment_view(request, link.revoked_at),
        "revoke_path": f"{recording_page_url(request, recording)}/{SHARE_LINKS}/{link.id}/revoke",
        "active": status == LinkStatus.ACTIVE,
    }


@template_global("share_links_section")
def share_links_section(request, recording: Recording, **extra) -> dict:
    """What `recordings/_share_links.jinja2` shows; `may_share` false: nothing."""
    container = share_link_container(request, recording)
    if not request.has_permission(Permission.RECORDING_SHARE, container):
        return {"may_share": False}
    config: RecordingConfig = request.service(RecordingConfig)
    try:
        check_shareable(recording, config)
        unshareable = None
    except DomainError as exc:
        unshareable = exc.message
    new_urls = request.session.pop_flash(NEW_LINK_QUEUE)
    section = {
        "may_share": True,
        "recording": recording,
        "links": [
            link_row(request, recording, link) for link in links_of(request.dbsession, recording.id)
        ],
        "create_path": f"{recording_page_url(request, recording)}/{SHARE_LINKS}",
        "unshareable": unshareable,
        "default_days": default_days(config),
        "max_days": max_days(config),
        "days": str(default_days(config)),
        "new_url": new_urls[-1] if new_urls else None,
        "error": None,
        "message": None,
    }
    section.update(extra)
    return section


@view_defaults(permission=Permission.RECORDING_SHARE, renderer="recordings/_share_links.jinja2")
class ShareLinkPages:
    def __init__(self, context, request):
        self.context, self.request = context, request
        check_recording_enabled(request)
        container = context if isinstance(context, ShareLinkContainer) else context.__parent__
        self.recording = container.recording
        vary_on_htmx(request)

    def _section(self, **extra) -> dict:
        return {"share_links": share_links_section(self.request, self.recording, **extra)}

    def _back(self, message: str | None = None) -> HTTPSeeOther:
        if message is not None:
            self.request.session.flash(message)
        return HTTPSeeOther(
            location=recording_page_url(self.request, self.recording) + "#share-links"
        )

    @view_config(context=ShareLinkContainer, request_method="GET", header="HX-Request")
    def section(self):
        return self._section()

    @view_config(context=ShareLinkContainer, request_method="GET")
    def section_page(self):
        return self._back()

    @view_config(context=ShareLinkContainer, request_method="POST")
    def create(self):
        request = self.request
        config: RecordingConfig = request.service(RecordingConfig)
        entered = request.POST.get("expires_in_days", "").strip()
        try:
            days = days_from_form(entered, config) if entered else default_days(config)
            made = create_link(
                request.dbsession, self.recording, request.identity.user_id, days, config
            )
        except (ValueError, DomainError) as exc:
            status = 400 if isinstance(exc, ValueError) else exc.status
            if is_htmx(request):
                # htmx swaps only 400, 403 and 409 (the layout's htmx-config)
                request.response.status = status if status in (400, 403, 409) else 200
            else:
                request.response.status = status
                request.override_renderer = "recordings/shared_links_form.jinja2"
            message = str(exc) if isinstance(exc, ValueError) else exc.message
            return self._section(error=message, days=entered)
        url = share_url(request, made.token)
        if is_htmx(request):
            return self._section(new_url=url)
        request.session.flash(url, NEW_LINK_QUEUE)  # the section says it was created
        return self._back()

    @view_config(context=ShareLinkResource, name="revoke", request_method="POST")
    def revoke(self):
        revoke_link(self.context.link)
        self.request.dbsession.flush()
        if is_htmx(self.request):
            return self._section(message=LINK_REVOKED)
        return self._back(LINK_REVOKED)


__all__ = ["local_moment", "media_filename", "share_links_section", "share_url"]

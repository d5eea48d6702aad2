"""My recordings, a recording's page with its player, the recording's media, and its
deletion.

The list shows every recording the caller holds a role on (as the API's list);
only owners and administrators open a recording, play it and delete it. Dates are in
the viewer's time zone. While `recording.enabled` is off the list says so and the
recordings' own addresses answer 404.

Players and the download button use the app's own stream (`<id>/media`, HTTP ranges)
unless `recording.media_front` says an nginx front serves `<recording.media_url>`
through media-auth. Deleting answers an htmx request with the list's partial and a
plain form post with a 303 back to the list, so it works without JavaScript.
"""

from __future__ import annotations

from math import ceil

from pyramid.httpexceptions import HTTPGone, HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import exception_view_config, view_config, view_defaults
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ...models import Recording, RecordingAccess, RecordingMode, RecordingStatus
from ...recording import RecordingConfig, RecordingStorage
from ...recording.streaming import RangeNotSatisfiable, stream_object
from ...resources import RecordingContainer, RecordingResource
from ...security.permissions import Permission
from ...services.errors import Refused
from ...validation import ValidationError
from ..api.recordings import RecordingApi
from ..errors import api_error, is_api, page_error
from .common import is_htmx, vary_on_htmx
from .share_links import local_moment, media_filename

NOT_READY = "The recording is not ready."
EXPIRED = "The recording has expired."
NOT_FINAL = "Only a recording that has ended can be deleted."
DELETED = "The recording has been deleted."
PAGE_NUMBER = "Must be a positive integer."

IN_PROGRESS = frozenset(
    {RecordingStatus.INITIATED, RecordingStatus.ACTIVE, RecordingStatus.STOPPED}
)
MEDIA_TYPES = {RecordingMode.SCREEN_RECORDING: "video/mp4", RecordingMode.TRANSCRIPT: "audio/ogg"}


def playback_state(recording: Recording, config: RecordingConfig) -> str:
    """What the recording's page offers: `ready` (the player), else why not:
    `expired`, `in_progress` or `failed`."""
    if recording.is_saved:
        return "expired" if recording.is_expired(config.expiration_days) else "ready"
    return "in_progress" if recording.status in IN_PROGRESS else "failed"


def shown_time(request, moment) -> dict | None:
    """A moment as the pages show it (in the viewer's zone), and as ISO for `<time>`."""
    if moment is None:
        return None
    return {"text": local_moment(request, moment), "iso": moment.isoformat()}


def media_links(request, resource: RecordingResource, config: RecordingConfig) -> dict:
    """Where the player and the download button fetch the recording."""
    recording = resource.recording
    if request.registry.settings["recording.media_front"]:
        src = config.media_url + recording.key(config.output_folder)
        if src.startswith("/"):
            src = request.application_url + src
        download = src
    else:
        src = request.resource_url(resource, "media")
        download = src + "?download=1"
    return {
        "src": src,
        "download": download,
        "filename": media_filename(recording),
        "type": MEDIA_TYPES[recording.mode],
        "kind": "audio" if recording.mode == RecordingMode.TRANSCRIPT else "video",
    }


def _mine(user_id):
    return select(RecordingAccess.recording_id).where(RecordingAccess.user_id == user_id)


def count_recordings(session, user_id) -> int:
    """How many recordings the user holds a role on."""
    query = select(func.count()).select_from(Recording).where(Recording.id.in_(_mine(user_id)))
    return session.scalar(query)


def recordings_page(session, user_id, page: int, size: int) -> list[Recording]:
    """One page of the user's recordings, newest first."""
    return list(
        session.scalars(
            select(Recording)
            .where(Recording.id.in_(_mine(user_id)))
            .options(selectinload(Recording.room), selectinload(Recording.accesses))
            .order_by(Recording.created_at.desc(), Recording.id)
            .limit(size)
            .offset((page - 1) * size)
        )
    )


def requested_page(value: str | None) -> int:
    """The page number a query or a form names (1 when it names none)."""
    try:
        page = int(value or 1)
        if page < 1:
            raise ValueError
    except ValueError:
        raise ValidationError({"page": PAGE_NUMBER}) from None
    return page


def shown_duration(seconds: int | None) -> str:
    """A length as h:mm:ss or m:ss (the same in every language); '' when unknown."""
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


class RecordingView:
    """Values shared by the list and the recording page."""

    def __init__(self, context, request):
        self.context, self.request = context, request
        self.config: RecordingConfig = request.service(RecordingConfig)

    def facts(self, resource: RecordingResource) -> dict:
        recording, config, request = resource.recording, self.config, self.request
        may_view = request.has_permission(Permission.RECORDING_VIEW, resource)
        return {
            "recording": recording,
            "room": recording.room,
            "path": request.resource_path(resource).rstrip("/"),
            "delete_path": request.resource_path(resource, "delete"),
            "created": shown_time(request, recording.created_at),
            "expires": shown_time(request, recording.expired_at(config.expiration_days)),
            "is_expired": recording.is_expired(config.expiration_days),
            "duration": shown_duration(recording.duration_seconds),
            "status": str(recording.status),
            "state": playback_state(recording, config),
            "may_view": may_view,
            "may_delete": recording.is_final
            and request.has_permission(Permission.RECORDING_DELETE, resource),
        }


@view_defaults(context=RecordingContainer, renderer="recordings/list.jinja2")
class RecordingListPage(RecordingView):
    def page_count(self) -> int:
        count = count_recordings(self.request.dbsession, self.request.identity.user_id)
        return max(1, ceil(count / self.config.page_size))

    def values(self, page: int, **extra) -> dict:
        """The list's page `page` (past the last one, a 404)."""
        request, size = self.request, self.config.page_size
        values = {"enabled": self.config.enabled, "rows": [], "page": 1, "pages": 1}
        values.update(list_path=request.resource_path(self.context), message=None, error=None)
        if self.config.enabled:
            pages = self.page_count()
            if page > pages:
                raise ValidationError({"page": "Invalid page."}, "Invalid page.", status=404)
            user_id = request.identity.user_id
            recordings = recordings_page(request.dbsession, user_id, page, size)
            rows = [self.facts(RecordingResource(r, self.context)) for r in recordings]
            values.update(rows=rows, page=page, pages=pages)
        values.update(extra)
        vary_on_htmx(request)
        return values

    @view_config(request_method="GET", permission=Permission.AUTHENTICATED)
    def show(self):
        return self.values(requested_page(self.request.GET.get("page")))


@view_defaults(context=RecordingResource)
class RecordingPages(RecordingView):
    def _check_enabled(self) -> None:
        if not self.config.enabled:
            raise HTTPNotFound()

    @view_config(
        request_method="GET",
        permission=Permission.RECORDING_VIEW,
        renderer="recordings/recording.jinja2",
    )
    def page(self):
        self._check_enabled()
        facts = self.facts(self.context)
        media = media_links(self.request, self.context, self.config)
        return {**facts, "media": media if facts["state"] == "ready" else None}

    @view_config(name="media", request_method="GET", permission=Permission.RECORDING_VIEW)
    def media(self):
        """The recording's bytes (GET and HEAD, with ranges), as media-auth would allow."""
        self._check_enabled()
        recording = self.context.recording
        if not recording.is_saved:
            raise Refused(NOT_READY)
        if recording.is_expired(self.config.expiration_days):
            raise HTTPGone(EXPIRED)
        return stream_object(
            self.request,
            self.request.service(RecordingStorage),
            recording.key(self.config.output_folder),
            filename=media_filename(recording),
            content_type=MEDIA_TYPES[recording.mode],
        )

    @view_config(name="delete", request_method="POST", permission=Permission.RECORDING_DELETE)
    @view_config(
        name="delete",
        request_method="POST",
        permission=Permission.RECORDING_DELETE,
        header="HX-Request",
        renderer="recordings/_list.jinja2",
    )
    def delete(self):
        self._check_enabled()
        request = self.request
        listing = RecordingListPage(self.context.__parent__, request)
        from_list = "page" in request.POST
        page = page_hint(request.POST.get("page"))
        if not self.context.recording.is_final:
            if not is_htmx(request):
                raise Refused(NOT_FINAL)
            request.response.status = 403
            return listing.values(min(page, listing.page_count()), error=NOT_FINAL)
        # The API's deletion: the row now, the store's object once that is committed.
        RecordingApi(self.context, request).delete()
        page = min(page, listing.page_count())
        list_url = request.resource_url(listing.context)
        if not is_htmx(request):
            request.session.flash(DELETED)
            return HTTPSeeOther(location=list_url + (f"?page={page}" if page > 1 else ""))
        if not from_list:
            # From the recording's own page, which is gone: show the list instead.
            request.session.flash(DELETED)
            return Response(status=200, headers={"HX-Redirect": list_url})
        return listing.values(page, message=DELETED)


def page_hint(value: str | None) -> int:
    """The list page a form came from, to return to (1 when it names none)."""
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


@exception_view_config(RangeNotSatisfiable, renderer="json")
def range_not_satisfiable(exc: RangeNotSatisfiable, request):
    """416, with the size the range missed (RFC 9110 §15.5.17), for every stream."""
    request.response.headers["Content-Range"] = f"bytes */{exc.size}"
    request.response.headers["Accept-Ranges"] = "bytes"
    if is_api(request):
        return api_error(request, 416, exc.detail)
    return page_error(request, 416, "Range Not Satisfiable", exc.detail)

"""`/admin/recordings/`: every recording, filtered by status, mode, room and owner's
email, newest first; and the reference's two repairs: mail the owners again, and mark a
recording stuck in a running status `failed_to_stop` (after a confirmation), which
frees its room for a new recording.

With `recording.enabled` off the list still shows what was recorded before, and says so.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config, view_defaults
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import selectinload

from ...db import after_commit
from ...models import Recording, RecordingAccess, RecordingStatus, Role, Room, User
from ...models.enums import RecordingMode
from ...models.recording import SAVED_STATUSES
from ...recording import Recordings
from ...recording.lifecycle import RUNNING, sessions_like
from ...resources.admin import AdminRecording, RecordingsSection
from ...security.permissions import Permission
from ...services import audit
from ...services.errors import Conflict
from ...validation import ValidationError
from ..pages.common import vary_on_htmx
from . import (
    ListQuery,
    contains,
    list_view,
    paginate,
    read_list_query,
    refuse_without_confirmation,
)

FILTERS = {
    "status": tuple(status.value for status in RecordingStatus),
    "mode": tuple(mode.value for mode in RecordingMode),
}
TEXT_FILTERS = ("room", "owner")
MAX_TEXT = 100
SORTS = {"-created": Recording.created_at.desc(), "created": Recording.created_at.asc()}
DEFAULT_SORT = "-created"

NOT_SAVED = "Only a saved recording has a notification to send."
NOT_RUNNING = "Only a recording that is still running can be marked as failed to stop."
NO_LINK_BASE = "Set app.base_url or recording.download_base_url: the mail links to the recording."
RESENDING = (
    "The owners are being mailed again; if the mail fails, meet-web-resend-notifications"
    " tries again."
)
MARKED = "The recording was marked as failed to stop; its room may record again."


def read_recordings_query(request) -> ListQuery:
    """The list's filters: status and mode among their values, room and owner texts."""
    errors, texts = {}, {}
    for name in TEXT_FILTERS:
        value = request.GET.get(name, "").strip()
        if len(value) > MAX_TEXT or "\x00" in value:
            errors[name] = f"Ensure this field has no more than {MAX_TEXT} characters."
        texts[name] = value
    try:
        listing = read_list_query(request, filters=FILTERS, sorts=SORTS, default_sort=DEFAULT_SORT)
    except ValidationError as exc:
        raise ValidationError({**errors, **exc.fields}) from None
    if errors:
        raise ValidationError(errors)
    return ListQuery(
        q="", filters={**listing.filters, **texts}, sort=listing.sort, page=listing.page
    )


def _owned_by(text: str):
    return exists().where(
        RecordingAccess.recording_id == Recording.id,
        RecordingAccess.role == Role.OWNER,
        RecordingAccess.user_id == User.id,
        contains(User.email, text),
    )


def _in_room(text: str):
    return exists().where(
        Room.id == Recording.room_id, or_(contains(Room.name, text), contains(Room.slug, text))
    )


def recordings_query(listing: ListQuery):
    filters = listing.filters
    query = select(Recording).options(
        selectinload(Recording.room),
        selectinload(Recording.accesses).selectinload(RecordingAccess.user),
    )
    if filters["status"]:
        query = query.where(Recording.status == RecordingStatus(filters["status"]))
    if filters["mode"]:
        query = query.where(Recording.mode == RecordingMode(filters["mode"]))
    if filters["room"]:
        query = query.where(_in_room(filters["room"]))
    if filters["owner"]:
        query = query.where(_owned_by(filters["owner"]))
    return query.order_by(SORTS[listing.sort], Recording.id)


def owners_of(recording: Recording) -> list[str]:
    return sorted(a.user.email or "" for a in recording.accesses if a.role == Role.OWNER)


@list_view(RecordingsSection, "admin/recordings.jinja2", "admin/recordings_results.jinja2")
def recording_list(context, request):
    listing = read_recordings_query(request)
    rows, pages, total = paginate(request.dbsession, recordings_query(listing), listing.page)
    vary_on_htmx(request, target=True)
    return {
        "recordings": [row[0] for row in rows],
        "listing": listing,
        "pages": pages,
        "total": total,
        "statuses": FILTERS["status"],
        "modes": FILTERS["mode"],
        "enabled": request.service(Recordings).config.enabled,
        "owners_of": owners_of,
        "resendable": SAVED_STATUSES,
        "running": RUNNING,
    }


@view_defaults(context=AdminRecording, permission=Permission.ADMIN)
class RecordingAdmin:
    def __init__(self, context: AdminRecording, request):
        self.context, self.request = context, request
        self.recording = context.recording

    def _done(self, message: str) -> HTTPSeeOther:
        self.request.session.flash(message)
        back = self.request.POST.get("back", "")
        # Back to the list as it was filtered: only a query string of this list.
        location = self.request.resource_url(self.context.__parent__)
        if back.startswith("?") and "\\" not in back and "\n" not in back:
            location += back
        return HTTPSeeOther(location=location)

    @view_config(name="resend-notification", request_method="POST")
    def resend_notification(self):
        recording = self.recording
        if recording.status not in SAVED_STATUSES:
            raise Conflict(NOT_SAVED)
        recordings = self.request.service(Recordings)
        link_base = recordings.link_base(self.request)
        if link_base is None:
            raise Conflict(NO_LINK_BASE)
        was_notified = recording.notified_at
        recording.notified_at = None  # owed again: the cron retries a failed mail
        audit.record(
            self.request,
            audit.RECORDING_RESEND_NOTIFICATION,
            target_type="recording",
            target_id=recording.id,
            changes={"room": recording.room_id, "notified_before": was_notified is not None},
        )
        sessions = sessions_like(self.request)
        after_commit(self.request, recordings.resend, sessions, recording.id, link_base)
        return self._done(RESENDING)

    @view_config(
        name="mark-failed-to-stop",
        request_method="GET",
        renderer="admin/recordings_confirm.jinja2",
    )
    def confirm_mark_failed_to_stop(self):
        if self.recording.status not in RUNNING:
            raise Conflict(NOT_RUNNING)
        return {"recording": self.recording, "back": self.request.GET.get("back", "")}

    @view_config(name="mark-failed-to-stop", request_method="POST")
    def mark_failed_to_stop(self):
        refuse_without_confirmation(self.request)
        recording = self.recording
        if recording.status not in RUNNING:
            raise Conflict(NOT_RUNNING)
        before = recording.status
        recording.status = RecordingStatus.FAILED_TO_STOP
        audit.record(
            self.request,
            audit.RECORDING_MARK_FAILED_TO_STOP,
            target_type="recording",
            target_id=recording.id,
            changes={"room": recording.room_id, "from": before},
        )
        return self._done(MARKED)

"""`/admin/audit/`: the audit log, filtered by actor, action, target and dates, newest
first, a page at a time; `/admin/audit/export.csv` streams the filtered rows."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from pyramid.response import Response
from pyramid.view import view_config, view_defaults
from sqlalchemy import and_, func, or_, select

from ...models.audit import AuditEvent
from ...recording.lifecycle import sessions_like
from ...resources.admin import AuditSection
from ...security.permissions import Permission
from ...services import audit
from ...validation import MISSING, Fields, ValidationError
from ..pages.common import field_messages, is_htmx, vary_on_htmx

PAGE_SIZE = 50
EXPORT_BATCH = 500
FILTERS = ("actor", "action", "target_type", "target_id", "since", "until")
TARGET_TYPES = ("user", "room", "access", "participant", "recording", "application")

NOT_A_DATE = "Enter a date as YYYY-MM-DD."
ENDS_BEFORE_START = "The end date is before the start date."
NOT_A_PAGE = "Not a valid page number."

CSV_COLUMNS = (
    "created_at",
    "actor",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "client_ip",
    "request_id",
    "changes",
)
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_query(cls, params) -> AuditFilter:
        """The filter the query string names; empty fields filter nothing."""
        data = {name: params[name] for name in FILTERS if params.get(name, "").strip()}
        fields = Fields(data)
        texts = {
            "actor": fields.string("actor", max_length=320),
            "action": fields.string("action", max_length=64),
            "target_type": fields.string("target_type", max_length=32),
            "target_id": fields.string("target_id", max_length=64),
        }
        since, until = _day(fields, "since"), _day(fields, "until")
        if since and until and until < since:
            fields.errors["until"] = ENDS_BEFORE_START
        fields.check()
        given = {name: value for name, value in texts.items() if value is not MISSING}
        return cls(**given, since=since, until=until)

    def conditions(self) -> list:
        found = []
        if self.actor:
            found.append(
                func.lower(AuditEvent.actor_label).contains(self.actor.lower(), autoescape=True)
            )
        if self.action.endswith("."):  # every action on a kind of target: "room."
            found.append(AuditEvent.action.startswith(self.action, autoescape=True))
        elif self.action:
            found.append(AuditEvent.action == self.action)
        if self.target_type:
            found.append(AuditEvent.target_type == self.target_type)
        if self.target_id:
            found.append(AuditEvent.target_id == self.target_id)
        if self.since:
            found.append(AuditEvent.created_at >= _start_of(self.since))
        if self.until:
            found.append(AuditEvent.created_at < _start_of(self.until + timedelta(days=1)))
        return found

    def query_string(self, **extra) -> str:
        values = {name: getattr(self, name) for name in FILTERS}
        values = {k: str(v) for k, v in {**values, **extra}.items() if v}
        return urlencode(values)


def _day(fields: Fields, name: str) -> date | None:
    value = fields.string(name, max_length=10)
    if value is MISSING:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fields.errors[name] = NOT_A_DATE
        return None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _page_number(params) -> int:
    try:
        page = int(params.get("page") or 1)
        if page < 1:
            raise ValueError
    except ValueError:
        raise ValidationError({"page": NOT_A_PAGE}) from None
    return page


NEWEST_FIRST = (AuditEvent.created_at.desc(), AuditEvent.id.desc())


def _shown(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_shown(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + changes_text(value) + "}"
    return "—" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def changes_text(changes: dict) -> str:
    """The summary of changes for people: `name: Calendar; scopes: [rooms:list]`."""
    return "; ".join(f"{key}: {_shown(value)}" for key, value in (changes or {}).items())


@view_defaults(context=AuditSection, permission=Permission.ADMIN)
class AuditViews:
    def __init__(self, context, request):
        self.context, self.request = context, request

    @view_config(request_method="GET", renderer="admin/audit.jinja2")
    # The results alone only when htmx swaps them (filters, pages): another htmx request
    # for the address (a boosted link, say) gets the whole page, as the other lists do.
    @view_config(
        request_method="GET",
        header="HX-Target:^audit-results$",
        renderer="admin/audit_results.jinja2",
    )
    def list(self):
        request = self.request
        vary_on_htmx(request, target=True)
        try:
            page = _page_number(request.GET)
            wanted = AuditFilter.from_query(request.GET)
        except ValidationError as exc:
            request.response.status = 400
            return self._values(AuditFilter(), errors=field_messages(exc))
        db = request.dbsession
        conditions = wanted.conditions()
        count = db.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
        pages = max(1, -(-count // PAGE_SIZE))
        page = min(page, pages)
        rows = db.scalars(
            select(AuditEvent)
            .where(*conditions)
            .order_by(*NEWEST_FIRST)
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        ).all()
        return self._values(wanted, events=rows, count=count, page=page, pages=pages)

    def _values(self, wanted: AuditFilter, **extra) -> dict:
        values = {
            "filter": wanted,
            "form": {name: self.request.GET.get(name, "") for name in FILTERS},
            "errors": {},
            "events": [],
            "count": 0,
            "page": 1,
            "pages": 1,
            "actions": audit.ACTIONS,
            "target_types": TARGET_TYPES,
            "changes_text": changes_text,
            "list_path": self.request.application_url + "/admin/audit/",
        }
        return {**values, **extra, "htmx": is_htmx(self.request)}

    # The renderer answers bad filters (the page, with their errors); the CSV is a response.
    @view_config(name="export.csv", request_method="GET", renderer="admin/audit.jinja2")
    def export(self):
        request = self.request
        try:
            wanted = AuditFilter.from_query(request.GET)
        except ValidationError as exc:
            request.response.status = 400
            return self._values(AuditFilter(), errors=field_messages(exc))
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return Response(
            content_type="text/csv",
            charset="utf-8",
            content_disposition=f'attachment; filename="audit-{stamp}.csv"',
            cache_control="no-store",
            app_iter=csv_lines(sessions_like(request), wanted.conditions()),
        )


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_row(values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(v) for v in values])
    return buffer.getvalue()


def csv_lines(new_session, conditions):
    """The CSV, read in batches newest first on a session of its own: the request's
    transaction has ended by the time the body is sent."""
    yield csv_row(CSV_COLUMNS).encode("utf-8")
    session = new_session()
    try:
        after = None
        while True:
            query = select(AuditEvent).where(*conditions)
            if after is not None:
                created, row_id = after
                query = query.where(
                    or_(
                        AuditEvent.created_at < created,
                        and_(AuditEvent.created_at == created, AuditEvent.id < row_id),
                    )
                )
            batch = session.scalars(query.order_by(*NEWEST_FIRST).limit(EXPORT_BATCH)).all()
            for event in batch:
                yield csv_row(
                    (
                        event.created_at.isoformat(),
                        event.actor_label,
                        event.actor_id,
                        event.action,
                        event.target_type,
                        event.target_id,
                        event.client_ip,
                        event.request_id,
                        json.dumps(event.changes or {}, sort_keys=True, ensure_ascii=False),
                    )
                ).encode("utf-8")
            if len(batch) < EXPORT_BATCH:
                return
            after = (batch[-1].created_at, batch[-1].id)
    finally:
        session.close()

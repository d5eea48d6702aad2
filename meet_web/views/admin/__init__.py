"""The admin pages (`/admin/`, resources/admin.py): one module per section.

The admin layout asks `admin_frame(request)` for the sections' navigation and the
segment of the section the page belongs to ("" on the overview).
The sections' lists share the helpers below: the query string read strictly (a bad
filter, sort or page is a 400 page), pages, and a case-insensitive literal search.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyramid.location import lineage
from pyramid.view import view_config
from sqlalchemy import func, select

from ...resources.admin import ADMIN_NAV, AdminRoot
from ...security.permissions import Permission
from ...templating import template_global
from ...validation import ValidationError


def admin_section_of(context) -> str | None:
    """The segment of the admin section `context` lies in; "" for the admin root, None
    outside the admin subtree."""
    below = None
    for node in lineage(context):
        if isinstance(node, AdminRoot):
            return below.__name__ if below is not None else ""
        below = node
    return None


@template_global("admin_frame")
def admin_frame(request) -> tuple:
    """The sections' navigation and the segment of the one the page belongs to, for the
    admin layout. A template global rather than a BeforeRender subscriber: with any
    subscriber registered, Pyramid notifies its events on every request of the site."""
    context = getattr(request, "context", None)
    section = admin_section_of(context) if context is not None else None
    return ADMIN_NAV, section or ""


# -- lists: search, filters, sort and pages from the query string ---------------------

PAGE_SIZE = 25
# htmx asks for a list's results only (search as you type, sort, pages): the partial.
RESULTS_FRAGMENT = "HX-Target:^admin-results$"


def list_view(context, page: str, results: str):
    """A section's list: the whole page, or only its results when htmx asks for them
    (search as you type, sort, pages), from the same view."""

    def register(view):
        for renderer, predicates in ((page, {}), (results, {"header": RESULTS_FRAGMENT})):
            view = view_config(
                context=context,
                request_method="GET",
                permission=Permission.ADMIN,
                renderer=renderer,
                _depth=1,  # venusian: the module that applies list_view, not this one
                **predicates,
            )(view)
        return view

    return register


MAX_QUERY = 100
BAD_VALUE = '"{}" is not a valid choice.'


@dataclass(frozen=True)
class ListQuery:
    """What a section's list shows, as the query string asks: bad values are a 400."""

    q: str
    filters: dict[str, str]
    sort: str
    page: int

    def params(self, **changes) -> dict[str, str]:
        """The query string of this list with some values changed (links to pages, sorts)."""
        values = {"q": self.q, **self.filters, "sort": self.sort, "page": str(self.page)}
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v not in ("", None)}


def read_list_query(request, *, filters: dict[str, tuple[str, ...]], sorts, default_sort):
    """The list's search text, filters (each one of its choices or ""), sort and page."""
    params = request.GET
    errors = {}
    q = params.get("q", "").strip()
    if len(q) > MAX_QUERY or "\x00" in q:
        errors["q"] = f"Ensure this field has no more than {MAX_QUERY} characters."
    chosen = {}
    for name, choices in filters.items():
        value = params.get(name, "")
        if value and value not in choices:
            errors[name] = BAD_VALUE.format(value)
        chosen[name] = value
    sort = params.get("sort", "") or default_sort
    if sort not in sorts:
        errors["sort"] = BAD_VALUE.format(sort)
    page = params.get("page", "1") or "1"
    if not page.isdigit() or int(page) < 1:
        errors["page"] = "A valid integer is required."
    if errors:
        raise ValidationError(errors)
    return ListQuery(q=q, filters=chosen, sort=sort, page=int(page))


def paginate(db, query, page: int, size: int = PAGE_SIZE) -> tuple[list, int, int]:
    """One page of `query`'s rows and the number of pages and rows (a page past the last: 404)."""
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-total // size))
    if page > pages:
        raise ValidationError({"page": "Invalid page."}, "Invalid page.", status=404)
    rows = db.execute(query.limit(size).offset((page - 1) * size)).all()
    return rows, pages, total


def is_results_fragment(request) -> bool:
    return request.headers.get("HX-Target") == "admin-results"


def contains(column, text: str):
    return func.lower(column).contains(text.lower(), autoescape=True)


def refuse_without_confirmation(request) -> None:
    """Destructive steps post `confirm=yes` from their confirmation page."""
    if request.POST.get("confirm") != "yes":
        raise ValidationError({"confirm": "Please confirm this action."})

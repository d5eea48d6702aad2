"""`/admin/dashboard/`: usage over a range of days, as charts and tables.

The range is `?days=7|30|90` (the default: 30) or `?from=YYYY-MM-DD&to=YYYY-MM-DD`; a
bad one answers 400 with the form and its messages. The charts are the daily roll-ups
(stats/rollup.py), read for the days shown only; who took part sums the meetings
started in the range.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pyramid.view import view_config

from ...resources.admin import DashboardSection
from ...security.permissions import Permission
from ...stats.charts import bar_chart
from ...stats.report import PRESETS, attendance, read_range, usage_series
from ...validation import ValidationError


@view_config(
    context=DashboardSection,
    request_method="GET",
    permission=Permission.ADMIN,
    renderer="admin/dashboard.jinja2",
)
def dashboard(context, request):
    today = datetime.now(UTC).date()
    chosen = {name: request.GET.get(name, "") for name in ("days", "from", "to")}
    try:
        day_range = read_range(request.GET, today)
    except ValidationError as exc:
        request.response.status = 400
        return {"presets": PRESETS, "chosen": chosen, "errors": exc.fields, "charts": []}
    chosen = {"from": day_range.first.isoformat(), "to": day_range.last.isoformat()}
    charts = [
        {"series": series, "chart": bar_chart(series, f"chart-{series.key}")}
        for series in usage_series(request.dbsession, day_range, today)
    ]
    return {
        "presets": PRESETS,
        "chosen": chosen,
        "errors": {},
        "range": day_range,
        "charts": charts,
        "attendance": attendance(request.dbsession, day_range),
    }

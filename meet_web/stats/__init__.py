"""Usage statistics: meetings from LiveKit's webhooks, daily roll-ups, the dashboard's
figures and charts.

figures.py   a meeting's and a day's figures from presence intervals (pure)
meetings.py  the webhook handlers writing meetings and their participants
rollup.py    meeting figures and UsageDay rows recomputed from the rows
report.py    the dashboard's range and its series, read from UsageDay
charts.py    small SVG bar charts (no script, no inline style: the site's CSP holds)
upsert.py    INSERT … ON CONFLICT on PostgreSQL and SQLite
"""

from __future__ import annotations


def includeme(config):
    from ..services.webhooks import WebhookRouter
    from . import meetings

    router = config.registry["meet_services"][WebhookRouter]
    router.register("room_started", meetings.on_room_started)
    router.register("room_finished", meetings.on_room_finished)
    router.register("participant_joined", meetings.on_participant)
    router.register("participant_left", meetings.on_participant)

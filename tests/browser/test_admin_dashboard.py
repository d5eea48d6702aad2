"""An operator opens the usage dashboard and sees, charted, the meetings that LiveKit's
webhooks reported (signed and posted to the served app, as LiveKit does), under the
site's Content-Security-Policy."""

from __future__ import annotations

import os
from datetime import UTC, datetime, time, timedelta

import requests
from playwright.sync_api import expect

from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import check
from tests.browser.test_content_security_policy import RECORD_VIOLATIONS, violations
from tests.functional.test_usage_statistics import WEBHOOK, standup

SCREENSHOTS = os.environ.get("MEET_TEST_SCREENSHOTS")  # a folder, to look at the page


def test_an_operator_sees_the_meetings_charted(browser, live_server, livekit, capsys):
    with live_server.dbsession() as db:
        operator = User(sub="otto", email="otto@example.org", is_operator=True)
        room = Room(name="Charted", slug="charted", access_level=AccessLevel.PUBLIC)
        room.accesses.append(ResourceAccess(user=operator, role=Role.OWNER))
        db.add(room)
        db.commit()
        room_id = str(room.id)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    start = int(datetime.combine(yesterday, time(8), tzinfo=UTC).timestamp())
    for n in range(3):
        for ev in standup(room_id, f"RM_browser_{n}", start + n * 7200):
            body, headers = livekit.webhook_request(ev)
            answer = requests.post(
                live_server.url + WEBHOOK, data=body, headers=headers, timeout=10
            )
            assert answer.status_code == 200, answer.text

    context = browser.new_context(base_url=live_server.url)
    context.add_init_script(RECORD_VIOLATIONS)
    try:
        page = context.new_page()
        sign_in(page, "otto")
        page.goto("/admin/")
        page.get_by_role("navigation", name="Administration").get_by_role(
            "link", name="Usage"
        ).click()
        page.get_by_role("link", name="Last 7 days").click()
        chart = page.get_by_role("img", name="Meetings per day")
        expect(chart).to_be_visible()
        bars = chart.locator("rect.usage-bar")
        expect(bars).to_have_count(7)
        # yesterday is the sixth bar: the highest, and the table beside it says 3
        heights = [float(bars.nth(i).get_attribute("height")) for i in range(7)]
        assert heights[5] > 0 and heights[5] == max(heights)
        assert [h for i, h in enumerate(heights) if i != 5 and h > 0] == []
        table = page.get_by_role("table", name="Meetings per day")
        row = table.get_by_role("row", name=yesterday.isoformat())
        expect(row.get_by_role("cell")).to_have_text("3")
        if SCREENSHOTS:
            page.screenshot(path=f"{SCREENSHOTS}/admin-dashboard.png", full_page=True)
        assert violations(page) == []
        check(page, "admin dashboard", "en", capsys)
    finally:
        context.close()

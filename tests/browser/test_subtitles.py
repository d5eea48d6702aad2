"""Live subtitles on the meeting page: a participant starts them (the real app
dispatches the agent in the LiveKit fake), and the segments the agent publishes on
LiveKit's transcription text streams appear as captions, attributed to the speaker."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_meeting_page import ANA, Meeting, js_errors, screenshot

TOPIC = "lk.transcription"


@pytest.fixture
def subtitles_on(live_server, monkeypatch):
    monkeypatch.setitem(live_server.app.registry.settings, "subtitles.enabled", True)


@pytest.fixture
def meeting(page, live_server):
    return Meeting(page, live_server)


def segment(segment_id: str, track: str, final: bool) -> dict:
    return {
        "lk.segment_id": segment_id,
        "lk.transcribed_track_id": track,
        "lk.transcription_final": "true" if final else "false",
    }


def test_a_participant_starts_subtitles_and_sees_captions(subtitles_on, meeting, page, livekit):
    errors = js_errors(page)
    meeting.open(as_guest="Gus")
    button = page.get_by_role("button", name="Start subtitles")
    expect(button).to_be_enabled()
    button.click()
    expect(page.locator('[data-action="subtitles"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator('[data-action="subtitles"]')).to_have_text("Subtitles on")
    [dispatch] = livekit.agent_dispatches(meeting.room_id)
    assert dispatch.agent_name == "multi-user-transcriber"

    meeting.stand_in("addParticipant", ANA)
    captions = page.locator("#caption-list .caption")
    # an interim segment, then its final text: one line, refined in place
    sent = meeting.stand_in(
        "sendText", "agent-1", TOPIC, "Hello every", segment("SG_1", "TR_ana_mic", False)
    )
    assert sent is True
    expect(captions).to_have_count(1)
    expect(captions.first.locator(".caption-speaker")).to_have_text("Ana Lima")
    expect(captions.first.locator(".caption-text")).to_have_text("Hello every")
    meeting.stand_in(
        "sendText", "agent-1", TOPIC, "Hello everyone.", segment("SG_1", "TR_ana_mic", True)
    )
    expect(captions.first.locator(".caption-text")).to_have_text("Hello everyone.")
    expect(captions.first).to_have_class("caption is-final")
    expect(captions).to_have_count(1)
    # a stream sent as the speaker (no track attribute) is attributed to its sender
    meeting.stand_in("sendText", "ana", TOPIC, "Next point.", {"lk.segment_id": "SG_2"})
    expect(captions).to_have_count(2)
    expect(captions.nth(1).locator(".caption-speaker")).to_have_text("Ana Lima")
    expect(page.locator("#caption-list")).to_have_attribute("aria-live", "polite")
    screenshot(page, "subtitles")
    assert errors == []


def test_no_subtitles_control_when_disabled(meeting, page):
    errors = js_errors(page)
    meeting.open()
    expect(page.locator('[data-action="subtitles"]')).to_have_count(0)
    expect(page.locator("#captions")).to_have_count(0)
    assert errors == []


def test_a_failed_start_says_so_and_can_be_retried(subtitles_on, meeting, page, livekit):
    errors = js_errors(page)
    meeting.open(as_guest="Gus")
    livekit.fail("CreateDispatch", "internal")
    button = page.locator('[data-action="subtitles"]')
    button.click()
    expect(page.locator("#meeting-notice [data-notice-text]")).to_have_text(
        "Subtitles could not be started. Try again."
    )
    expect(button).to_have_text("Start subtitles")
    expect(button).to_have_attribute("aria-pressed", "false")
    assert livekit.agent_dispatches(meeting.room_id) == []
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    assert len(livekit.agent_dispatches(meeting.room_id)) == 1
    assert errors == []

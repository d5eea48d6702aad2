import json
import re

import pytest
from livekit import api

from meet_web.models import AccessLevel
from tests.conftest import ACTORS


def meeting_config(page) -> dict:
    match = re.search(
        r'<script type="application/json" id="meeting-config">(.*?)</script>', page.text, re.S
    )
    return json.loads(match.group(1))


@pytest.fixture
def restricted(cast, dbsession):
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    return cast


def test_guest_waits_is_admitted_then_gets_the_meeting(testapp, new_testapp, restricted, livekit):
    guest = new_testapp()
    wait = guest.get("/team-room/meeting", params={"username": "Gina"})
    assert 'data-lobby-status="waiting"' in wait.text
    identity = guest.cookies["lobbyParticipantId"]

    testapp.login_as(restricted.owner)
    panel = testapp.get("/team-room/lobby", headers={"HX-Request": "true"})
    assert "Gina" in panel.text
    testapp.post(
        "/team-room/lobby",
        {"participant_id": identity, "allow_entry": "true"},
        headers={"HX-Request": "true"},
    )

    poll = guest.post("/team-room/knock", {"username": "Gina"}, headers={"HX-Request": "true"})
    assert poll.headers["HX-Redirect"].endswith("/team-room/meeting?username=Gina")
    page = guest.get("/team-room/meeting", params={"username": "Gina"})
    config = meeting_config(page)
    claims = api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(config["token"])
    assert claims.identity == identity
    assert claims.name == "Gina"
    assert claims.video.room == str(restricted.room.id)
    assert config["isManager"] is False


def test_denied_guest_is_told_and_may_ask_again(testapp, new_testapp, restricted):
    guest = new_testapp()
    guest.get("/team-room/meeting", params={"username": "Gina"})
    identity = guest.cookies["lobbyParticipantId"]
    testapp.login_as(restricted.owner)
    testapp.post("/team-room/lobby", {"participant_id": identity, "allow_entry": "false"})
    poll = guest.post("/team-room/knock", {"username": "Gina"})
    assert 'data-lobby-status="denied"' in poll.text


def test_deciding_on_someone_gone_says_so(testapp, restricted):
    testapp.login_as(restricted.owner)
    res = testapp.post(
        "/team-room/lobby", {"participant_id": "nobody", "allow_entry": "true"}, status=409
    )
    assert "no longer waiting" in res.text


MEETING_PAGE = {
    "anonymous": "wait",
    "stranger": "wait",
    "member": "meeting",
    "administrator": "meeting",
    "owner": "meeting",
    "operator": "wait",
}


@pytest.mark.parametrize("actor", ACTORS)
def test_meeting_page_matrix(testapp, restricted, actor):
    testapp.login_as(restricted[actor])
    page = testapp.get("/team-room/meeting", status=200)
    shown = "meeting" if 'id="meeting-config"' in page.text else "wait"
    assert shown == MEETING_PAGE[actor]


LOBBY_PANEL = {
    "anonymous": 303,
    "stranger": 403,
    "member": 403,
    "administrator": 200,
    "owner": 200,
    "operator": 403,
}
LOBBY_DECIDE = {
    "anonymous": 403,
    "stranger": 403,
    "member": 403,
    "administrator": 409,
    "owner": 409,
    "operator": 403,
}
KNOCK = dict.fromkeys(ACTORS, 200)


@pytest.mark.parametrize("actor", ACTORS)
def test_lobby_panel_matrix(testapp, restricted, actor):
    testapp.login_as(restricted[actor])
    testapp.get("/team-room/lobby", status=LOBBY_PANEL[actor])
    testapp.post(
        "/team-room/lobby",
        {"participant_id": "x", "allow_entry": "true"},
        status=LOBBY_DECIDE[actor],
    )
    testapp.post("/team-room/knock", {"username": "X"}, status=KNOCK[actor])


def test_signed_out_htmx_request_is_sent_to_login_as_a_whole_page(testapp, restricted):
    res = testapp.get(
        "/team-room/lobby",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/team-room/meeting"},
        status=401,
    )
    assert res.headers["HX-Redirect"] == ("/api/v1.0/authenticate/?returnTo=%2Fteam-room%2Fmeeting")


def test_the_meeting_page_carries_the_texts_of_its_scripts(testapp, cast):
    testapp.login_as(cast.owner)
    page = testapp.get("/team-room/meeting")
    match = re.search(
        r'<script type="application/json" id="meeting-texts">(.*?)</script>', page.text, re.S
    )
    texts = json.loads(match.group(1))
    assert texts["raiseHand"] == "Raise hand"
    assert texts["removed"].startswith("An administrator removed you")
    assert meeting_config(page)["isManager"] is True


def test_admit_all_lets_every_waiting_guest_in(testapp, new_testapp, restricted):
    guests = [new_testapp() for _ in range(3)]
    for number, guest in enumerate(guests):
        guest.get("/team-room/meeting", params={"username": f"Guest {number}"})
    testapp.login_as(restricted.owner)
    panel = testapp.get("/team-room/lobby", headers={"HX-Request": "true"})
    assert "Admit all (3)" in panel.text
    answer = testapp.post("/team-room/lobby", {"admit_all": "true"}, headers={"HX-Request": "true"})
    assert "Nobody is waiting." in answer.text
    for number, guest in enumerate(guests):
        poll = guest.post("/team-room/knock", {"username": f"Guest {number}"})
        assert poll.headers["HX-Redirect"].endswith(f"/team-room/meeting?username=Guest+{number}")


def test_admit_all_with_nobody_waiting_changes_nothing(testapp, restricted):
    testapp.login_as(restricted.owner)
    answer = testapp.post("/team-room/lobby", {"admit_all": "true"})
    assert "Nobody is waiting." in answer.text


@pytest.mark.parametrize("actor", ACTORS)
def test_admit_all_is_for_administrators(testapp, new_testapp, restricted, actor):
    guest = new_testapp()
    guest.get("/team-room/meeting", params={"username": "Gina"})
    testapp.login_as(restricted[actor])
    testapp.post("/team-room/lobby", {"admit_all": "true"}, status=LOBBY_PANEL_POST[actor])
    poll = guest.post("/team-room/knock", {"username": "Gina"})
    admitted = "HX-Redirect" in poll.headers
    assert admitted is (LOBBY_PANEL_POST[actor] == 200)


LOBBY_PANEL_POST = {**LOBBY_DECIDE, "administrator": 200, "owner": 200}


def end_meeting_url(room) -> str:
    return f"/api/v1.0/rooms/{room.id}/end-meeting/"


def test_end_meeting_deletes_the_livekit_room(testapp, cast, livekit):
    livekit.add_participant(str(cast.room.id), "someone")
    testapp.login_as(cast.owner)
    res = testapp.post_json(end_meeting_url(cast.room), {})
    assert res.json == {"status": "success"}
    [call] = livekit.calls_to("DeleteRoom")
    assert call.request.room == str(cast.room.id)
    assert livekit.room(str(cast.room.id)) is None


@pytest.mark.parametrize(("fault", "status"), [("internal", 502), ("unavailable", 503)])
def test_end_meeting_when_the_media_server_fails(testapp, cast, livekit, fault, status):
    livekit.add_participant(str(cast.room.id), "someone")
    livekit.fail("DeleteRoom", fault)
    testapp.login_as(cast.owner)
    res = testapp.post_json(end_meeting_url(cast.room), {}, status=status)
    assert set(res.json) == {"error"}
    assert "end meeting" in res.json["error"]
    assert livekit.room(str(cast.room.id)) is not None


def test_end_meeting_when_the_media_server_is_unreachable(testapp, cast, livekit):
    livekit.stop()
    try:
        testapp.login_as(cast.owner)
        res = testapp.post_json(end_meeting_url(cast.room), {}, status=503)
        assert res.json == {"error": "end meeting: media server unreachable"}
    finally:
        livekit.start()


def test_end_meeting_of_a_meeting_not_running(testapp, cast, livekit):
    testapp.login_as(cast.owner)
    res = testapp.post_json(end_meeting_url(cast.room), {}, status=404)
    assert res.json == {"error": "end meeting: not found"}

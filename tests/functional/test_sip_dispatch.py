"""SIP dispatch rules through the LiveKit fake (reference §6): one direct rule per room,
named `SIP_<room id>`, with the room's PIN and no trunks, leading to the room's holding
room; ensured on `room_started`, every rule of the room deleted on `room_finished`.
Ensuring tolerates a concurrent creation; a partial deletion deletes what it can and
answers 500, so that LiveKit retries."""

from __future__ import annotations

import logging
import threading
import time
import uuid

import pytest
from livekit import api

from meet_web.models import AccessLevel
from meet_web.services.lobby import Lobby
from meet_web.telephony.dispatch import DispatchRules
from tests.conftest import app_service, make_room

URL = "/api/v1.0/rooms/webhooks-livekit/"
SUCCESS = {"status": "success"}
ERROR = {"status": "error"}
PIN = "0123456789"


def post(client, livekit, event, *, status=200):
    body, headers = livekit.webhook_request(event)
    return client.post(URL, body, headers=headers, status=status)


def direct(rule: api.SIPDispatchRuleInfo) -> tuple[str, str]:
    target = rule.rule.dispatch_rule_direct
    return target.room_name, target.pin


def add_rule(livekit, name: str, room_name: str, pin: str) -> api.SIPDispatchRuleInfo:
    """A rule put in LiveKit by someone else (another process, the reference, by hand)."""
    return livekit.add_dispatch_rule(name, room_name, pin)


@pytest.fixture
def room(dbsession, user):
    return make_room(dbsession, "Dial Room", user, pin_code=PIN)


@pytest.fixture
def client(telephony_app):
    return telephony_app()


# -- room_started ---------------------------------------------------------------------


def test_room_started_creates_the_rooms_rule(client, livekit, room):
    assert post(client, livekit, livekit.event("room_started", room=str(room.id))).json == SUCCESS
    (rule,) = livekit.dispatch_rules()
    assert rule.name == f"SIP_{room.id}"
    assert direct(rule) == (f"phone-lobby-{room.id}", PIN)
    assert list(rule.trunk_ids) == []  # every inbound trunk
    (create,) = livekit.calls_to("CreateSIPDispatchRule")
    assert create.claims.sip.admin is True


def test_room_started_again_keeps_one_rule(client, livekit, room):
    for _ in range(3):
        post(client, livekit, livekit.event("room_started", room=str(room.id)))
    assert len(livekit.dispatch_rules()) == 1
    assert len(livekit.calls_to("CreateSIPDispatchRule")) == 1
    assert len(livekit.calls_to("ListSIPDispatchRule")) == 3


def test_a_rule_leading_elsewhere_is_replaced(client, livekit, room):
    # the reference's rule leads straight into the meeting, past the lobby
    old = add_rule(livekit, f"SIP_{room.id}", str(room.id), PIN)
    post(client, livekit, livekit.event("room_started", room=str(room.id)))
    (rule,) = livekit.dispatch_rules()
    assert rule.sip_dispatch_rule_id != old.sip_dispatch_rule_id
    assert direct(rule) == (f"phone-lobby-{room.id}", PIN)


def test_a_leftover_rule_holding_the_pin_goes(client, livekit, room):
    gone = uuid.uuid4()  # a room deleted since, whose PIN this room has now
    add_rule(livekit, f"SIP_{gone}", f"phone-lobby-{gone}", PIN)
    other = add_rule(livekit, "Someone else's", "elsewhere", "999")
    post(client, livekit, livekit.event("room_started", room=str(room.id)))
    rules = {r.name: r for r in livekit.dispatch_rules()}
    assert set(rules) == {f"SIP_{room.id}", "Someone else's"}
    assert rules["Someone else's"].sip_dispatch_rule_id == other.sip_dispatch_rule_id


def test_a_concurrent_creation_is_tolerated(client, livekit, room):
    rules = app_service(client.app, DispatchRules)
    # The first ensure's creation is held up in LiveKit; meanwhile a second one (another
    # process) lists no rule and creates it: the first is then refused as conflicting.
    livekit.delay("CreateSIPDispatchRule", 2.0, times=1)
    first: list = []
    worker = threading.Thread(target=lambda: first.append(rules.ensure(room.id, PIN)))
    worker.start()
    deadline = time.monotonic() + 5
    while not livekit.calls_to("CreateSIPDispatchRule") and time.monotonic() < deadline:
        time.sleep(0.01)
    second = rules.ensure(room.id, PIN)
    worker.join(10)
    assert second is not None and first == [None]  # no error: it is there
    assert len(livekit.calls_to("CreateSIPDispatchRule")) == 2
    assert [direct(r) for r in livekit.dispatch_rules()] == [(f"phone-lobby-{room.id}", PIN)]


@pytest.mark.parametrize(
    "name", ["phone-lobby-{id}", "some-unregistered-room", "{other}", "connection-test-x"]
)
def test_other_rooms_make_no_rule(client, livekit, room, name):
    name = name.format(id=room.id, other=uuid.uuid4())
    assert post(client, livekit, livekit.event("room_started", room=name)).json == SUCCESS
    assert livekit.dispatch_rules() == []
    assert livekit.calls_to("CreateSIPDispatchRule") == []


def test_a_room_without_pin_makes_no_rule(client, livekit, dbsession, user):
    bare = make_room(dbsession, "No Pin", user)
    post(client, livekit, livekit.event("room_started", room=str(bare.id)))
    assert livekit.dispatch_rules() == []


def test_no_rules_when_telephony_and_roomkit_are_off(testapp, livekit, room):
    post(testapp, livekit, livekit.event("room_started", room=str(room.id)))
    assert livekit.calls_to("ListSIPDispatchRule") == []


def test_a_sip_failure_is_a_500_and_livekits_retry_is_handled(client, livekit, room, caplog):
    livekit.fail("CreateSIPDispatchRule", "internal")
    event = livekit.event("room_started", room=str(room.id))
    with caplog.at_level(logging.ERROR):
        assert post(client, livekit, event, status=500).json == ERROR
    assert "dispatch rule of room" in caplog.text
    assert livekit.dispatch_rules() == []
    assert post(client, livekit, event).json == SUCCESS  # the same event, again
    assert len(livekit.dispatch_rules()) == 1


def test_livekit_unreachable_is_a_500(client, livekit, room):
    livekit.fail("ListSIPDispatchRule", "unavailable")
    post(client, livekit, livekit.event("room_started", room=str(room.id)), status=500)


# -- room_finished ----------------------------------------------------------------------


def test_room_finished_deletes_every_rule_of_the_room(client, livekit, room, caplog):
    post(client, livekit, livekit.event("room_started", room=str(room.id)))
    add_rule(livekit, f"SIP_{room.id}", f"phone-lobby-{room.id}", "5555")  # a second one
    kept = add_rule(livekit, f"SIP_{uuid.uuid4()}", "phone-lobby-x", "777")
    with caplog.at_level(logging.ERROR):
        assert post(client, livekit, livekit.event("room_finished", room=str(room.id))).json == (
            SUCCESS
        )
    assert f"room {room.id} had 2 dispatch rules" in caplog.text
    assert [r.sip_dispatch_rule_id for r in livekit.dispatch_rules()] == [kept.sip_dispatch_rule_id]


def test_room_finished_with_nothing_to_delete(client, livekit, room):
    assert post(client, livekit, livekit.event("room_finished", room=str(room.id))).json == (
        SUCCESS
    )
    assert livekit.calls_to("DeleteSIPDispatchRule") == []


def test_a_partial_deletion_deletes_what_it_can_and_is_retried(client, livekit, room, caplog):
    first = add_rule(livekit, f"SIP_{room.id}", f"phone-lobby-{room.id}", PIN)
    add_rule(livekit, f"SIP_{room.id}", f"phone-lobby-{room.id}", "4444")
    livekit.fail("DeleteSIPDispatchRule", "internal")  # the first deletion only
    event = livekit.event("room_finished", room=str(room.id))
    with caplog.at_level(logging.ERROR):
        assert post(client, livekit, event, status=500).json == ERROR
    assert f"room {room.id}: 1 dispatch rule(s) deleted, not {first.sip_dispatch_rule_id}" in (
        caplog.text
    )
    assert [r.sip_dispatch_rule_id for r in livekit.dispatch_rules()] == [
        first.sip_dispatch_rule_id
    ]
    assert post(client, livekit, event).json == SUCCESS  # LiveKit's retry
    assert livekit.dispatch_rules() == []


def test_the_rules_of_a_deleted_room_go_too(client, livekit, room, dbsession):
    post(client, livekit, livekit.event("room_started", room=str(room.id)))
    room_id = room.id
    dbsession.delete(room)
    dbsession.flush()
    post(client, livekit, livekit.event("room_finished", room=str(room_id)))
    assert livekit.dispatch_rules() == []


def test_room_finished_still_empties_the_lobby(client, livekit, room, dbsession):
    room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    lobby = app_service(client.app, Lobby)
    guest = str(uuid.uuid4())
    lobby.request_entry(room.id, guest, "Guest", may_skip=False)
    assert [e.id for e in lobby.waiting(room.id)] == [guest]
    post(client, livekit, livekit.event("room_finished", room=str(room.id)))
    assert lobby.waiting(room.id) == []

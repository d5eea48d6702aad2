"""Phone callers obey the room's admission rules (issue 9 item 2; design §8), through the
webhooks and the LiveKit fake: a call entering a room's PIN reaches the room's holding
room (its dispatch rule), and `participant_joined` there decides. A public room's
caller is moved into the meeting; a trusted or restricted room's waits in the same
lobby as web guests, named by their masked number, until an administrator admits
(MoveParticipant into the meeting) or denies (disconnected) them.
"""

from __future__ import annotations

import uuid

import pytest
from livekit import api
from sqlalchemy import delete
from sqlalchemy.orm import Session

from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from meet_web.services.lobby import Lobby
from meet_web.services.lobby_alerts import GuestWaitingAlerts
from meet_web.telephony.callers import masked_number
from tests.conftest import ROOMKIT_TOKEN, app_service, telephony_settings

URL = "/api/v1.0/rooms/webhooks-livekit/"
HTMX = {"HX-Request": "true"}
PIN = "0123456789"
NUMBER = "+33612345642"
MASKED = "+33 6 •• •• •• 42"
CALLER = f"sip_{NUMBER}"


def post(client, livekit, event, *, status=200):
    body, headers = livekit.webhook_request(event)
    return client.post(URL, body, headers=headers, status=status)


def dial(client, livekit, room, number: str = NUMBER, pin: str = PIN):
    """A call from `number` entering `pin`, and LiveKit's word that the caller joined."""
    where, caller = livekit.dial_in(number, pin)
    post(client, livekit, livekit.event("participant_joined", room=where, participant=caller))
    return where, caller


def hang_up(client, livekit, room_name: str, identity: str = CALLER):
    caller = livekit.participant(room_name, identity)
    livekit.remove_participant(room_name, identity)
    post(client, livekit, livekit.event("participant_left", room=room_name, participant=caller))


def holding(room) -> str:
    return f"phone-lobby-{room.id}"


def meeting(room) -> str:
    return str(room.id)


def where_is(livekit, room, identity: str = CALLER) -> str | None:
    for name in (holding(room), meeting(room)):
        if livekit.participant(name, identity) is not None:
            return name
    return None


def waiting(client, room) -> list[dict]:
    return app_json(client, f"/api/v1.0/rooms/{room.id}/waiting-participants/")["participants"]


def app_json(client, path):
    return client.get(path, status=200).json


@pytest.fixture
def client(telephony_app):
    """The app as LiveKit reaches it (webhooks, no session)."""
    return telephony_app()


@pytest.fixture
def owner(telephony_app, cast):
    owner = telephony_app()
    owner.login_as(cast.owner)
    return owner


@pytest.fixture
def room(cast, dbsession):
    """The cast's room with a PIN, restricted, its meeting under way with its owner."""
    cast.room.pin_code = PIN
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    return cast.room


@pytest.fixture
def started(client, livekit, room, cast):
    """The meeting has started (its rule exists) and the owner is in it."""
    livekit.add_participant(meeting(room), str(cast.owner.id), "Owner")
    post(client, livekit, livekit.event("room_started", room=meeting(room)))
    return room


# -- the number as the lobby shows it ------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+33612345642", "+33 6 •• •• •• 42"),
        ("0612345642", "+33 6 •• •• •• 42"),  # national, read in the default country
        ("+12015550123", "+1 201-•••-••23"),
        ("+447911123456", "+44 7911 ••••56"),
        ("12345", "•••45"),  # no number libphonenumber knows: only the end shows
        ("42", "42"),
        ("anonymous", None),
        ("", None),
    ],
)
def test_masked_number(number, masked):
    assert masked_number(number, "FR") == masked


# -- public rooms ---------------------------------------------------------------------------


def test_a_public_rooms_caller_joins_the_meeting(client, owner, livekit, started, dbsession):
    started.access_level = AccessLevel.PUBLIC
    dbsession.flush()
    dial(client, livekit, started)
    assert where_is(livekit, started) == meeting(started)
    (move,) = livekit.calls_to("MoveParticipant")
    assert (move.request.room, move.request.destination_room) == (
        holding(started),
        meeting(started),
    )
    assert move.claims.video.room_admin and move.claims.video.destination_room == meeting(started)
    assert livekit.participant(meeting(started), CALLER).name == MASKED  # not the number
    assert waiting(owner, started) == []


# -- restricted and trusted rooms: the lobby ------------------------------------------------


@pytest.mark.parametrize("level", [AccessLevel.RESTRICTED, AccessLevel.TRUSTED])
def test_a_caller_waits_in_the_lobby(client, owner, livekit, started, dbsession, level):
    started.access_level = level
    dbsession.flush()
    dial(client, livekit, started)
    assert where_is(livekit, started) == holding(started)
    assert livekit.calls_to("MoveParticipant") == []
    [entry] = waiting(owner, started)
    assert entry["id"] == CALLER
    assert entry["username"] == MASKED
    assert entry["status"] == "waiting"
    # the meeting hears of it, as of a web guest
    assert [m.data for m in livekit.data_messages(meeting(started))] == [
        b'{"type": "participantWaiting"}'
    ]


def test_the_owner_admits_a_caller_from_the_lobby_panel(client, owner, livekit, started):
    """Done means: a caller of a restricted room waits, the owner admits from the lobby
    panel, the caller is moved into the meeting room."""
    dial(client, livekit, started)
    panel = owner.get(f"/{started.slug}/lobby", headers=HTMX, status=200)
    [row] = panel.html.select("[data-participant]")
    assert row["data-participant"] == CALLER
    assert row.select_one(".lobby-name").text == MASKED
    panel = owner.post(
        f"/{started.slug}/lobby",
        {"participant_id": CALLER, "allow_entry": "true"},
        headers=HTMX,
        status=200,
    )
    assert panel.html.select("[data-participant]") == []
    assert where_is(livekit, started) == meeting(started)
    assert livekit.participant(meeting(started), CALLER).name == MASKED
    # LiveKit tells of the move: left the holding room, joined the meeting; the caller stays
    moved = livekit.participant(meeting(started), CALLER)
    post(
        client, livekit, livekit.event("participant_left", room=holding(started), participant=moved)
    )
    post(
        client,
        livekit,
        livekit.event("participant_joined", room=meeting(started), participant=moved),
    )
    assert where_is(livekit, started) == meeting(started)
    assert len(livekit.calls_to("MoveParticipant")) == 1
    assert waiting(owner, started) == []


def test_admitting_through_the_api(client, owner, livekit, started):
    dial(client, livekit, started)
    res = owner.post_json(
        f"/api/v1.0/rooms/{started.id}/enter/",
        {"participant_id": CALLER, "allow_entry": True},
        status=200,
    )
    assert res.json == {"message": "Participant was updated."}
    assert where_is(livekit, started) == meeting(started)


def test_denying_disconnects_the_caller(client, owner, livekit, started):
    dial(client, livekit, started)
    owner.post_json(
        f"/api/v1.0/rooms/{started.id}/enter/",
        {"participant_id": CALLER, "allow_entry": False},
        status=200,
    )
    assert where_is(livekit, started) is None
    (remove,) = livekit.calls_to("RemoveParticipant")
    assert remove.request.room == holding(started)
    # LiveKit tells that the caller left: off the list; calling again is a new wait
    post(client, livekit, livekit.event("participant_left", room=holding(started), identity=CALLER))
    assert waiting(owner, started) == []
    dial(client, livekit, started)
    assert [p["id"] for p in waiting(owner, started)] == [CALLER]


def test_admit_all_takes_callers_and_web_guests(client, owner, livekit, started, telephony_app):
    dial(client, livekit, started)
    guest = telephony_app()
    guest.post_json(f"/api/v1.0/rooms/{started.id}/request-entry/", {"username": "Gina"})
    assert len(waiting(owner, started)) == 2
    owner.post(f"/{started.slug}/lobby", {"admit_all": "true"}, headers=HTMX, status=200)
    assert where_is(livekit, started) == meeting(started)
    res = guest.post_json(f"/api/v1.0/rooms/{started.id}/request-entry/", {"username": "Gina"})
    assert res.json["status"] == "accepted"


def test_a_caller_who_hangs_up_leaves_the_lobby(client, owner, livekit, started):
    dial(client, livekit, started)
    hang_up(client, livekit, holding(started))
    assert waiting(owner, started) == []


def test_admitting_a_caller_gone_meanwhile(client, owner, livekit, started):
    dial(client, livekit, started)
    livekit.remove_participant(holding(started), CALLER)  # hung up; LiveKit has not told yet
    res = owner.post_json(
        f"/api/v1.0/rooms/{started.id}/enter/",
        {"participant_id": CALLER, "allow_entry": True},
        status=404,
    )
    assert res.json == {"message": "Participant not found."}
    assert waiting(owner, started) == []


def test_a_livekit_failure_leaves_the_caller_waiting(client, owner, livekit, started):
    dial(client, livekit, started)
    livekit.fail("MoveParticipant", "internal")
    res = owner.post_json(
        f"/api/v1.0/rooms/{started.id}/enter/",
        {"participant_id": CALLER, "allow_entry": True},
        status=502,
    )
    assert "error" in res.json
    assert where_is(livekit, started) == holding(started)
    assert [p["id"] for p in waiting(owner, started)] == [CALLER]
    owner.post_json(
        f"/api/v1.0/rooms/{started.id}/enter/",
        {"participant_id": CALLER, "allow_entry": True},
        status=200,
    )
    assert where_is(livekit, started) == meeting(started)


@pytest.mark.parametrize("participant_id", ["sip_", "sip_+33 6", "+33612345642", "x" * 300])
def test_enter_refuses_ids_that_are_neither(owner, started, participant_id):
    res = owner.post_json(
        f"/api/v1.0/rooms/{started.id}/enter/",
        {"participant_id": participant_id, "allow_entry": True},
        status=400,
    )
    assert res.json == {"participant_id": ["Must be a valid UUID."]}


def test_an_unknown_caller_is_not_found(owner, started):
    res = owner.post_json(
        f"/api/v1.0/rooms/{started.id}/enter/",
        {"participant_id": "sip_+33999999999", "allow_entry": True},
        status=404,
    )
    assert res.json == {"message": "Participant not found."}


# -- before anyone is in the meeting ---------------------------------------------------------


def test_a_caller_dials_in_before_anyone_is_in_the_meeting(client, owner, livekit, room, cast):
    # the room system readies the room (its rule) before anyone has started the meeting
    client.post_json(
        "/api/v1.0/roomkit/join/",
        {"pin_code": PIN},
        headers={"Authorization": f"Bearer {ROOMKIT_TOKEN}"},
        status=200,
    )
    dial(client, livekit, room)
    assert livekit.room(meeting(room)) is None
    assert livekit.data_messages() == []  # no meeting to tell
    assert [p["username"] for p in waiting(owner, room)] == [MASKED]
    # the owner arrives later and admits the caller: the meeting's room is made for them
    owner.post(
        f"/{room.slug}/lobby", {"participant_id": CALLER, "allow_entry": "true"}, headers=HTMX
    )
    assert livekit.calls_to("CreateRoom")[0].request.name == meeting(room)
    assert where_is(livekit, room) == meeting(room)


@pytest.fixture
def committed_room(app, livekit):
    """A restricted room with a PIN and an owner who wants the "a guest is waiting"
    e-mail, committed (the e-mail's worker reads committed rows only)."""
    engine = app.registry["dbengine"]
    tag = uuid.uuid4().hex[:8]
    owner = User(
        sub=f"phone-owner-{tag}",
        email=f"phone-owner-{tag}@example.org",
        full_name="Phone Owner",
        guest_waiting_emails=True,
    )
    room = Room(
        name="Phoned Room",
        slug=f"phoned-{tag}",
        access_level=AccessLevel.RESTRICTED,
        pin_code=f"{uuid.uuid4().int % 10**10:010d}",
    )
    room.accesses.append(ResourceAccess(user=owner, role=Role.OWNER))
    with Session(engine, expire_on_commit=False) as session:
        session.add_all([owner, room])
        session.commit()
    ids = (room.id, owner.id)
    yield room, owner.email
    with Session(engine) as session:
        session.execute(delete(ResourceAccess).where(ResourceAccess.resource_id == ids[0]))
        session.execute(delete(Room).where(Room.id == ids[0]))
        session.execute(delete(User).where(User.id == ids[1]))
        session.commit()


def test_the_managers_are_mailed_when_a_caller_waits_alone(
    committed_room, testapp_with, smtp, livekit
):
    room, owner_email = committed_room
    client = testapp_with(
        telephony_settings(**{"mail.host": smtp.host, "mail.port": str(smtp.port)})
    )
    livekit.add_dispatch_rule(f"SIP_{room.id}", holding(room), room.pin_code)
    dial(client, livekit, room, pin=room.pin_code)
    app_service(client.app, GuestWaitingAlerts).drain()
    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == [owner_email]
    # a second call (the caller's identity already waiting) sends nothing more
    dial(client, livekit, room, pin=room.pin_code)
    app_service(client.app, GuestWaitingAlerts).drain()
    assert len(smtp.messages()) == 1


# -- the door's other rules -----------------------------------------------------------


def test_a_pin_of_a_room_deleted_meanwhile(client, livekit, started, dbsession):
    room_id = started.id
    for access in list(started.accesses):
        dbsession.delete(access)
    dbsession.delete(started)
    dbsession.flush()
    where, _ = livekit.dial_in(NUMBER, PIN)  # its rule outlived it
    assert where == f"phone-lobby-{room_id}"
    post(
        client,
        livekit,
        livekit.event(
            "participant_joined",
            room=where,
            identity=CALLER,
            participant=livekit.participant(where, CALLER),
        ),
    )
    assert livekit.participant(where, CALLER) is None  # disconnected
    assert livekit.dispatch_rules() == []  # and the rule gone: the next call is refused
    with pytest.raises(LookupError):
        livekit.dial_in(NUMBER, PIN)


def test_a_removed_caller_cannot_call_back_at_once(client, owner, livekit, started):
    dial(client, livekit, started)
    owner.post_json(
        f"/api/v1.0/rooms/{started.id}/enter/", {"participant_id": CALLER, "allow_entry": True}
    )
    owner.post_json(
        f"/api/v1.0/rooms/{started.id}/remove-participant/",
        {"participant_identity": CALLER},
        status=200,
    )
    assert where_is(livekit, started) is None
    dial(client, livekit, started)
    assert where_is(livekit, started) is None  # disconnected again
    assert waiting(owner, started) == []


def test_an_admitted_caller_who_calls_again_goes_straight_in(client, owner, livekit, started):
    dial(client, livekit, started)
    owner.post_json(
        f"/api/v1.0/rooms/{started.id}/enter/", {"participant_id": CALLER, "allow_entry": True}
    )
    hang_up(client, livekit, meeting(started))
    dial(client, livekit, started)
    assert where_is(livekit, started) == meeting(started)
    assert waiting(owner, started) == []


def test_a_full_lobby_disconnects_the_caller(telephony_app, owner, livekit, started):
    client = telephony_app(**{"lobby.max_waiting_per_room": "1"})
    guest = telephony_app(**{"lobby.max_waiting_per_room": "1"})
    guest.post_json(f"/api/v1.0/rooms/{started.id}/request-entry/", {"username": "Gina"})
    dial(client, livekit, started)
    assert where_is(livekit, started) is None


def test_a_caller_found_in_the_meeting_itself_is_sent_to_wait(client, owner, livekit, started):
    # a rule from before (the reference's) led the call straight into the meeting
    caller = livekit.add_participant(
        meeting(started),
        CALLER,
        f"Phone {NUMBER}",
        attributes={"sip.phoneNumber": NUMBER},
        kind=api.ParticipantInfo.Kind.SIP,
    )
    post(
        client,
        livekit,
        livekit.event("participant_joined", room=meeting(started), participant=caller),
    )
    assert where_is(livekit, started) == holding(started)
    assert [p["username"] for p in waiting(owner, started)] == [MASKED]


def test_web_participants_are_not_touched(client, livekit, started, cast):
    before = len(livekit.calls)
    post(
        client,
        livekit,
        livekit.event("participant_joined", room=meeting(started), identity=str(cast.owner.id)),
    )
    post(
        client,
        livekit,
        livekit.event("participant_left", room=meeting(started), identity=str(cast.owner.id)),
    )
    assert len(livekit.calls) == before


def test_callers_waiting_when_the_meeting_ends_still_wait(client, owner, livekit, started):
    dial(client, livekit, started)
    post(client, livekit, livekit.event("room_finished", room=meeting(started)))
    assert [p["id"] for p in waiting(owner, started)] == [CALLER]
    assert livekit.dispatch_rules() == []  # the rule goes with the meeting, as the reference's


def test_a_caller_without_a_number_is_a_phone_caller(client, owner, livekit, started):
    where, caller = livekit.dial_in("", PIN)
    caller_id = caller.identity
    post(client, livekit, livekit.event("participant_joined", room=where, participant=caller))
    assert [(p["id"], p["username"]) for p in waiting(owner, started)] == [
        (caller_id, "Phone caller")
    ]


def test_nothing_happens_with_telephony_off(testapp, livekit, room, dbsession):
    livekit.add_dispatch_rule(f"SIP_{room.id}", holding(room), PIN)
    where, caller = livekit.dial_in(NUMBER, PIN)
    post(testapp, livekit, livekit.event("participant_joined", room=where, participant=caller))
    assert app_service(testapp.app, Lobby).waiting(room.id) == []
    assert livekit.calls == []

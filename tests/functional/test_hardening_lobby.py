"""The lobby under a flood of cookieless knocks: new knocks are limited per client
address, a room's lobby holds a bounded number of waiting participants, and the
LiveKit `participantWaiting` notification is sent after the commit, at most about once
per room per second, however many knock."""

from __future__ import annotations

import json
import time

WAITING = {"type": "participantWaiting"}


def knock(client, room, address="203.0.113.7", **kw):
    """A knock without cookies (a new identity each time) unless `client` kept some."""
    return client.post_json(
        f"/api/v1.0/rooms/{room.id}/request-entry/",
        {"username": "Guest"},
        extra_environ={"REMOTE_ADDR": address},
        **kw,
    )


def cookieless(client, room, address="203.0.113.7", **kw):
    client.reset()
    return knock(client, room, address, **kw)


def waiting_count(testapp, cast, room) -> int:
    """Through an app whose store the knocks used (each app has its own memory store)."""
    testapp.login_as(cast.owner)
    res = testapp.get(f"/api/v1.0/rooms/{room.id}/waiting-participants/")
    return len(res.json["participants"])


# -- per address ---------------------------------------------------------------------


def test_new_knocks_are_limited_per_address(testapp_with, cast, restricted):
    client = testapp_with({"lobby.address_rate_limit": "3"})
    kept = testapp_with({"lobby.address_rate_limit": "3"})
    assert knock(kept, restricted).json["status"] == "waiting"  # keeps its cookies
    for _ in range(2):
        assert cookieless(client, restricted).json["status"] == "waiting"
    res = cookieless(client, restricted, status=429)
    assert res.headers["Retry-After"] == "60"
    assert "detail" in res.json
    # who already waits keeps polling; other addresses still knock
    assert knock(kept, restricted).json["status"] == "waiting"
    assert cookieless(client, restricted, "198.51.100.2").json["status"] == "waiting"
    assert waiting_count(testapp_with({"lobby.address_rate_limit": "3"}), cast, restricted) == 4


def test_the_default_address_limit(testapp, new_testapp, cast, restricted):
    for _ in range(30):
        cookieless(testapp, restricted)
    cookieless(testapp, restricted, status=429)
    assert waiting_count(new_testapp(), cast, restricted) == 30


def test_members_who_skip_the_lobby_are_not_counted(testapp_with, cast, restricted):
    client = testapp_with({"lobby.address_rate_limit": "1"})
    client.login_as(cast.member)
    for _ in range(3):
        assert knock(client, restricted).json["status"] == "accepted"


# -- per room ------------------------------------------------------------------------


def test_a_full_lobby_refuses_newcomers_only(testapp_with, cast, restricted):
    settings = {"lobby.max_waiting_per_room": "3"}
    guests = [testapp_with(settings) for _ in range(3)]
    ids = [knock(g, restricted, f"192.0.2.{n}").json["id"] for n, g in enumerate(guests)]
    newcomer = testapp_with(settings)
    res = knock(newcomer, restricted, "192.0.2.99", status=503)
    assert res.json["detail"] == "The lobby of this room is full; try again later."
    assert res.headers["Retry-After"]
    for n, guest in enumerate(guests):
        assert knock(guest, restricted, f"192.0.2.{n}").json["status"] == "waiting"
    owner = testapp_with(settings)
    owner.login_as(cast.owner)
    owner.post_json(
        f"/api/v1.0/rooms/{restricted.id}/enter/",
        {"participant_id": ids[0], "allow_entry": True},
    )
    assert knock(newcomer, restricted, "192.0.2.99").json["status"] == "waiting", "room made"


# -- notifications ----------------------------------------------------------------------


def test_a_burst_of_knocks_makes_few_livekit_calls(testapp_with, cast, restricted, livekit):
    livekit.add_room(str(restricted.id))
    client = testapp_with({"lobby.address_rate_limit": "0"})
    before = {m: len(livekit.calls_to(m)) for m in ("SendData", "ListRooms")}  # other tests'
    started = time.monotonic()
    for _ in range(60):
        assert cookieless(client, restricted).json["status"] == "waiting"
    elapsed = time.monotonic() - started
    assert waiting_count(testapp_with({"lobby.address_rate_limit": "0"}), cast, restricted) == 60
    most = int(elapsed) + 2  # one per room and second, the first one at once
    assert 1 <= len(livekit.calls_to("SendData")) - before["SendData"] <= most
    assert len(livekit.calls_to("ListRooms")) - before["ListRooms"] <= most
    first = livekit.data_messages(str(restricted.id))[0]
    assert json.loads(first.data) == WAITING


def test_the_notification_comes_with_the_first_knock(new_testapp, restricted, livekit):
    livekit.add_room(str(restricted.id))
    knock(new_testapp(), restricted)
    assert [json.loads(m.data) for m in livekit.data_messages(str(restricted.id))] == [WAITING]


def test_coalesced_knocks_are_announced_by_a_later_poll(new_testapp, restricted, livekit):
    """A knock inside the interval is not lost: the next poll once it passed tells."""
    livekit.add_room(str(restricted.id))
    first, second = new_testapp(), new_testapp()
    knock(first, restricted)
    knock(second, restricted)
    assert len(livekit.data_messages(str(restricted.id))) == 1
    time.sleep(1.05)
    knock(first, restricted)  # any waiting participant's poll
    assert len(livekit.data_messages(str(restricted.id))) == 2
    time.sleep(1.05)
    knock(second, restricted)
    assert len(livekit.data_messages(str(restricted.id))) == 2, "nothing more to announce"


def test_no_notification_when_the_request_fails(testapp_with, restricted, livekit):
    """Sent after the commit: a knock refused by the lobby's limits announces nothing."""
    livekit.add_room(str(restricted.id))
    client = testapp_with({"lobby.max_waiting_per_room": "1"})
    cookieless(client, restricted)
    time.sleep(1.05)
    cookieless(client, restricted, status=503)
    assert len(livekit.data_messages(str(restricted.id))) == 1

"""The lobby state machine (reference §3, design "one identity per participant"), on a
memory store and on Redis (when MEET_TEST_REDIS_URL is set), with short lifetimes:
waiting 1 s, denied 1 s, removed 2 s."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import redis

from meet_web.services.ephemeral import PREFIX, RedisStore, make_store
from meet_web.services.livekit import LiveKitConfig, LiveKitGateway, participant_color
from meet_web.services.lobby import (
    Lobby,
    LobbyConfig,
    LobbyEntry,
    LobbyStatus,
    ParticipantNotFound,
    RemovedRecently,
    TooManyRequests,
)
from tests.conftest import REDIS_URL, cache_settings
from tests.conftest import STORE_BACKENDS as BACKENDS
from tests.servers.livekit_fake import unused_url

CONFIG = LobbyConfig(
    waiting_timeout=1,
    accepted_timeout=30,
    denied_timeout=1,
    removed_timeout=2,
    rate_limit=5,
    rate_window=60,
)
WAITING = {"type": "participantWaiting"}


class RecordingRedis(redis.Redis):
    """A Redis client that remembers the commands its connections send one at a time
    (pipelines excepted), through redis-py's commands or the store's direct path."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.commands: list[tuple] = []
        commands = self.commands
        pool = self.connection_pool

        class RecordingConnection(pool.connection_class):
            def send_command(self, *args, **kwargs):
                commands.append(args)
                return super().send_command(*args, **kwargs)

        pool.connection_class = RecordingConnection


def gateway_for(url: str, server, timeout: float = 5.0) -> LiveKitGateway:
    return LiveKitGateway(
        LiveKitConfig(
            url=url,
            public_url=url,
            api_key=server.api_key,
            api_secret=server.api_secret,
            timeout=timeout,
            default_sources=("camera", "microphone"),
            webhook_filter=None,
        )
    )


@pytest.fixture
def rooms() -> list:
    """The rooms a test used: their Redis keys are deleted afterwards."""
    return []


@pytest.fixture(params=BACKENDS)
def store(request, rooms):
    if request.param == "memory":
        yield make_store(cache_settings(None))
        return
    store = RedisStore(RecordingRedis.from_url(REDIS_URL))
    yield store
    # this test's keys only: other test runs may share the Redis database
    names = [n for room in rooms for n in store.client.scan_iter(f"{PREFIX}*{room}*")]
    if names:
        store.client.delete(*names)
    store.client.close()


@pytest.fixture
def lobby(store, livekit) -> Lobby:
    return Lobby(store, gateway_for(livekit.url, livekit), CONFIG)


@pytest.fixture
def make_room(rooms):
    def make() -> uuid.UUID:
        rooms.append(uuid.uuid4())
        return rooms[-1]

    return make


@pytest.fixture
def room(make_room) -> uuid.UUID:
    return make_room()


def guest() -> str:
    return str(uuid.uuid4())


def knock(lobby, room, identity, username="Guest", *, may_skip=False) -> LobbyEntry:
    return lobby.request_entry(room, identity, username, may_skip=may_skip)


def ids(entries) -> list[str]:
    return sorted(e.id for e in entries)


# -- knocking -------------------------------------------------------------------------


def test_unknown_participant_starts_waiting(lobby, room):
    who = guest()
    entry = knock(lobby, room, who, "Ann")
    assert entry == LobbyEntry(who, "Ann", LobbyStatus.WAITING, participant_color(who))
    assert entry.as_json() == {
        "id": who,
        "username": "Ann",
        "status": "waiting",
        "color": participant_color(who),
    }
    assert ids(lobby.waiting(room)) == [who]


def test_polling_keeps_waiting_and_renews_the_entry(lobby, room):
    who = guest()
    knock(lobby, room, who, "Ann")
    for _ in range(3):  # 1.5 s in all, longer than the waiting lifetime
        time.sleep(0.5)
        entry = knock(lobby, room, who, "Ann B.")
        assert entry.status == LobbyStatus.WAITING
    (waiting,) = lobby.waiting(room)
    assert waiting.username == "Ann B.", "the latest name is shown to admins"


def test_waiting_expires_when_polling_stops(lobby, room):
    who = guest()
    knock(lobby, room, who)
    time.sleep(1.2)
    assert lobby.waiting(room) == []
    with pytest.raises(ParticipantNotFound):
        lobby.decide(room, who, allow=True)
    # a later poll is a new knock
    assert knock(lobby, room, who).status == LobbyStatus.WAITING


def test_accept(lobby, room):
    who = guest()
    knock(lobby, room, who, "Ann")
    decided = lobby.decide(room, who, allow=True)
    assert decided.status == LobbyStatus.ACCEPTED
    assert lobby.waiting(room) == []
    entry = knock(lobby, room, who, "Ann Renamed")
    assert entry.status == LobbyStatus.ACCEPTED
    assert entry.username == "Ann Renamed", "the token carries the name of this request"
    assert entry.color == participant_color(who)


def test_accepted_outlives_the_waiting_lifetime(lobby, room):
    who = guest()
    knock(lobby, room, who)
    lobby.decide(room, who, allow=True)
    time.sleep(1.2)  # longer than waiting and denied lifetimes
    assert knock(lobby, room, who).status == LobbyStatus.ACCEPTED


def test_accepted_lifetime_is_the_setting(store, livekit, room):
    lobby = Lobby(store, gateway_for(livekit.url, livekit), LobbyConfig(1, 1, 1, 1, rate_limit=100))
    who = guest()
    knock(lobby, room, who)
    lobby.decide(room, who, allow=True)
    assert knock(lobby, room, who).status == LobbyStatus.ACCEPTED
    time.sleep(1.2)
    assert knock(lobby, room, who).status == LobbyStatus.WAITING, "admission expired"


def test_accepted_lifetime_on_redis_is_six_hours_by_default(store, livekit, room):
    if not isinstance(store, RedisStore):
        pytest.skip("Redis only")
    lobby = Lobby(store, gateway_for(livekit.url, livekit), LobbyConfig(3, 21600, 5, 600))
    who = guest()
    knock(lobby, room, who)
    lobby.decide(room, who, allow=True)
    ttl = store.client.ttl(f"{PREFIX}lobby:{room}:{who}")
    assert 21590 < ttl <= 21600


def test_deny_then_expiry_lets_them_knock_again(lobby, room):
    who = guest()
    knock(lobby, room, who)
    assert lobby.decide(room, who, allow=False).status == LobbyStatus.DENIED
    assert lobby.waiting(room) == []
    assert knock(lobby, room, who).status == LobbyStatus.DENIED
    assert knock(lobby, room, who).status == LobbyStatus.DENIED, "polling does not renew"
    time.sleep(1.2)
    assert knock(lobby, room, who).status == LobbyStatus.WAITING
    assert ids(lobby.waiting(room)) == [who]


def test_a_decision_can_be_changed(lobby, room):
    who = guest()
    knock(lobby, room, who)
    lobby.decide(room, who, allow=False)
    lobby.decide(room, who, allow=True)
    assert knock(lobby, room, who).status == LobbyStatus.ACCEPTED
    lobby.decide(room, who, allow=False)
    assert knock(lobby, room, who).status == LobbyStatus.DENIED


def test_decide_on_a_missing_participant(lobby, room):
    with pytest.raises(ParticipantNotFound):
        lobby.decide(room, guest(), allow=True)
    with pytest.raises(ParticipantNotFound):
        lobby.decide(room, guest(), allow=False)


def test_skip_the_lobby(lobby, room):
    who = guest()
    entry = knock(lobby, room, who, "Ann", may_skip=True)
    assert entry == LobbyEntry(who, "Ann", LobbyStatus.ACCEPTED, participant_color(who))
    assert lobby.waiting(room) == []
    with pytest.raises(ParticipantNotFound):
        lobby.decide(room, who, allow=True)  # nothing was written


def test_skip_reuses_the_cached_colour(lobby, store, room):
    who = guest()
    knock(lobby, room, who)
    cached = dict(store.get(f"lobby:{room}:{who}"), color="hsl(1, 50%, 50%)")
    store.put(f"lobby:{room}:{who}", cached, 10, group=f"lobby:{room}:waiting")
    entry = knock(lobby, room, who, may_skip=True)
    assert entry.status == LobbyStatus.ACCEPTED
    assert entry.color == "hsl(1, 50%, 50%)"


def test_skip_overrides_a_denial(lobby, room):
    """Rules are evaluated on every poll: a room made public lets the denied in."""
    who = guest()
    knock(lobby, room, who)
    lobby.decide(room, who, allow=False)
    assert knock(lobby, room, who, may_skip=True).status == LobbyStatus.ACCEPTED


# -- corrupted entries ------------------------------------------------------------------


CORRUPTED = [
    "not an object",
    {"id": "x"},
    {"id": "x", "username": "u", "status": "bogus", "color": "c"},
    [1, 2, 3],
    42,
]


@pytest.mark.parametrize("value", CORRUPTED)
def test_corrupted_entry_is_treated_as_absent(lobby, store, room, value):
    who = guest()
    store.put(f"lobby:{room}:{who}", value, 10, group=f"lobby:{room}:waiting")
    entry = knock(lobby, room, who, "Ann")
    assert entry.status == LobbyStatus.WAITING
    assert entry.username == "Ann"
    assert ids(lobby.waiting(room)) == [who]


@pytest.mark.parametrize("value", CORRUPTED)
def test_corrupted_entry_is_cleaned_from_the_listing(lobby, store, room, value):
    good, bad = guest(), guest()
    knock(lobby, room, good)
    store.put(f"lobby:{room}:{bad}", value, 10, group=f"lobby:{room}:waiting")
    assert ids(lobby.waiting(room)) == [good]
    assert store.get(f"lobby:{room}:{bad}") is None, "deleted"
    assert f"lobby:{room}:{bad}" not in store.group(f"lobby:{room}:waiting")


def test_corrupted_entry_cannot_be_decided(lobby, store, room):
    who = guest()
    store.put(f"lobby:{room}:{who}", {"status": "waiting"}, 10)
    with pytest.raises(ParticipantNotFound):
        lobby.decide(room, who, allow=True)


def test_corrupted_raw_value_on_redis(lobby, store, room):
    if not isinstance(store, RedisStore):
        pytest.skip("Redis only")
    good, bad = guest(), guest()
    knock(lobby, room, good)
    store.client.set(f"{PREFIX}lobby:{room}:{bad}", b"\x80 not json", ex=10)
    store.client.zadd(f"{PREFIX}lobby:{room}:waiting", {f"lobby:{room}:{bad}": time.time() + 10})
    assert ids(lobby.waiting(room)) == [good]
    assert knock(lobby, room, bad).status == LobbyStatus.WAITING


# -- rooms ----------------------------------------------------------------------------


def test_rooms_are_isolated(lobby, make_room):
    first, second = make_room(), make_room()
    who, other = guest(), guest()
    knock(lobby, first, who)
    knock(lobby, second, other)
    assert ids(lobby.waiting(first)) == [who]
    assert ids(lobby.waiting(second)) == [other]
    with pytest.raises(ParticipantNotFound):
        lobby.decide(second, who, allow=True)
    lobby.decide(first, who, allow=True)
    assert knock(lobby, second, who).status == LobbyStatus.WAITING, "admitted to one room only"
    assert knock(lobby, first, who).status == LobbyStatus.ACCEPTED


def test_clear_room(lobby, make_room):
    room, other_room = make_room(), make_room()
    waiting, accepted, denied, elsewhere = guest(), guest(), guest(), guest()
    for who in (waiting, accepted, denied):
        knock(lobby, room, who)
    knock(lobby, other_room, elsewhere)
    lobby.decide(room, accepted, allow=True)
    lobby.decide(room, denied, allow=False)
    lobby.clear_room(room)
    assert lobby.waiting(room) == []
    for who in (waiting, accepted, denied):
        with pytest.raises(ParticipantNotFound):
            lobby.decide(room, who, allow=True)
    assert knock(lobby, room, accepted).status == LobbyStatus.WAITING, "admission forgotten"
    assert ids(lobby.waiting(other_room)) == [elsewhere]
    lobby.clear_room(make_room())  # an empty room: no error


# -- removal --------------------------------------------------------------------------


def test_removed_participant_loses_admission_and_cannot_knock(lobby, room):
    who = guest()
    knock(lobby, room, who)
    lobby.decide(room, who, allow=True)
    lobby.participant_removed(room, who)
    assert lobby.is_removed(room, who)
    with pytest.raises(RemovedRecently):
        knock(lobby, room, who)
    with pytest.raises(RemovedRecently):
        knock(lobby, room, who, may_skip=True)
    with pytest.raises(ParticipantNotFound):
        lobby.decide(room, who, allow=True)
    time.sleep(2.2)
    assert not lobby.is_removed(room, who)
    assert knock(lobby, room, who).status == LobbyStatus.WAITING, "may knock again, not admitted"


def test_removal_is_per_room_and_per_identity(lobby, make_room):
    room, other_room = make_room(), make_room()
    who, other = guest(), guest()
    lobby.participant_removed(room, who)
    assert knock(lobby, other_room, who).status == LobbyStatus.WAITING
    assert knock(lobby, room, other).status == LobbyStatus.WAITING


def test_removing_a_waiting_participant_drops_them_from_the_list(lobby, room):
    who = guest()
    knock(lobby, room, who)
    lobby.participant_removed(room, who)
    assert lobby.waiting(room) == []


# -- rate limit -----------------------------------------------------------------------


def test_rate_limit(lobby, make_room):
    who = guest()
    room = make_room()
    for _ in range(CONFIG.rate_limit):
        knock(lobby, room, who)
    with pytest.raises(TooManyRequests):
        knock(lobby, room, who)
    with pytest.raises(TooManyRequests):
        knock(lobby, make_room(), who, may_skip=True)
    assert knock(lobby, room, guest()).status == LobbyStatus.WAITING, "others are not limited"


def test_rate_limit_window(store, livekit, room):
    lobby = Lobby(
        store,
        gateway_for(livekit.url, livekit),
        LobbyConfig(5, 30, 5, 5, rate_limit=2, rate_window=1),
    )
    who = guest()
    knock(lobby, room, who)
    knock(lobby, room, who)
    with pytest.raises(TooManyRequests):
        knock(lobby, room, who)
    time.sleep(1.15)
    assert knock(lobby, room, who).status == LobbyStatus.WAITING


# -- notification -----------------------------------------------------------------------


def test_a_new_knock_notifies_the_room(lobby, livekit, room):
    livekit.add_room(str(room))
    who = guest()
    knock(lobby, room, who)
    (message,) = livekit.data_messages(str(room))
    assert json.loads(message.data) == WAITING
    assert not message.topic and list(message.destination_identities) == []
    knock(lobby, room, who)  # polling again: no new message
    lobby.decide(room, who, allow=True)
    knock(lobby, room, who)  # accepted: no message
    knock(lobby, room, guest(), may_skip=True)  # skipping: no message
    assert len(livekit.data_messages(str(room))) == 1
    time.sleep(CONFIG.notify_interval)  # one message per room and interval at most
    knock(lobby, room, guest())
    assert len(livekit.data_messages(str(room))) == 2


def test_knocking_again_after_a_denial_notifies(lobby, livekit, room):
    livekit.add_room(str(room))
    who = guest()
    knock(lobby, room, who)
    lobby.decide(room, who, allow=False)
    time.sleep(1.2)
    knock(lobby, room, who)
    assert len(livekit.data_messages(str(room))) == 2


def test_no_notification_when_the_livekit_room_does_not_exist(lobby, livekit, room):
    assert knock(lobby, room, guest()).status == LobbyStatus.WAITING
    assert livekit.data_messages() == []
    (call,) = livekit.calls_to("ListRooms")
    assert list(call.request.names) == [str(room)]
    assert livekit.calls_to("SendData") == []


@pytest.mark.parametrize("method", ["ListRooms", "SendData"])
@pytest.mark.parametrize("code", ["internal", "unavailable", "not_found"])
def test_notification_failure_is_not_an_error(lobby, livekit, room, method, code):
    livekit.add_room(str(room))
    livekit.fail(method, code)
    who = guest()
    assert knock(lobby, room, who).status == LobbyStatus.WAITING
    assert ids(lobby.waiting(room)) == [who]


def test_livekit_down_is_not_an_error(lobby, livekit, room):
    livekit.refuse_connections()
    who = guest()
    assert knock(lobby, room, who).status == LobbyStatus.WAITING
    assert ids(lobby.waiting(room)) == [who]


def test_livekit_slow_is_not_an_error(store, livekit, room):
    lobby = Lobby(store, gateway_for(livekit.url, livekit, timeout=0.3), CONFIG)
    livekit.add_room(str(room))
    livekit.delay("ListRooms", 2.0)
    who = guest()
    started = time.monotonic()
    assert knock(lobby, room, who).status == LobbyStatus.WAITING
    assert time.monotonic() - started < 1.5
    assert ids(lobby.waiting(room)) == [who]


def test_livekit_unreachable_url_is_not_an_error(store, livekit, room):
    lobby = Lobby(store, gateway_for(unused_url(), livekit), CONFIG)
    assert knock(lobby, room, guest()).status == LobbyStatus.WAITING


# -- listing cost -----------------------------------------------------------------------


def test_listing_reads_only_the_rooms_entries(lobby, store, make_room):
    busy, quiet = make_room(), make_room()
    for _ in range(300):
        identity = guest()
        store.put(
            f"lobby:{busy}:{identity}",
            LobbyEntry(identity, "x", LobbyStatus.WAITING, "c").as_json(),
            10,
            group=f"lobby:{busy}:waiting",
        )
    mine = [guest(), guest()]
    for who in mine:
        knock(lobby, quiet, who)
    if isinstance(store, RedisStore):
        store.client.commands.clear()
    started = time.monotonic()
    entries = lobby.waiting(quiet)
    elapsed = time.monotonic() - started
    assert ids(entries) == sorted(mine)
    assert elapsed < 0.2
    if isinstance(store, RedisStore):
        names = [c[0].upper() for c in store.client.commands]
        assert not {"SCAN", "KEYS"} & set(names)
        assert len(names) <= 2, names
        read = [arg for c in store.client.commands for arg in c[1:] if isinstance(arg, str)]
        assert all(str(busy) not in arg for arg in read)
        (mget,) = [c for c in store.client.commands if c[0].upper() == "MGET"]
        assert sorted(mget[1:]) == sorted(f"{PREFIX}lobby:{quiet}:{who}" for who in mine)
    assert len(lobby.waiting(busy)) == 300


@pytest.mark.parametrize("allow", [True, False], ids=["admit", "deny"])
def test_a_decision_made_during_a_poll_is_not_undone(lobby, store, room, allow):
    """An owner decides between a poll's read of the entry and its renewal: the poll
    must not write "waiting" back over the decision (seen in bench/soak.py)."""
    who = guest()
    lobby.request_entry(room, who, "Guest", may_skip=False)
    read = store.hit_get_renew

    def read_then_decide(counter, window, keys, renewal):
        result = read(counter, window, keys, renewal)  # the poll has read "waiting"...
        del store.hit_get_renew  # (once)
        lobby.decide(room, who, allow=allow)  # ...and the owner decides now
        return result

    store.hit_get_renew = read_then_decide  # an interleaving, the real store underneath
    lobby.request_entry(room, who, "Guest", may_skip=False)
    expected = LobbyStatus.ACCEPTED if allow else LobbyStatus.DENIED
    assert lobby.request_entry(room, who, "Guest", may_skip=False).status == expected
    assert who not in [entry.id for entry in lobby.waiting(room)]

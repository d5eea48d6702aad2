"""The ephemeral store: per-key lifetimes, groups and counters, on memory and on Redis
(when MEET_TEST_REDIS_URL is set)."""

from __future__ import annotations

import time
import uuid

import pytest

from meet_web.services.ephemeral import PREFIX, MemoryStore, RedisStore, Renewal, make_store
from tests.conftest import REDIS_URL, cache_settings
from tests.conftest import STORE_BACKENDS as BACKENDS


def new_store(backend: str):
    return make_store(cache_settings(REDIS_URL if backend == "redis" else None))


@pytest.fixture(params=BACKENDS)
def store(request):
    store = new_store(request.param)
    yield store
    if isinstance(store, RedisStore):
        names = list(store.client.scan_iter(f"{PREFIX}*{NS}*"))
        if names:
            store.client.delete(*names)


# every key of this module contains NS, so the Redis cleanup touches only our keys
NS = f"t-{uuid.uuid4().hex[:10]}"


def key(name: str) -> str:
    return f"{NS}:{name}"


def test_make_store_picks_the_backend():
    assert isinstance(new_store("memory"), MemoryStore)
    if REDIS_URL:
        store = new_store("redis")
        assert isinstance(store, RedisStore)
        assert store.ping() is True


def test_put_and_get(store):
    value = {"status": "waiting", "n": 1, "list": [1, "a"], "none": None}
    store.put(key("a"), value, 10)
    assert store.get(key("a")) == value
    assert store.get(key("missing")) is None
    store.put(key("a"), "replaced", 10)
    assert store.get(key("a")) == "replaced"


def test_get_many_keeps_the_order(store):
    store.put(key("1"), 1, 10)
    store.put(key("3"), 3, 10)
    assert store.get_many([key("1"), key("2"), key("3")]) == [1, None, 3]
    assert store.get_many([]) == []


def test_values_expire(store):
    store.put(key("short"), "x", 0.3)
    store.put(key("long"), "y", 10)
    assert store.get(key("short")) == "x"
    time.sleep(0.45)
    assert store.get(key("short")) is None
    assert store.get(key("long")) == "y"


def test_put_renews_the_lifetime(store):
    store.put(key("k"), 1, 0.4)
    time.sleep(0.25)
    store.put(key("k"), 2, 0.4)
    time.sleep(0.25)
    assert store.get(key("k")) == 2


def test_delete(store):
    store.put(key("k"), 1, 10)
    store.delete(key("k"))
    assert store.get(key("k")) is None
    store.delete(key("never-there"))  # no error


def test_take_reads_once(store):
    store.put(key("k"), {"slug": "abc"}, 10)
    assert store.take(key("k")) == {"slug": "abc"}
    assert store.take(key("k")) is None
    assert store.get(key("k")) is None


def test_groups(store):
    group = key("group")
    store.put(key("a"), "A", 10, group=group)
    store.put(key("b"), "B", 10, group=group)
    store.put(key("c"), "C", 10, group=key("other-group"))
    assert sorted(store.group(group)) == [key("a"), key("b")]
    assert store.group(key("empty-group")) == []


def test_group_members_expire_with_their_key(store):
    group = key("group")
    store.put(key("short"), 1, 0.3, group=group)
    store.put(key("long"), 2, 10, group=group)
    time.sleep(0.45)
    assert store.group(group) == [key("long")]


def test_renewing_a_member_keeps_it_in_the_group(store):
    group = key("group")
    store.put(key("a"), 1, 0.4, group=group)
    time.sleep(0.25)
    store.put(key("a"), 1, 0.4, group=group)
    time.sleep(0.25)
    assert store.group(group) == [key("a")]


def test_ungroup_moves_a_key(store):
    store.put(key("a"), "waiting", 10, group=key("waiting"))
    store.put(key("a"), "accepted", 10, group=key("all"), ungroup=key("waiting"))
    assert store.group(key("waiting")) == []
    assert store.group(key("all")) == [key("a")]
    assert store.get(key("a")) == "accepted"


def test_delete_from_groups(store):
    store.put(key("a"), 1, 10, group=key("g1"))
    store.put(key("b"), 2, 10, group=key("g1"))
    store.delete(key("a"), groups=(key("g1"), key("g2")))
    assert store.group(key("g1")) == [key("b")]
    assert store.get(key("a")) is None


def test_delete_group_deletes_its_keys(store):
    store.put(key("a"), 1, 10, group=key("g"))
    store.put(key("b"), 2, 10, group=key("g"))
    store.put(key("c"), 3, 10, group=key("h"))
    store.delete_group(key("g"))
    assert store.get_many([key("a"), key("b"), key("c")]) == [None, None, 3]
    assert store.group(key("g")) == []
    store.delete_group(key("never-there"))  # no error


def test_hit_counts_in_a_fixed_window(store):
    assert [store.hit(key("rate"), 1) for _ in range(3)] == [1, 2, 3]
    assert store.hit(key("other-rate"), 1) == 1
    time.sleep(1.15)
    assert store.hit(key("rate"), 1) == 1, "a new window starts"


def test_hit_and_get(store):
    store.put(key("a"), {"x": 1}, 10)
    assert store.hit_and_get(key("rate"), 10, [key("a"), key("b")]) == (1, [{"x": 1}, None])
    assert store.hit_and_get(key("rate"), 10, []) == (2, [])
    assert store.hit(key("rate"), 10) == 3


def test_two_stores_on_redis_share_state():
    """What one app process writes, another reads (memory stores are per process)."""
    if not REDIS_URL:
        pytest.skip("MEET_TEST_REDIS_URL is not set")
    first, second = new_store("redis"), new_store("redis")
    try:
        first.put(key("shared"), {"a": 1}, 10, group=key("g"))
        assert second.get(key("shared")) == {"a": 1}
        assert second.group(key("g")) == [key("shared")]
        assert second.hit(key("rate"), 10) == 1
        assert first.hit(key("rate"), 10) == 2
        assert second.take(key("shared")) == {"a": 1}
        assert first.take(key("shared")) is None
    finally:
        names = list(first.client.scan_iter(f"{PREFIX}*{NS}*"))
        if names:
            first.client.delete(*names)


def test_redis_keys_are_namespaced_and_expire():
    if not REDIS_URL:
        pytest.skip("MEET_TEST_REDIS_URL is not set")
    store = new_store("redis")
    try:
        store.put(key("a"), {"x": 1}, 30, group=key("g"))
        client = store.client
        assert client.exists(PREFIX + key("a")) and client.exists(PREFIX + key("g"))
        assert 0 < client.pttl(PREFIX + key("a")) <= 30_000
        assert 0 < client.ttl(PREFIX + key("g")) <= 31, "a group never outlives its members"
        store.put(key("b"), 1, 100, group=key("g"))
        assert client.ttl(PREFIX + key("g")) > 90, "the group lives as long as its longest member"
        store.put(key("c"), 1, 5, group=key("g"))
        assert client.ttl(PREFIX + key("g")) > 90, "a shorter member does not shorten it"
        store.hit(key("rate"), 60)
        assert 0 < client.ttl(PREFIX + key("rate")) <= 60
    finally:
        names = list(store.client.scan_iter(f"{PREFIX}*{NS}*"))
        if names:
            store.client.delete(*names)


def test_a_value_that_is_not_json_comes_back_raw():
    """Something else wrote the key: the caller gets text it will reject, not a crash."""
    if not REDIS_URL:
        pytest.skip("MEET_TEST_REDIS_URL is not set")
    store = new_store("redis")
    try:
        store.client.set(PREFIX + key("raw"), b"\x80not json", ex=10)
        store.client.set(PREFIX + key("text"), b"plain text", ex=10)
        assert store.get_many([key("raw"), key("text")]) == ["\ufffdnot json", "plain text"]
        assert store.take(key("text")) == "plain text"
    finally:
        names = list(store.client.scan_iter(f"{PREFIX}*{NS}*"))
        if names:
            store.client.delete(*names)


def renewal(**fields) -> Renewal:
    return Renewal(
        **{
            "index": 0,
            "ttl": 30,
            "group": key("waiting"),
            "limit": 3,
            "field": "status",
            "value": "waiting",
            "unless": (1,),
            **fields,
        }
    )


def test_hit_get_renew_renews_a_matching_entry(store):
    store.put(key("entry"), {"status": "waiting"}, 1, group=key("waiting"))
    hits, values, renewed = store.hit_get_renew(
        key("rate"), 60, [key("entry"), key("mark")], renewal()
    )
    assert (hits, values, renewed) == (1, [{"status": "waiting"}, None], True)
    time.sleep(1.2)  # past the first lifetime: the renewal's 30 s hold
    assert store.get(key("entry")) == {"status": "waiting"}
    assert store.group(key("waiting")) == [key("entry")]


@pytest.mark.parametrize(
    "case", ["other status", "guard set", "over the limit", "missing", "not an object"]
)
def test_hit_get_renew_leaves_the_entry_otherwise(store, case):
    entry = {"status": "accepted" if case == "other status" else "waiting"}
    if case == "not an object":
        entry = ["waiting"]
    if case != "missing":
        store.put(key("entry"), entry, 1, group=key("waiting"))
    if case == "guard set":
        store.put(key("mark"), True, 30)
    limit = 0 if case == "over the limit" else 3
    _, _, renewed = store.hit_get_renew(
        key("rate"), 60, [key("entry"), key("mark")], renewal(limit=limit)
    )
    assert not renewed
    time.sleep(1.2)
    assert store.get(key("entry")) is None


def test_hit_get_renew_survives_a_script_flush():
    """Redis forgets its scripts on a restart (or SCRIPT FLUSH): the store loads it again."""
    if not REDIS_URL:
        pytest.skip("MEET_TEST_REDIS_URL is not set")
    store = new_store("redis")
    try:
        store.client.script_flush()
        assert store.hit_get_renew(key("rate"), 60, [key("x")], renewal())[:2] == (1, [None])
    finally:
        names = list(store.client.scan_iter(f"{PREFIX}*{NS}*"))
        if names:
            store.client.delete(*names)

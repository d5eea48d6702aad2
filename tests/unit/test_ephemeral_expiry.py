"""The memory store forgets expired keys (lobby entries, rate counters, remembered
webhooks), and `add` is a set-if-absent on both backends."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from dogpile.cache import make_region

from meet_web.services.ephemeral import PREFIX, MemoryStore, RedisStore, make_store
from tests.conftest import REDIS_URL, cache_settings
from tests.conftest import STORE_BACKENDS as BACKENDS

NS = f"expiry-{uuid.uuid4().hex[:10]}"


def key(name: str) -> str:
    return f"{NS}:{name}"


@pytest.fixture(params=BACKENDS)
def store(request):
    store = make_store(cache_settings(REDIS_URL if request.param == "redis" else None))
    yield store
    if isinstance(store, RedisStore):
        names = list(store.client.scan_iter(f"{PREFIX}*{NS}*"))
        if names:
            store.client.delete(*names)


def memory_store(**kw) -> MemoryStore:
    return MemoryStore(make_region().configure("dogpile.cache.memory_pickle"), **kw)


def stored_keys(store: MemoryStore) -> int:
    return len(store.region.backend._cache)


# -- eviction ---------------------------------------------------------------------------


def test_expired_keys_are_evicted_by_later_writes():
    store = memory_store(sweep_interval=0.1)
    for i in range(500):
        store.put(key(f"guest-{i}"), {"n": i}, 0.5, group=key("waiting"))
        store.hit(key(f"rate-{i}"), 0.5)
    store.put(key("long"), "kept", 60)
    assert stored_keys(store) == 1002
    time.sleep(0.65)
    store.put(key("after"), "x", 60)
    assert stored_keys(store) == 2, "only the two unexpired keys remain"
    assert store.get(key("long")) == "kept"
    assert store.get(key("after")) == "x"


def test_a_renewed_key_is_not_evicted():
    store = memory_store(sweep_interval=0)
    store.put(key("polling"), "v1", 0.2)
    time.sleep(0.1)
    store.put(key("polling"), "v2", 0.5)  # renewed before it expired
    time.sleep(0.2)  # past the first lifetime only
    store.put(key("other"), "x", 60)
    assert store.get(key("polling")) == "v2"
    assert stored_keys(store) == 2


def test_sweeps_are_spaced_out():
    """A write does not pay for a sweep more than once per interval."""
    store = memory_store(sweep_interval=60)
    store.put(key("first"), "x", 0.05)  # the first write sweeps (nothing to do)
    time.sleep(0.1)
    store.put(key("second"), "y", 60)
    assert stored_keys(store) == 2, "no sweep yet: the interval has not passed"
    assert store.get(key("first")) is None, "expired keys still read as absent"


def test_deleted_and_taken_keys_leave_nothing_behind():
    store = memory_store(sweep_interval=0)
    store.put(key("a"), 1, 0.1)
    store.put(key("b"), 2, 0.1)
    store.delete(key("a"))
    assert store.take(key("b")) == 2
    time.sleep(0.15)
    store.put(key("c"), 3, 60)
    assert stored_keys(store) == 1


# -- add (set if absent) -------------------------------------------------------------------


def test_add_sets_only_an_absent_key(store):
    assert store.add(key("once"), {"by": "first"}, 10) is True
    assert store.add(key("once"), {"by": "second"}, 10) is False
    assert store.get(key("once")) == {"by": "first"}


def test_add_after_expiry(store):
    assert store.add(key("short"), 1, 0.2) is True
    time.sleep(0.3)
    assert store.add(key("short"), 2, 10) is True
    assert store.get(key("short")) == 2


def test_add_has_one_winner_among_threads(store):
    barrier = threading.Barrier(8)
    wins = []

    def race():
        barrier.wait()
        wins.append(store.add(key("race"), True, 10))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_count_is_the_unexpired_members_of_a_group(store):
    assert store.count(key("group")) == 0
    store.put(key("a"), 1, 0.2, group=key("group"))
    store.put(key("b"), 1, 10, group=key("group"))
    assert store.count(key("group")) == 2
    time.sleep(0.3)
    assert store.count(key("group")) == 1

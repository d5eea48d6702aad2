"""Ephemeral shared state (lobby entries, rate limits, creation callbacks) with per-key lifetimes.

The `cache.*` settings configure a dogpile.cache region. With the memory backend (one
process, development) values live in that region with their expiry time beside them,
and writes sweep out expired keys now and then (the backend itself never forgets one).
With the Redis backend the region's own Redis client is used directly, because dogpile
has neither per-key TTLs nor atomic operations: entries are JSON strings with SET EX,
a room's members are a sorted set scored by expiry (so listing a room reads only that
room's entries), and counters use INCR. Keys are namespaced `meet:<area>:...`; nothing
depends on Python's per-process `hash()`.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from dogpile.cache import make_region
from dogpile.cache.api import NO_VALUE

PREFIX = "meet:"
SWEEP_INTERVAL = 5.0  # seconds between two sweeps of the memory store


def make_store(settings) -> EphemeralStore:
    config = {
        key: value
        for key, value in settings.items()
        if key.startswith("cache.") and value not in ("", None)
    }
    region = make_region().configure_from_config(config, "cache.")
    client = getattr(region.backend, "writer_client", None)
    if client is not None:
        return RedisStore(client)
    return MemoryStore(region)


@dataclass(frozen=True)
class Renewal:
    """Renew the lifetime of `keys[index]` (a JSON object) and its place in `group`
    when, in the same atomic step: the hit count is at most `limit`, the object's
    `field` equals `value`, and none of `keys[i]` for i in `unless` holds anything.

    The value itself is left as it is. For a lobby poll this is the whole of its work
    in the steady state: a waiting entry renewed, unless decided or removed meanwhile.
    """

    index: int
    ttl: float
    group: str
    limit: int
    field: str
    value: str
    unless: tuple[int, ...] = ()

    def applies(self, hits: int, values: list[Any]) -> bool:
        target = values[self.index]
        return (
            hits <= self.limit
            and isinstance(target, dict)
            and target.get(self.field) == self.value
            and all(values[i] is None for i in self.unless)
        )


class EphemeralStore:
    """Keyed JSON values with lifetimes, grouped in sets; each call is one round trip."""

    def get_many(self, keys: list[str]) -> list[Any]:
        raise NotImplementedError

    def put(
        self,
        key: str,
        value: Any,
        ttl: float,
        *,
        group: str | None = None,
        ungroup: str | None = None,
    ) -> None:
        """Store `value`; add `key` to `group` (expiring with it), remove it from `ungroup`."""
        raise NotImplementedError

    def delete(self, key: str, *, groups: tuple[str, ...] = ()) -> None:
        raise NotImplementedError

    def take(self, key: str) -> Any:
        """Read and delete in one step: only one caller ever gets the value."""
        raise NotImplementedError

    def add(self, key: str, value: Any, ttl: float) -> bool:
        """Store `value` (not None) only if `key` holds nothing unexpired; True if stored.

        Atomic: of concurrent callers, across processes on Redis, exactly one wins.
        """
        raise NotImplementedError

    def group(self, group: str) -> list[str]:
        """The unexpired keys of a group."""
        raise NotImplementedError

    def delete_group(self, group: str) -> None:
        """Delete a group and every key in it."""
        raise NotImplementedError

    def count(self, group: str) -> int:
        """How many unexpired keys a group has."""
        raise NotImplementedError

    def hit(self, key: str, window: int) -> int:
        """Count one event in a fixed window; return the count so far."""
        raise NotImplementedError

    def hit_and_get(self, counter: str, window: int, keys: list[str]) -> tuple[int, list[Any]]:
        """`hit(counter, window)` and `get_many(keys)` in one round trip."""
        return self.hit(counter, window), self.get_many(keys)

    def hit_get_renew(
        self, counter: str, window: int, keys: list[str], renewal: Renewal
    ) -> tuple[int, list[Any], bool]:
        """`hit_and_get`, and in the same step `renewal` (see there); one round trip.

        Returns the count, the values and whether the renewal took place.
        """
        raise NotImplementedError

    def get(self, key: str) -> Any:
        return self.get_many([key])[0]

    def ping(self) -> bool:
        return True


class MemoryStore(EphemeralStore):
    """One process only; a lock makes read-modify-write steps atomic.

    Every write also notes (expiry, key) in a heap; at most once per `sweep_interval`
    a write pops the notes that have passed and deletes their keys unless a later write
    renewed them, so expired keys cost memory for one interval at most and each
    sweep costs only what has expired.
    """

    def __init__(self, region, *, sweep_interval: float = SWEEP_INTERVAL):
        self.region = region
        self.lock = threading.Lock()
        self.sweep_interval = sweep_interval
        self._expiries: list[tuple[float, str]] = []
        self._next_sweep = 0.0

    def _read(self, key: str) -> Any:
        stored = self.region.get(PREFIX + key, ignore_expiration=True)
        if stored is NO_VALUE or stored["expires"] < time.time():
            return None
        return stored["value"]

    def _write(self, key: str, value: Any, ttl: float) -> None:
        self._store(key, value, time.time() + ttl)

    def _store(self, key: str, value: Any, expires: float, *, renewed: bool = True) -> None:
        """Write under the lock; `renewed=False` when the expiry is the stored one."""
        self.region.set(PREFIX + key, {"value": value, "expires": expires})
        if renewed:
            heapq.heappush(self._expiries, (expires, key))
        self._sweep()

    def _sweep(self) -> None:
        now = time.time()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.sweep_interval
        while self._expiries and self._expiries[0][0] < now:
            _, key = heapq.heappop(self._expiries)
            stored = self.region.get(PREFIX + key, ignore_expiration=True)
            if stored is not NO_VALUE and stored["expires"] < now:
                self.region.delete(PREFIX + key)

    def _members(self, group: str) -> dict[str, float]:
        now = time.time()
        members = self._read(group) or {}
        return {k: exp for k, exp in members.items() if exp >= now}

    def get_many(self, keys):
        with self.lock:
            return [self._read(k) for k in keys]

    def put(self, key, value, ttl, *, group=None, ungroup=None):
        with self.lock:
            self._write(key, value, ttl)
            if group is not None:
                members = self._members(group)
                members[key] = time.time() + ttl
                self._write(group, members, max(members.values()) - time.time())
            if ungroup is not None:
                self._discard(ungroup, key)

    def _discard(self, group: str, key: str) -> None:
        members = self._members(group)
        if members.pop(key, None) is not None:
            self._write(group, members, max(members.values(), default=time.time()) - time.time())

    def delete(self, key, *, groups=()):
        with self.lock:
            self.region.delete(PREFIX + key)
            for group in groups:
                self._discard(group, key)

    def take(self, key):
        with self.lock:
            value = self._read(key)
            self.region.delete(PREFIX + key)
            return value

    def add(self, key, value, ttl):
        with self.lock:
            if self._read(key) is not None:
                return False
            self._write(key, value, ttl)
            return True

    def group(self, group):
        with self.lock:
            return list(self._members(group))

    def count(self, group):
        with self.lock:
            return len(self._members(group))

    def delete_group(self, group):
        with self.lock:
            for key in self._members(group):
                self.region.delete(PREFIX + key)
            self.region.delete(PREFIX + group)

    def hit_get_renew(self, counter, window, keys, renewal):
        with self.lock:
            hits = self._hit(counter, window)
            values = [self._read(k) for k in keys]
            renewed = renewal.applies(hits, values)
            if renewed:
                key = keys[renewal.index]
                self._write(key, values[renewal.index], renewal.ttl)
                members = self._members(renewal.group)
                members[key] = time.time() + renewal.ttl
                self._write(renewal.group, members, max(members.values()) - time.time())
            return hits, values, renewed

    def hit(self, key, window):
        with self.lock:
            return self._hit(key, window)

    def _hit(self, key, window):
        count = (self._read(key) or 0) + 1
        stored = self.region.get(PREFIX + key, ignore_expiration=True)
        if count > 1 and stored is not NO_VALUE:
            self._store(key, count, stored["expires"], renewed=False)
        else:  # a new window
            self._store(key, count, time.time() + window)
        return count


def _loads(raw: bytes | str | None) -> Any:
    """A stored value; one that is not JSON (written by something else) comes back as
    its raw text, for the caller to reject like any other malformed value."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


# RedisStore.hit_get_renew: a script, so that the count, the reads and the renewal are
# one round trip and one atomic step (a decision written between a poll's read and its
# renewal cannot be undone by it). KEYS: the counter, the n keys read, the group.
# ARGV: window, n, limit, index (1-based) of the key to renew, its lifetime in ms, its
# score (expiry, epoch seconds), now, the group's lifetime in s, its member name, the
# field and value to match, then the indexes of the keys that must be empty.
_HIT_GET_RENEW = """
local hits = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
local n = tonumber(ARGV[2])
local values = redis.call('MGET', unpack(KEYS, 2, n + 1))
local renewed = 0
local i = tonumber(ARGV[4])
if hits <= tonumber(ARGV[3]) and values[i] then
  local clear = true
  for j = 12, #ARGV do
    if values[tonumber(ARGV[j])] then clear = false end
  end
  local decoded, object = pcall(cjson.decode, values[i])
  if clear and decoded and type(object) == 'table' and object[ARGV[10]] == ARGV[11] then
    local group = KEYS[n + 2]
    redis.call('PEXPIRE', KEYS[i + 1], ARGV[5])
    redis.call('ZADD', group, ARGV[6], ARGV[9])
    redis.call('ZREMRANGEBYSCORE', group, '-inf', ARGV[7])
    redis.call('EXPIRE', group, ARGV[8], 'GT')
    redis.call('EXPIRE', group, ARGV[8], 'NX')
    renewed = 1
  end
end
return {hits, renewed, values}
"""


class RedisStore(EphemeralStore):
    def __init__(self, client):
        self.client = client
        self._hit_get_renew = client.register_script(_HIT_GET_RENEW)

    def get_many(self, keys):
        if not keys:
            return []
        return [_loads(raw) for raw in self._send(("MGET", *(PREFIX + k for k in keys)))]

    def put(self, key, value, ttl, *, group=None, ungroup=None):
        pipe = self.client.pipeline(transaction=False)
        pipe.set(PREFIX + key, json.dumps(value), px=max(1, int(ttl * 1000)))
        if group is not None:
            expires = time.time() + ttl
            pipe.zadd(PREFIX + group, {key: expires})
            pipe.zremrangebyscore(PREFIX + group, "-inf", time.time())
            # the group lives as long as its longest member
            pipe.expire(PREFIX + group, int(ttl) + 1, gt=True)
            pipe.expire(PREFIX + group, int(ttl) + 1, nx=True)
        if ungroup is not None:
            pipe.zrem(PREFIX + ungroup, key)
        pipe.execute()

    def delete(self, key, *, groups=()):
        pipe = self.client.pipeline(transaction=False)
        pipe.delete(PREFIX + key)
        for group in groups:
            pipe.zrem(PREFIX + group, key)
        pipe.execute()

    def take(self, key):
        return _loads(self.client.getdel(PREFIX + key))

    def add(self, key, value, ttl):
        command = ("SET", PREFIX + key, json.dumps(value), "PX", max(1, int(ttl * 1000)), "NX")
        return self._send(command) is not None

    def group(self, group):
        members = self.client.zrangebyscore(PREFIX + group, time.time(), "+inf")
        return [m.decode() if isinstance(m, bytes) else m for m in members]

    def delete_group(self, group):
        keys = self.client.zrange(PREFIX + group, 0, -1)
        names = [PREFIX + (k.decode() if isinstance(k, bytes) else k) for k in keys]
        self.client.delete(PREFIX + group, *names)

    def count(self, group):
        return int(self.client.zcount(PREFIX + group, time.time(), "+inf"))

    def hit(self, key, window):
        return self.hit_and_get(key, window, [])[0]

    def hit_and_get(self, counter, window, keys):
        pipe = self.client.pipeline(transaction=False)
        pipe.incr(PREFIX + counter)
        pipe.expire(PREFIX + counter, window, nx=True)
        if keys:
            pipe.mget([PREFIX + k for k in keys])
        count, _, *values = pipe.execute()
        return int(count), [_loads(raw) for raw in values[0]] if keys else []

    def hit_get_renew(self, counter, window, keys, renewal):
        now = time.time()
        hits, renewed, values = self._run_script(
            self._hit_get_renew,
            [PREFIX + counter, *(PREFIX + k for k in keys), PREFIX + renewal.group],
            [
                window,
                len(keys),
                renewal.limit,
                renewal.index + 1,
                max(1, int(renewal.ttl * 1000)),
                now + renewal.ttl,
                now,
                int(renewal.ttl) + 1,
                keys[renewal.index],
                renewal.field,
                renewal.value,
                *(i + 1 for i in renewal.unless),
            ],
        )
        return int(hits), [_loads(raw) for raw in values], bool(renewed)

    def _run_script(self, script, keys: list, args: list):
        """EVALSHA, loading the script first if the server lacks it (after a flush)."""
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        return self._send(command, on_missing_script=("SCRIPT", "LOAD", script.script))

    def _send(self, command: tuple, *, on_missing_script: tuple | None = None):
        """One command on a pooled connection, without redis-py's per-command layers
        (retries, observability hooks, reply callbacks): a third of the CPU of the hot
        paths' single commands. Only for commands whose raw reply is what the caller
        wants. The pool still replaces a connection the server closed when it is checked
        out; a connection that fails mid-command is dropped and the error raised, as
        redis-py does.
        """
        pool = self.client.connection_pool
        connection = pool.get_connection()
        try:
            try:
                connection.send_command(*command)
                return connection.read_response()
            except redis.exceptions.NoScriptError:
                if on_missing_script is None:
                    raise
                connection.send_command(*on_missing_script)
                connection.read_response()
                connection.send_command(*command)
                return connection.read_response()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
            connection.disconnect()
            raise
        finally:
            pool.release(connection)

    def ping(self):
        return bool(self.client.ping())

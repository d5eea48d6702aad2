"""The lobby: guests knock, room administrators admit or deny them.

A participant is known by one identity, the same in the lobby and in LiveKit: the user
id for signed-in users, the lobby cookie's UUID for guests. Entries live in the
ephemeral store with a lifetime per status (waiting is renewed by each poll, so a guest
who stops polling drops out); a room's waiting guests form a group, so listing them
reads only that room's entries.

Knocks cost little and come from anyone, so the lobby bounds them: a room holds at
most `max_waiting` waiting participants, a client address creates at most
`address_rate_limit` new waiting entries a minute (polls of existing ones are free),
and the meeting hears `participantWaiting` at most once per `notify_interval`: a knock
inside the interval leaves a mark that the next poll after it turns into one message.
The LiveKit call itself runs where the caller says (after the commit, for requests).

A participant leaves the lobby by withdrawing (their entry goes, waiting or decided,
and they may knock again at once); a denied one asks again by having the denial
forgotten. Neither is a removal, which bars knocks for `removed_timeout`.

A participant who cannot poll (a phone caller, on the line in a holding room) is
`hold`-ed: their waiting entry lives as long as the caller says, under the same limits
as a knock, in the same list. Whoever must act on a decision (move the caller into the
meeting) registers with `on_decision`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .ephemeral import EphemeralStore, Renewal
from .livekit import LiveKitError, LiveKitGateway, participant_color

log = logging.getLogger(__name__)


class LobbyStatus(StrEnum):
    UNKNOWN = "unknown"
    WAITING = "waiting"
    ACCEPTED = "accepted"
    DENIED = "denied"


class ParticipantNotFound(Exception):
    pass


class RemovedRecently(Exception):
    """The identity was removed from the meeting and may not knock again yet."""


class TooManyRequests(Exception):
    pass


class LobbyFull(TooManyRequests):
    """The room has `max_waiting` participants waiting already: no newcomer for now."""


def run_now(fn: Callable, *args) -> None:
    fn(*args)


@dataclass(frozen=True)
class LobbyConfig:
    waiting_timeout: int
    accepted_timeout: int
    denied_timeout: int
    removed_timeout: int
    rate_limit: int = 150
    rate_window: int = 60
    address_rate_limit: int = 30
    max_waiting: int = 100
    notify_interval: float = 1.0
    notification_type: str = "participantWaiting"

    @classmethod
    def from_settings(cls, settings) -> LobbyConfig:
        return cls(
            waiting_timeout=settings["lobby.waiting_timeout"],
            accepted_timeout=settings["lobby.accepted_timeout"],
            denied_timeout=settings["lobby.denied_timeout"],
            removed_timeout=settings["lobby.removed_timeout"],
            rate_limit=settings["lobby.rate_limit"],
            address_rate_limit=settings["lobby.address_rate_limit"],
            max_waiting=settings["lobby.max_waiting_per_room"],
        )


@dataclass
class LobbyEntry:
    id: str
    username: str
    status: LobbyStatus
    color: str
    # True only as returned by the knock that created the entry; never stored
    is_new: bool = field(default=False, compare=False)

    def as_json(self) -> dict:
        # spelled out: dataclasses.asdict deep-copies, on every poll
        return {
            "id": self.id,
            "username": self.username,
            "status": str(self.status),
            "color": self.color,
        }

    @classmethod
    def from_json(cls, data) -> LobbyEntry | None:
        try:
            return cls(
                id=str(data["id"]),
                username=str(data["username"]),
                status=LobbyStatus(data["status"]),
                color=str(data["color"]),
            )
        except (KeyError, TypeError, ValueError):
            return None  # corrupted: treated as absent


def _entry_key(room_id, identity: str) -> str:
    return f"lobby:{room_id}:{identity}"


def _waiting_group(room_id) -> str:
    return f"lobby:{room_id}:waiting"


def _room_group(room_id) -> str:
    return f"lobby:{room_id}:all"


def _rate_key(identity: str) -> str:
    return f"rate:request-entry:{identity}"


def _decision_key(room_id, identity: str) -> str:
    return f"lobby-decision:{room_id}:{identity}"


def removed_key(room_id, identity: str) -> str:
    """The mark of a participant removed from the meeting (see `is_removed`)."""
    return f"lobby-removed:{room_id}:{identity}"


def _address_key(address: str) -> str:
    return f"rate:lobby-knock:{address}"


def _notified_key(room_id) -> str:
    return f"lobby-notified:{room_id}"


def _unannounced_key(room_id) -> str:
    return f"lobby-unannounced:{room_id}"


class Lobby:
    def __init__(self, store: EphemeralStore, livekit: LiveKitGateway, config: LobbyConfig):
        self.store, self.livekit, self.config = store, livekit, config
        self._decision_hooks: list[Callable[[Any, LobbyEntry], None]] = []

    def on_decision(self, hook: Callable[[Any, LobbyEntry], None]) -> None:
        """Have `hook(room_id, entry)` called after each decision is stored; it may
        raise ParticipantNotFound (then so does `decide`)."""
        self._decision_hooks.append(hook)

    def _ttl(self, status: LobbyStatus) -> int:
        return {
            LobbyStatus.WAITING: self.config.waiting_timeout,
            LobbyStatus.ACCEPTED: self.config.accepted_timeout,
            LobbyStatus.DENIED: self.config.denied_timeout,
        }[status]

    def _save(self, room_id, entry: LobbyEntry, ttl: float | None = None) -> None:
        key = _entry_key(room_id, entry.id)
        waiting = entry.status == LobbyStatus.WAITING
        self.store.put(
            key,
            entry.as_json(),
            self._ttl(entry.status) if ttl is None else ttl,
            group=_waiting_group(room_id) if waiting else _room_group(room_id),
            ungroup=None if waiting else _waiting_group(room_id),
        )

    def is_removed(self, room_id, identity: str) -> bool:
        return self.store.get(removed_key(room_id, identity)) is not None

    def request_entry(
        self,
        room_id,
        identity: str,
        username: str,
        *,
        may_skip: bool | Callable[[Any], bool],
        along: str | None = None,
        address: str | None = None,
        defer: Callable[..., None] = run_now,
    ) -> LobbyEntry:
        """One poll of a participant at the door; the caller mints a token if accepted.

        `may_skip` says whether the caller may enter without the lobby; a callable is
        asked with the value of the store key `along`, read in the same round trip
        (the caller's check of the room). `address` is the client's (None: no limit
        per address); `defer(fn, *args)` runs the LiveKit notification, at once by
        default.

        In the steady state (a waiting guest polling) this is one round trip: the store
        counts the poll, reads the entry and what bears on it, and renews a waiting
        entry unless the guest was decided or removed meanwhile, in one step.
        """
        keys = [
            _entry_key(room_id, identity),
            removed_key(room_id, identity),
            _unannounced_key(room_id),
            _decision_key(room_id, identity),
        ]
        if along is not None:
            keys.append(along)
        hits, values, renewed = self.store.hit_get_renew(
            _rate_key(identity), self.config.rate_window, keys, self._renewal(room_id)
        )
        cached, removed, unannounced, decided = values[:4]
        if hits > self.config.rate_limit:
            raise TooManyRequests()
        if removed is not None:
            raise RemovedRecently()
        entry = LobbyEntry.from_json(cached) if cached is not None else None
        if may_skip if isinstance(may_skip, bool) else may_skip(values[4] if along else None):
            if renewed:  # waiting from before the caller could skip: off the list
                self.store.delete(keys[0], groups=(_waiting_group(room_id),))
            color = entry.color if entry else participant_color(identity)
            return LobbyEntry(identity, username, LobbyStatus.ACCEPTED, color)
        decision = LobbyEntry.from_json(decided) if decided is not None else None
        if decision is not None and (entry is None or entry.status == LobbyStatus.WAITING):
            # A poll that read "waiting" before decide() wrote it back after (the
            # memory store, or a write from before the renewal was atomic): the
            # decision stands, and leaves the waiting list again.
            if entry is not None:
                self._save(room_id, decision)
            entry = decision
        if entry is None:
            self._admit_newcomer(room_id, address)
            color = participant_color(identity)
            entry = LobbyEntry(identity, username, LobbyStatus.WAITING, color, is_new=True)
            self._save(room_id, entry)
            self._announce(room_id, defer, newcomer=True, marked=unannounced is not None)
        elif entry.status == LobbyStatus.WAITING:
            if not renewed or entry.username != username:
                entry.username = username
                self._save(room_id, entry)  # renews the waiting lifetime
            if unannounced is not None:
                self._announce(room_id, defer, newcomer=False, marked=True)
        elif entry.status == LobbyStatus.ACCEPTED:
            entry.username = username
        return entry

    def _renewal(self, room_id) -> Renewal:
        """A waiting entry's renewal by a poll, unless removed (keys[1]) or decided
        (keys[3]) meanwhile."""
        return Renewal(
            index=0,
            ttl=self.config.waiting_timeout,
            group=_waiting_group(room_id),
            limit=self.config.rate_limit,
            field="status",
            value=str(LobbyStatus.WAITING),
            unless=(1, 3),
        )

    def _admit_newcomer(self, room_id, address: str | None) -> None:
        """Raise LobbyFull or TooManyRequests if a new waiting entry may not be made.

        The room's count is read, not reserved: concurrent newcomers may overshoot
        `max_waiting` by a few, which bounds the lobby all the same.
        """
        config = self.config
        if (
            config.max_waiting > 0
            and self.store.count(_waiting_group(room_id)) >= config.max_waiting
        ):
            raise LobbyFull()
        if address is not None and config.address_rate_limit > 0:
            hits = self.store.hit(_address_key(address), config.rate_window)
            if hits > config.address_rate_limit:
                raise TooManyRequests()

    def _announce(self, room_id, defer: Callable[..., None], *, newcomer: bool, marked: bool):
        """Have the meeting told, unless it was within `notify_interval`: then a
        newcomer leaves a mark for a later poll (`marked`: this poll found one)."""
        interval = self.config.notify_interval
        if self.store.add(_notified_key(room_id), True, interval):
            if marked:
                self.store.delete(_unannounced_key(room_id))
            defer(self._notify_waiting, room_id)
        elif newcomer:
            # lives past the interval and past the newcomer's next poll
            lifetime = self.config.waiting_timeout + interval
            self.store.put(_unannounced_key(room_id), True, lifetime)

    def _notify_waiting(self, room_id) -> None:
        room = str(room_id)
        try:
            if self.livekit.room_exists(room):
                self.livekit.send_data(room, {"type": self.config.notification_type})
        except LiveKitError as exc:
            log.info("lobby notification for room %s not sent: %s", room, exc)

    def decide(self, room_id, identity: str, *, allow: bool) -> LobbyEntry:
        entry = LobbyEntry.from_json(self.store.get(_entry_key(room_id, identity)) or {})
        if entry is None:
            raise ParticipantNotFound(identity)
        entry.status = LobbyStatus.ACCEPTED if allow else LobbyStatus.DENIED
        self._save(room_id, entry)
        # A concurrent poll may overwrite the entry with its renewal ("waiting"): polls
        # read this copy too, which only decide() writes.
        self.store.put(
            _decision_key(room_id, identity),
            entry.as_json(),
            self._ttl(entry.status),
            group=_room_group(room_id),
        )
        for hook in self._decision_hooks:
            hook(room_id, entry)
        return entry

    def hold(
        self, room_id, identity: str, username: str, *, ttl: float, defer=run_now
    ) -> LobbyEntry:
        """A participant who cannot poll waits for `ttl` (their `withdraw` ends it
        sooner); the entry as it stands (an admission stands; a denial gives way to a
        new wait). Raises RemovedRecently or LobbyFull as a knock would; a new wait is
        announced to the meeting as a knock's is (`defer` runs the LiveKit call)."""
        entry_key, decision = _entry_key(room_id, identity), _decision_key(room_id, identity)
        cached, removed, decided = self.store.get_many(
            [entry_key, removed_key(room_id, identity), decision]
        )
        if removed is not None:
            raise RemovedRecently()
        for data in (decided, cached):
            entry = LobbyEntry.from_json(data) if data is not None else None
            if entry is not None and entry.status == LobbyStatus.ACCEPTED:
                return entry
        entry = LobbyEntry.from_json(cached) if cached is not None else None
        if entry is not None and entry.status == LobbyStatus.WAITING:
            entry.username = username
            self._save(room_id, entry, ttl)
            return entry
        if entry is not None or decided is not None:
            self._forget(room_id, identity)  # a denial: this is a new request
        self._admit_newcomer(room_id, None)
        entry = LobbyEntry(
            identity, username, LobbyStatus.WAITING, participant_color(identity), is_new=True
        )
        self._save(room_id, entry, ttl)
        self._announce(room_id, defer, newcomer=True, marked=False)
        return entry

    def reopen(self, room_id, entry: LobbyEntry, *, ttl: float) -> None:
        """Put a decided participant back in the list, waiting for `ttl` (the decision
        could not be carried out)."""
        self.store.delete(_decision_key(room_id, entry.id), groups=(_room_group(room_id),))
        self._save(
            room_id, LobbyEntry(entry.id, entry.username, LobbyStatus.WAITING, entry.color), ttl
        )

    def entry(self, room_id, identity: str) -> LobbyEntry | None:
        """The participant's entry as decided (a decision stands over a poll's write)."""
        cached, decided = self.store.get_many(
            [_entry_key(room_id, identity), _decision_key(room_id, identity)]
        )
        for data in (decided, cached):
            entry = LobbyEntry.from_json(data) if data is not None else None
            if entry is not None:
                return entry
        return None

    def waiting(self, room_id) -> list[LobbyEntry]:
        keys = self.store.group(_waiting_group(room_id))
        entries = []
        for key, data in zip(keys, self.store.get_many(keys), strict=True):
            entry = LobbyEntry.from_json(data) if data is not None else None
            if entry is None:
                if data is not None:
                    self.store.delete(key, groups=(_waiting_group(room_id),))
                continue
            if entry.status == LobbyStatus.WAITING:
                entries.append(entry)
        return entries

    def clear_room(self, room_id) -> None:
        self.store.delete_group(_waiting_group(room_id))
        self.store.delete_group(_room_group(room_id))

    def withdraw(self, room_id, identity: str) -> None:
        """The participant's own leaving of the lobby: their entry, waiting or decided,
        goes at once. Not a removal: they may knock again straight away, and a new
        knock starts a new wait (a denial is not kept against them)."""
        self._forget(room_id, identity)

    def forget_denial(self, room_id, identity: str) -> None:
        """Let a denied participant ask again: a denial on them goes, so that their next
        knock waits anew; a wait or an admission stays as it is."""
        keys = [_entry_key(room_id, identity), _decision_key(room_id, identity)]
        for data in self.store.get_many(keys):
            entry = LobbyEntry.from_json(data) if data is not None else None
            if entry is not None and entry.status == LobbyStatus.DENIED:
                self._forget(room_id, identity)
                return

    def _forget(self, room_id, identity: str) -> None:
        self.store.delete(
            _entry_key(room_id, identity),
            groups=(_waiting_group(room_id), _room_group(room_id)),
        )
        self.store.delete(_decision_key(room_id, identity), groups=(_room_group(room_id),))

    def participant_removed(self, room_id, identity: str) -> None:
        """Forget their admission and refuse their knocks for `removed_timeout`."""
        self._forget(room_id, identity)
        self.store.put(removed_key(room_id, identity), True, self.config.removed_timeout)

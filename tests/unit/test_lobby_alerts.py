"""What the lobby tells the guest-waiting alert: only the knock that creates an entry
is new; later polls, and the stored entry, are not."""

from __future__ import annotations

import uuid

from meet_web.services.ephemeral import make_store
from meet_web.services.lobby import Lobby, LobbyStatus
from tests.conftest import cache_settings
from tests.unit.test_lobby import CONFIG, gateway_for


def test_only_the_creating_knock_is_new(livekit):
    lobby = Lobby(make_store(cache_settings(None)), gateway_for(livekit.url, livekit), CONFIG)
    room, who = uuid.uuid4(), str(uuid.uuid4())
    first = lobby.request_entry(room, who, "Ann", may_skip=False)
    assert (first.status, first.is_new) == (LobbyStatus.WAITING, True)
    assert "is_new" not in first.as_json()
    again = lobby.request_entry(room, who, "Ann", may_skip=False)
    assert (again.status, again.is_new) == (LobbyStatus.WAITING, False)
    assert again == first  # the flag is not part of the entry
    (listed,) = lobby.waiting(room)
    assert listed.is_new is False


def test_a_caller_who_may_skip_is_never_new(livekit):
    lobby = Lobby(make_store(cache_settings(None)), gateway_for(livekit.url, livekit), CONFIG)
    entry = lobby.request_entry(uuid.uuid4(), str(uuid.uuid4()), "Ann", may_skip=True)
    assert (entry.status, entry.is_new) == (LobbyStatus.ACCEPTED, False)

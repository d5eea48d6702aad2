"""Phone callers obey the room's admission rules, as browsers do.

A caller's PIN leads to the room's holding room (dispatch.py). When LiveKit reports the
SIP participant there (`participant_joined`), the room's rules decide, as for a guest
without an account (the ACL's answer for `Everyone`): in a public room the caller is
moved into the meeting at once (MoveParticipant); in a trusted or restricted one they
wait in the room's lobby, the same list as web guests, keyed by their LiveKit identity
and named by their masked number ("+33 6 •• •• •• 42"). Admitting them moves them into
the meeting, denying disconnects them (Lobby.on_decision); a caller admitted within the
admission's lifetime who calls again goes straight in; one removed from the meeting
cannot call back in for `lobby.removed_timeout`. The meeting need not have started: a
caller may wait before anyone is in it (the managers get the "a guest is waiting"
e-mail), and is moved into it once admitted (the LiveKit room is created first).

A caller cannot poll, so their wait lasts as long as an admission (`lobby.accepted_timeout`)
and ends when they hang up (`participant_left` in the holding room); the lobby of a
meeting that finishes is emptied, so the callers still on the line in its holding room
are put back. A SIP participant found in the meeting itself without an admission (a
rule from before, leading there) is moved to the holding room and waits. A PIN of a
room deleted since: the caller is disconnected and the room's rules deleted.
"""

from __future__ import annotations

import logging
import re

import phonenumbers
from livekit import api
from pyramid.authorization import ACLHelper, Everyone

from ..db import after_commit
from ..resources import ApiRoot, RoomContainer
from ..resources.rooms import RoomResource, room_at
from ..security.permissions import Permission
from ..services.livekit import LiveKitError, LiveKitGateway, LiveKitNotFound
from ..services.lobby import (
    Lobby,
    LobbyEntry,
    LobbyFull,
    LobbyStatus,
    ParticipantNotFound,
    RemovedRecently,
)
from ..services.lobby_alerts import after_knock
from ..services.webhooks import WebhookHandlerError
from .dispatch import DispatchRules
from .names import (
    holding_room,
    is_phone_identity,
    meeting_room,
    room_id_of_holding,
    room_id_of_meeting,
)

log = logging.getLogger(__name__)

# The lobby's name for a caller whose number LiveKit does not give.
PHONE_CALLER = "Phone caller"
MASK = "•"
SIP = api.ParticipantInfo.Kind.SIP


def masked_number(raw: str, default_region: str) -> str | None:
    """The caller's number with all but its country code, its first group and its last
    two digits hidden: "+33 6 •• •• •• 42"; None when it holds no digit."""
    if not re.search(r"\d", raw or ""):
        return None
    try:
        parsed = phonenumbers.parse(raw, default_region or None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        return _mask(re.sub(r"[^\d]", "", raw))  # not a number it knows: digits only
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    prefix = f"+{parsed.country_code}"
    if not formatted.startswith(prefix):
        return _mask(formatted)
    return prefix + _mask(formatted.removeprefix(prefix))


def _mask(text: str) -> str:
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    first_group = []
    for i in digits:
        if first_group and i != first_group[-1] + 1:
            break
        first_group.append(i)
    keep = {*first_group, *digits[-2:]}
    if len(keep) >= len(digits):  # too short to show a group and hide anything
        keep = set(digits[-2:])
    return "".join(MASK if i in digits and i not in keep else c for i, c in enumerate(text))


def caller_name(participant: api.ParticipantInfo, default_region: str) -> str:
    number = participant.attributes.get("sip.phoneNumber", "")
    if not number and participant.identity.startswith("sip_"):
        number = participant.identity.removeprefix("sip_")
    return masked_number(number, default_region) or PHONE_CALLER


def joins_directly(room: RoomResource) -> bool:
    """Whether the room lets in anyone without an account without the lobby: a caller
    is no more than that."""
    return bool(ACLHelper().permits(room, [Everyone], Permission.ROOM_JOIN))


class PhoneCallers:
    def __init__(
        self,
        *,
        lobby: Lobby,
        livekit: LiveKitGateway,
        rules: DispatchRules,
        default_region: str,
        wait_ttl: int,
    ):
        self.lobby, self.livekit, self.rules = lobby, livekit, rules
        self.default_region, self.wait_ttl = default_region, wait_ttl

    # webhooks -----------------------------------------------------------------------

    def on_participant_joined(self, event: api.WebhookEvent, request) -> None:
        participant = event.participant
        if participant.kind != SIP:
            return
        name = event.room.name
        room_id = room_id_of_holding(name) or room_id_of_meeting(name)
        if room_id is not None:
            self._arrived(request, room_id, participant, here=name)

    def on_participant_left(self, event: api.WebhookEvent, _request) -> None:
        """A caller who hangs up while waiting leaves the lobby (an admission stays:
        being moved into the meeting also leaves the holding room)."""
        participant = event.participant
        room_id = room_id_of_holding(event.room.name)
        if participant.kind != SIP or room_id is None:
            return
        entry = self.lobby.entry(room_id, participant.identity)
        if entry is not None and entry.status != LobbyStatus.ACCEPTED:
            self.lobby.withdraw(room_id, participant.identity)

    def on_meeting_finished(self, event: api.WebhookEvent, _request) -> None:
        """The lobby of a finished meeting is emptied: the callers still waiting on the
        line are put back (without a new announcement to the managers)."""
        room_id = room_id_of_meeting(event.room.name)
        if room_id is None:
            return
        try:
            waiting = self.livekit.list_participants(holding_room(room_id))
        except LiveKitNotFound:
            return
        except LiveKitError as exc:
            log.warning("callers waiting for room %s not listed: %s", room_id, exc.message)
            return
        for participant in waiting:
            if (
                participant.kind != SIP
                or participant.state == api.ParticipantInfo.State.DISCONNECTED
            ):
                continue
            try:
                self.lobby.hold(
                    room_id,
                    participant.identity,
                    caller_name(participant, self.default_region),
                    ttl=self.wait_ttl,
                    defer=lambda *_: None,
                )
            except (RemovedRecently, LobbyFull):
                continue

    # a caller at the door -------------------------------------------------------------

    def _arrived(self, request, room_id, participant: api.ParticipantInfo, *, here: str):
        identity = participant.identity
        name = caller_name(participant, self.default_region)  # the logs', too: no full number
        in_holding = here == holding_room(room_id)
        room = room_at(RoomContainer(ApiRoot(request)), str(room_id))
        if room is None:
            log.info("caller %s dialled the PIN of room %s, deleted since", name, room_id)
            self._hang_up(here, identity)
            self._delete_leftover_rules(room_id)
            return
        if joins_directly(room):
            if in_holding:
                self._guarded(lambda: self._let_in(room_id, identity, name))
            return
        try:
            entry = self.lobby.hold(
                room_id,
                identity,
                name,
                ttl=self.wait_ttl,
                defer=lambda fn, *args: after_commit(request, fn, *args),
            )
        except (RemovedRecently, LobbyFull) as exc:
            log.info("caller %s refused at room %s: %s", name, room_id, type(exc).__name__)
            self._hang_up(here, identity)
            return
        if entry.status == LobbyStatus.ACCEPTED:
            if in_holding:
                self._guarded(lambda: self._let_in(room_id, identity, entry.username))
            return
        if not in_holding:
            self._send_back(room_id, identity, name)
        after_knock(request, room_id, entry)

    def _let_in(self, room_id, identity: str, name: str) -> None:
        """Into the meeting, its LiveKit room made first (nobody may be in it yet); then
        the caller shows there by the name the lobby gave them."""
        meeting = meeting_room(room_id)
        self.livekit.create_room(meeting)
        self.livekit.move_participant(holding_room(room_id), identity, meeting)
        if not name:
            return
        try:
            self.livekit.update_participant(meeting, identity, name=name)
        except LiveKitError as exc:
            log.info("caller %s in room %s not renamed: %s", name, room_id, exc.message)

    def _send_back(self, room_id, identity: str, name: str) -> None:
        """A caller in the meeting without an admission goes to the holding room; if
        LiveKit cannot move them, they are disconnected rather than left in."""
        meeting = meeting_room(room_id)
        try:
            self.livekit.create_room(holding_room(room_id))
            self.livekit.move_participant(meeting, identity, holding_room(room_id))
        except LiveKitNotFound:
            self.lobby.withdraw(room_id, identity)
        except LiveKitError as exc:
            log.warning("caller %s not moved out of room %s: %s", name, room_id, exc.message)
            self.lobby.withdraw(room_id, identity)
            self._hang_up(meeting, identity)

    def _guarded(self, action) -> None:
        """Run a LiveKit action for a webhook: a caller gone is nothing to do; another
        failure has LiveKit send the event again."""
        try:
            action()
        except LiveKitNotFound:
            return
        except LiveKitError as exc:
            raise WebhookHandlerError(exc.message) from exc

    def _hang_up(self, room: str, identity: str) -> None:
        try:
            self.livekit.remove_participant(room, identity)
        except LiveKitNotFound:
            pass
        except LiveKitError as exc:
            raise WebhookHandlerError(
                f"caller not disconnected from {room}: {exc.message}"
            ) from exc

    def _delete_leftover_rules(self, room_id) -> None:
        try:
            outcome = self.rules.delete_all(room_id)
        except LiveKitError as exc:
            log.warning("dispatch rules of deleted room %s not listed: %s", room_id, exc.message)
            return
        if outcome.failed:
            log.warning(
                "dispatch rules of deleted room %s not deleted: %s", room_id, outcome.failed
            )

    # the lobby's decisions ----------------------------------------------------------

    def on_decision(self, room_id, entry: LobbyEntry) -> None:
        """Carry out a decision on a caller: admitted, into the meeting; denied, off the
        line. A caller gone meanwhile leaves the lobby (ParticipantNotFound); when
        LiveKit fails, the caller waits again and the error goes to the admin."""
        if not is_phone_identity(entry.id):
            return
        try:
            if entry.status == LobbyStatus.ACCEPTED:
                self._let_in(room_id, entry.id, entry.username)
            else:
                self.livekit.remove_participant(holding_room(room_id), entry.id)
        except LiveKitNotFound as exc:
            self.lobby.withdraw(room_id, entry.id)
            raise ParticipantNotFound(entry.id) from exc
        except LiveKitError:
            self.lobby.reopen(room_id, entry, ttl=self.wait_ttl)
            raise

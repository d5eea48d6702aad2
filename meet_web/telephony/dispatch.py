"""SIP dispatch rules: which room a caller's PIN leads to.

One rule per room, as the reference has it: named `SIP_<room id>`, of the *direct* kind,
with the room's PIN and no trunk ids (every inbound trunk). Unlike the reference's, it
leads to the room's holding room, never to the meeting itself: there phone callers meet
the room's admission rules (callers.py).

Lifecycle, as the reference's: ensured when the meeting's LiveKit room starts
(`room_started`) and by `POST /roomkit/join/`, which lets a room system dial in before
anyone is in the meeting; deleted when the meeting's LiveKit room finishes
(`room_finished`), every rule carrying the room's name. LiveKit filters rules by id or
trunk only, so both list every rule and match names here.

Ensuring tolerates a concurrent creation (LiveKit refuses a second rule for the same
PIN with `already_exists`) and replaces a rule of the room that leads elsewhere or holds
another PIN. A rule of another room holding this PIN can only be left over from a
room deleted since (PINs are unique among rooms): it goes. Deleting carries on past a
failure, deletes what it can and reports what it could not.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from livekit import api

from ..models import Room
from ..services.livekit import LiveKitError, LiveKitGateway, LiveKitNotFound
from ..services.webhooks import WebhookHandlerError
from .names import RULE_PREFIX, holding_room, room_id_of_meeting, rule_name

log = logging.getLogger(__name__)


class DispatchRuleError(LiveKitError):
    """LiveKit keeps refusing the room's rule (answered with 502)."""


@dataclass
class Deletion:
    """What deleting a room's rules did: the ids deleted and those that failed."""

    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # rule id -> LiveKit's message


def wanted_rule(room_id, pin: str) -> api.SIPDispatchRuleInfo:
    return api.SIPDispatchRuleInfo(
        name=rule_name(room_id),
        rule=api.SIPDispatchRule(
            dispatch_rule_direct=api.SIPDispatchRuleDirect(room_name=holding_room(room_id), pin=pin)
        ),
    )


def _leads_as_wanted(rule: api.SIPDispatchRuleInfo, wanted: api.SIPDispatchRuleInfo) -> bool:
    direct, target = rule.rule.dispatch_rule_direct, wanted.rule.dispatch_rule_direct
    return (
        rule.rule.WhichOneof("rule") == "dispatch_rule_direct"
        and direct.room_name == target.room_name
        and direct.pin == target.pin
        and not rule.trunk_ids
    )


def _holds_pin(rule: api.SIPDispatchRuleInfo, pin: str) -> bool:
    return (
        rule.rule.WhichOneof("rule") == "dispatch_rule_direct"
        and rule.rule.dispatch_rule_direct.pin == pin
    )


class DispatchRules:
    def __init__(self, livekit: LiveKitGateway):
        self.livekit = livekit

    def ensure(self, room_id, pin: str) -> api.SIPDispatchRuleInfo | None:
        """The room's rule, leading to its holding room with `pin` (created if need
        be); None when a concurrent call created it. Raises LiveKitError."""
        wanted = wanted_rule(room_id, pin)
        rules = self.livekit.list_dispatch_rules()
        mine = [r for r in rules if r.name == wanted.name]
        current = next((r for r in mine if _leads_as_wanted(r, wanted)), None)
        for stale in mine:
            if stale is not current:
                log.info(
                    "dispatch rule %s of room %s replaced", stale.sip_dispatch_rule_id, room_id
                )
                self._delete_quietly(stale.sip_dispatch_rule_id)
        if current is not None:
            return current
        created = self.livekit.create_dispatch_rule(wanted)
        if created is not None:
            return created
        # Refused as conflicting: either a concurrent call made ours, or a rule left
        # over from a deleted room holds this PIN.
        rules = self.livekit.list_dispatch_rules()
        if any(r.name == wanted.name and _leads_as_wanted(r, wanted) for r in rules):
            return None
        leftovers = [
            r
            for r in rules
            if r.name != wanted.name and r.name.startswith(RULE_PREFIX) and _holds_pin(r, pin)
        ]
        for leftover in leftovers:
            log.warning(
                "dispatch rule %s (%s) held the PIN of room %s: deleted",
                leftover.sip_dispatch_rule_id,
                leftover.name,
                room_id,
            )
            self._delete_quietly(leftover.sip_dispatch_rule_id)
        created = self.livekit.create_dispatch_rule(wanted) if leftovers else None
        if created is None:
            raise DispatchRuleError(f"the dispatch rule of room {room_id} conflicts with another")
        return created

    def delete_all(self, room_id) -> Deletion:
        """Delete every rule named for the room; a rule already gone counts as deleted.
        Raises LiveKitError only when the rules cannot be listed."""
        name = rule_name(room_id)
        mine = [r for r in self.livekit.list_dispatch_rules() if r.name == name]
        if len(mine) > 1:
            log.error("room %s had %d dispatch rules; deleting them all", room_id, len(mine))
        outcome = Deletion()
        for rule in mine:
            rule_id = rule.sip_dispatch_rule_id
            try:
                self.livekit.delete_dispatch_rule(rule_id)
            except LiveKitNotFound:
                pass  # deleted meanwhile
            except LiveKitError as exc:
                outcome.failed[rule_id] = exc.message
                continue
            outcome.deleted.append(rule_id)
        return outcome

    def _delete_quietly(self, rule_id: str) -> None:
        try:
            self.livekit.delete_dispatch_rule(rule_id)
        except LiveKitNotFound:
            pass


class DispatchRuleWebhooks:
    """The rules' lifecycle, driven by LiveKit's webhooks for the meeting's room."""

    def __init__(self, rules: DispatchRules):
        self.rules = rules

    def on_room_started(self, event: api.WebhookEvent, request) -> None:
        room_id = room_id_of_meeting(event.room.name)
        if room_id is None:
            return  # a holding room, an unregistered room: no rule of their own
        room = request.dbsession.get(Room, room_id)
        if room is None:
            log.info("room_started for %s, which is no room (deleted?): no dispatch rule", room_id)
            return
        if not room.pin_code:
            log.info("room %s has no PIN: no dispatch rule", room_id)
            return
        try:
            self.rules.ensure(room_id, room.pin_code)
        except LiveKitError as exc:
            raise WebhookHandlerError(f"dispatch rule of room {room_id}: {exc.message}") from exc

    def on_room_finished(self, event: api.WebhookEvent, _request) -> None:
        room_id = room_id_of_meeting(event.room.name)
        if room_id is None:
            return
        delete_rules(self.rules, room_id)


def delete_rules(rules: DispatchRules, room_id: uuid.UUID) -> None:
    """Delete the room's rules; raise WebhookHandlerError (LiveKit retries) when some
    could not be deleted or listed, after deleting the others."""
    try:
        outcome = rules.delete_all(room_id)
    except LiveKitError as exc:
        raise WebhookHandlerError(f"dispatch rules of room {room_id}: {exc.message}") from exc
    if outcome.failed:
        failed = ", ".join(f"{rule_id} ({why})" for rule_id, why in outcome.failed.items())
        log.error(
            "room %s: %d dispatch rule(s) deleted, not %s",
            room_id,
            len(outcome.deleted),
            failed,
        )
        raise WebhookHandlerError(f"dispatch rules of room {room_id} not all deleted: {failed}")

"""Telephony: PINs, SIP dispatch rules, phone callers and roomkit (reference §6).

config.py   the settings, read once (the dial-in number parsed with `phonenumbers`)
names.py    the LiveKit names of a room's holding room and dispatch rule
pins.py     room PINs, unique by the database (retried in savepoints)
dispatch.py the rooms' SIP dispatch rules and their lifecycle
callers.py  phone callers at the door: the room's admission rules, the lobby

Everything but the configuration is off unless `telephony.enabled` or `roomkit.enabled`
is set: then rooms get PINs (services/rooms.py) and the webhooks below are handled.
`POST /api/v1.0/roomkit/join/` is views/api/roomkit.py. Pages and mail show the number
and a room's PIN through the template global `dial_in(room)`.

LiveKit's webhook filter (`livekit.webhook_events_filter_regex`), when set, must let
the holding rooms' events through (`phone-lobby-<room id>`).
"""

from __future__ import annotations


def includeme(config):
    # Imported here: services/rooms.py imports pins.py, and so this package, while the
    # services package (which the modules below use) is itself being imported.
    from pyramid_jinja2 import EXTRAS_CONFIG_PHASE

    from ..services import register
    from ..services.livekit import LiveKitGateway
    from ..services.lobby import Lobby
    from ..services.webhooks import WebhookRouter
    from .callers import PhoneCallers
    from .config import TelephonyConfig
    from .dispatch import DispatchRules, DispatchRuleWebhooks

    services = config.registry["meet_services"]
    settings = config.get_settings()
    telephony = TelephonyConfig.from_settings(settings)
    rules = DispatchRules(services[LiveKitGateway])
    lobby = services[Lobby]
    callers = PhoneCallers(
        lobby=lobby,
        livekit=services[LiveKitGateway],
        rules=rules,
        default_region=telephony.default_country,
        wait_ttl=settings["lobby.accepted_timeout"],
    )
    register(config, telephony, TelephonyConfig)
    register(config, rules, DispatchRules)
    register(config, callers, PhoneCallers)
    if telephony.handles_calls:
        router = services[WebhookRouter]
        lifecycle = DispatchRuleWebhooks(rules)
        router.register("room_started", lifecycle.on_room_started)
        # After the default handler, which empties the meeting's lobby: the callers
        # still on the line are put back, then the rules go (a failure there has
        # LiveKit retry the event, the callers are back already).
        router.register("room_finished", callers.on_meeting_finished)
        router.register("room_finished", lifecycle.on_room_finished)
        router.register("participant_joined", callers.on_participant_joined)
        router.register("participant_left", callers.on_participant_left)
        lobby.on_decision(callers.on_decision)

    def add_template_global():
        config.get_jinja2_environment().globals["dial_in"] = telephony.dial_in

    config.action(None, add_template_global, order=EXTRAS_CONFIG_PHASE)

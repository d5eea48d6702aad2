"""Domain services; each external system sits behind one small object registered here."""

from .ephemeral import EphemeralStore, make_store
from .livekit import LiveKitConfig, LiveKitGateway
from .lobby import Lobby, LobbyConfig
from .rooms import RoomDefaults
from .webhooks import WebhookLedger, WebhookRouter, register_default_handlers


def includeme(config):
    settings = config.get_settings()
    store = make_store(settings)
    livekit = LiveKitGateway(LiveKitConfig.from_settings(settings))
    router = WebhookRouter()
    lobby = Lobby(store, livekit, LobbyConfig.from_settings(settings))
    register_default_handlers(router, lobby)
    config.register_service(RoomDefaults.from_settings(settings), RoomDefaults)
    config.register_service(store, EphemeralStore)
    config.register_service(livekit, LiveKitGateway)
    config.register_service(lobby, Lobby)
    config.register_service(router, WebhookRouter)
    config.register_service(WebhookLedger(store), WebhookLedger)

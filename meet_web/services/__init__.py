"""Domain services; each external system sits behind one small object registered here."""

from .accounts import Accounts
from .doors import Doors
from .ephemeral import EphemeralStore, make_store
from .livekit import LiveKitConfig, LiveKitGateway
from .lobby import Lobby, LobbyConfig
from .rooms import RoomDefaults
from .versions import track_changes
from .webhooks import WebhookLedger, WebhookRouter, register_default_handlers


def service(request, iface):
    """The process-wide service registered for `iface` (request.service(Lobby)).

    Every service here is one object for the process, holding no request state, so a
    dict lookup finds it; pyramid_services' `find_service` (which still answers for
    them) builds a container per request first, a measurable cost on the hot paths.
    """
    return request.registry["meet_services"][iface]


def register(config, obj, iface) -> None:
    config.register_service(obj, iface)
    config.registry.setdefault("meet_services", {})[iface] = obj


def includeme(config):
    settings = config.get_settings()
    config.add_request_method(service, "service")
    store = make_store(settings)
    livekit = LiveKitGateway(LiveKitConfig.from_settings(settings))
    router = WebhookRouter()
    lobby = Lobby(store, livekit, LobbyConfig.from_settings(settings))
    register_default_handlers(router, lobby)
    register(config, RoomDefaults.from_settings(settings), RoomDefaults)
    register(config, store, EphemeralStore)
    doors, accounts = Doors(store), Accounts(store)
    register(config, doors, Doors)
    register(config, accounts, Accounts)
    config.registry["kept_copies"] = (doors, accounts)  # for db.session_for_request
    track_changes()
    register(config, livekit, LiveKitGateway)
    register(config, lobby, Lobby)
    register(config, router, WebhookRouter)
    register(config, WebhookLedger(store), WebhookLedger)

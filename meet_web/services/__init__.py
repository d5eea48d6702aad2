"""Domain services; each external system sits behind one small object registered here."""

from .rooms import RoomDefaults


def includeme(config):
    settings = config.get_settings()
    config.register_service(RoomDefaults.from_settings(settings), RoomDefaults)

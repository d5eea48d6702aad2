"""Thin views: parse input, call models and services, render."""


def includeme(config):
    """Views are registered by `config.scan(".views")` in the app factory."""

"""Helpers shared by the HTML pages: links, htmx detection and form parsing."""

from __future__ import annotations

import functools
import zoneinfo

from ...models import AccessLevel, Room
from ...validation import LIVEKIT_SOURCES, Fields, ValidationError

LANGUAGE_COOKIE = "meet_language"
LANGUAGE_LABELS = {"en-us": "English", "fr-fr": "Français"}

ACCESS_LEVELS = (
    (
        AccessLevel.PUBLIC,
        "Public",
        "Anyone with the link joins directly.",
    ),
    (
        AccessLevel.TRUSTED,
        "Trusted",
        "Signed-in people join directly; guests wait in the lobby.",
    ),
    (
        AccessLevel.RESTRICTED,
        "Restricted",
        "Only members join directly; everyone else waits in the lobby.",
    ),
)
ACCESS_LEVEL_LABELS = {level: label for level, label, _ in ACCESS_LEVELS}

SOURCE_LABELS = {
    "camera": "Camera",
    "microphone": "Microphone",
    "screen_share": "Screen sharing",
    "screen_share_audio": "Screen sharing audio",
}

SLUG_TAKEN_MESSAGE = "Another room already uses this name."


def room_path(request, room: Room, *elements: str) -> str:
    """The site path of a room page (`/<slug>`), or of one of its views."""
    return request.resource_path(request.root, room.slug, *elements)


def is_htmx(request) -> bool:
    return "HX-Request" in request.headers


def vary_on_htmx(request) -> None:
    """Pages and their fragments share a URL: caches must key on the header."""
    request.response.vary = ("HX-Request",)


@functools.cache
def timezones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones() | {"UTC"}))


def field_messages(exc: ValidationError) -> dict[str, str]:
    """Errors by form field; the slug is derived from the name, so its errors go there."""
    errors = dict(exc.fields)
    if "slug" in errors:
        errors.pop("slug")
        errors.setdefault("name", SLUG_TAKEN_MESSAGE)
    if not errors:
        errors["form"] = exc.message
    return errors


def configuration_view(configuration: dict | None, default_sources) -> dict:
    """What the configuration checkboxes show for a stored configuration."""
    configuration = configuration or {}
    sources = configuration.get("can_publish_sources")
    if sources is None:
        sources = [s for s in default_sources if s in LIVEKIT_SOURCES]
    return {
        "can_publish_sources": list(sources),
        "everyone_can_mute": configuration.get("everyone_can_mute") is not False,
    }


def configuration_from_form(post, previous: dict | None, default_sources) -> dict:
    """The configuration the checkboxes describe.

    Unset keys stay unset when the form shows their default unchanged, so saving a
    form without touching the checkboxes does not pin today's defaults into the room.
    """
    previous = dict(previous or {})
    shown = configuration_view(previous, default_sources)
    posted_sources = post.getall("can_publish_sources")
    unknown = [s for s in posted_sources if s not in LIVEKIT_SOURCES]
    if unknown:
        raise ValidationError({"configuration": f"Unknown sources: {', '.join(unknown)}."})
    sources = [s for s in LIVEKIT_SOURCES if s in posted_sources]
    mute = post.get("everyone_can_mute") in ("on", "true", "1")
    configuration = dict(previous)
    if previous.get("can_publish_sources") is not None or sources != [
        s for s in LIVEKIT_SOURCES if s in shown["can_publish_sources"]
    ]:
        configuration["can_publish_sources"] = sources
    if previous.get("everyone_can_mute") is not None or not mute:
        configuration["everyone_can_mute"] = mute
    return configuration


def form_fields(post, *names: str) -> Fields:
    """A Fields parser over the named single-valued form fields that were sent."""
    data = {name: post[name] for name in names if name in post}
    return Fields(data)

"""Helpers shared by the HTML pages: links, htmx detection and form parsing."""

from __future__ import annotations

import functools
import zoneinfo
from pathlib import Path

from ...models import AccessLevel, Room
from ...validation import LIVEKIT_SOURCES, Fields, ValidationError

LANGUAGE_COOKIE = "meet_language"
LANGUAGE_LABELS = {
    "en-us": "English",
    "fr-fr": "Français",
    "de-de": "Deutsch",
    "nl-nl": "Nederlands",
}

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


def vary_on_htmx(request, *, target: bool = False) -> None:
    """Pages and their fragments share a URL: caches must key on the header (and on
    `HX-Target` where the fragment is chosen by what htmx swaps, as in the admin lists)."""
    request.response.vary = ("HX-Request", "HX-Target") if target else ("HX-Request",)


# The regions the account page groups its zones in, as the zone names begin.
TIMEZONE_REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)
# The tz database's tables of the zones in use, one line per zone and country, under
# their current names: no backward-compatible alias (US/Eastern, Asia/Calcutta) and
# no fixed offset (Etc/GMT+5) is listed there.
ZONE_TABLES = ("zone1970.tab", "zone.tab")


@functools.cache
def timezone_names() -> frozenset[str]:
    """Every name the zone database knows, aliases included: what an account may hold."""
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


def _tabulated_zones() -> set[str]:
    names: set[str] = set()
    for directory in zoneinfo.TZPATH:
        for table in ZONE_TABLES:
            path = Path(directory, table)
            if not path.is_file():
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                columns = line.split("\t")
                if not line.startswith("#") and len(columns) >= 3:
                    names.add(columns[2].strip())
    return names


def timezone_label(name: str) -> str:
    """The zone's place, readably: `America/New_York` → `New York`,
    `America/Argentina/Buenos_Aires` → `Buenos Aires (Argentina)`."""
    parts = [part.replace("_", " ") for part in name.split("/")[1:]] or [name]
    city, within = parts[-1], parts[:-1]
    return f"{city} ({', '.join(within)})" if within else city


@functools.cache
def timezone_groups() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The zones the account page offers: ((region, ((name, label), ...)), ...), each
    region's zones by label, then UTC alone.

    Canonical names only, from the zone tables; where the system has no tables, the
    names under the regions (a few aliases among them).
    """
    known = timezone_names()
    offered = _tabulated_zones() & known or {
        name for name in known if name.split("/", 1)[0] in TIMEZONE_REGIONS
    }
    groups = []
    for region in TIMEZONE_REGIONS:
        zones = [(name, timezone_label(name)) for name in offered if name.startswith(region + "/")]
        groups.append((region, tuple(sorted(zones, key=lambda zone: (zone[1], zone[0])))))
    groups.append(("UTC", (("UTC", "UTC"),)))
    return tuple((region, zones) for region, zones in groups if zones)


@functools.cache
def offered_timezones() -> frozenset[str]:
    return frozenset(name for _region, zones in timezone_groups() for name, _label in zones)


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

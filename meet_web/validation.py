"""Parse request bodies into typed values; every problem becomes one ValidationError."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MISSING: Any = object()

LIVEKIT_SOURCES = ("camera", "microphone", "screen_share", "screen_share_audio")
ROOM_CONFIGURATION_KEYS = {"can_publish_sources", "everyone_can_mute"}


class ValidationError(Exception):
    """Field name -> message; `message` sums it up for people.

    `status` is 400 but for a page past the last one (404, as the reference).
    """

    def __init__(self, fields: dict[str, str], message: str = "Invalid request.", status=400):
        self.fields = fields
        self.message = message
        self.status = status
        super().__init__(message)


# The reference's (DRF's) messages, which integrations may show or match.
JSON_PARSE_ERROR = "JSON parse error - the request body is not valid JSON."
NOT_AN_OBJECT = "Invalid data. Expected a dictionary, but got {}."
JSON_TYPES = {list: "list", str: "str", int: "int", float: "float", bool: "bool"}
JSON_TYPES[type(None)] = "NoneType"


def read_body(request) -> bytes:
    """The body, read once, straight from the input when nothing has read it yet:
    webob's `request.body` first copies it into a seekable buffer (a tenth of a
    webhook's CPU, a twentieth of a knock's). The ingress tween has bounded it and
    knows its length."""
    length = request.content_length
    if request.is_body_seekable or not length:
        return request.body
    body = request.body_file_raw.read(length)
    request.body = body  # whatever reads it later (an error view, a log) sees it too
    return body


def json_body(request) -> dict:
    body = read_body(request)
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ValidationError({}, JSON_PARSE_ERROR) from exc
    if not isinstance(data, dict):
        kind = JSON_TYPES.get(type(data), "str")
        raise ValidationError({"non_field_errors": NOT_AN_OBJECT.format(kind)})
    return data


class Fields:
    """Reads fields from a dict, collecting errors; call `check()` at the end.

    With `partial=True` (PATCH) a missing required field is not an error.
    """

    def __init__(self, data: dict, *, partial: bool = False):
        self.data = data
        self.partial = partial
        self.errors: dict[str, Any] = {}  # a list field's are by index: {"1": [...]}

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name, MISSING)
        if value is MISSING and required and not self.partial:
            self.errors[name] = "This field is required."
        return value

    def string(self, name, *, required=False, max_length=255, min_length=1, strip=True):
        value = self._get(name, required)
        if value is MISSING:
            return MISSING
        if not isinstance(value, str):
            self.errors[name] = "Not a valid string."
            return MISSING
        value = value.strip() if strip else value
        if "\x00" in value:  # PostgreSQL refuses NUL in text
            self.errors[name] = "Must not contain NUL characters."
            return MISSING
        if len(value) < min_length:
            self.errors[name] = (
                "This field may not be blank."
                if min_length == 1
                else f"Ensure this field has at least {min_length} characters."
            )
            return MISSING
        if len(value) > max_length:
            self.errors[name] = f"Ensure this field has no more than {max_length} characters."
            return MISSING
        return value

    def choice(self, name, enum: type[StrEnum], *, required=False, nullable=False):
        value = self._get(name, required)
        if value is MISSING or (value is None and nullable):
            return value
        try:
            return enum(value)
        except ValueError:
            self.errors[name] = f'"{value}" is not a valid choice.'
            return MISSING

    def boolean(self, name, *, required=False):
        value = self._get(name, required)
        if value is MISSING:
            return MISSING
        if not isinstance(value, bool):
            self.errors[name] = "Must be a valid boolean."
            return MISSING
        return value

    def uuid(self, name, *, required=False):
        value = self._get(name, required)
        if value is MISSING:
            return MISSING
        try:
            return uuid.UUID(value)
        except (ValueError, TypeError, AttributeError):
            self.errors[name] = "Must be a valid UUID."
            return MISSING

    def email_list(self, name, *, required=False, max_items=None):
        """A non-empty list of addresses, de-duplicated case-insensitively (first
        spelling kept); errors by index, as the reference: `{"1": ["Enter a ..."]}`."""
        value = self._get(name, required)
        if value is MISSING:
            return MISSING
        if not isinstance(value, list):
            kind = JSON_TYPES.get(type(value), "dict")
            self.errors[name] = f'Expected a list of items but got type "{kind}".'
            return MISSING
        if not value:
            self.errors[name] = "This list may not be empty."
            return MISSING
        if max_items is not None and len(value) > max_items:
            self.errors[name] = f"Ensure this field has no more than {max_items} elements."
            return MISSING
        addresses, bad = parse_email_list(value)
        if bad:
            self.errors[name] = {str(index): [message] for index, message in bad.items()}
            return MISSING
        return addresses

    def room_configuration(self, name, *, required=False):
        value = self._get(name, required)
        if value is MISSING:
            return MISSING
        try:
            return parse_room_configuration(value)
        except ValueError as exc:
            self.errors[name] = str(exc)
            return MISSING

    def check(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def parse_room_configuration(value: Any) -> dict:
    """The room configuration schema: known keys only, each of the right type."""
    if not isinstance(value, dict):
        raise ValueError("Must be an object.")
    unknown = sorted(set(value) - ROOM_CONFIGURATION_KEYS)
    if unknown:
        raise ValueError(f"Unknown configuration keys: {', '.join(unknown)}.")
    config: dict = {}
    if "can_publish_sources" in value:
        sources = value["can_publish_sources"]
        if sources is not None:
            if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
                raise ValueError("can_publish_sources must be a list of sources or null.")
            bad = [s for s in sources if s not in LIVEKIT_SOURCES]
            if bad:
                raise ValueError(
                    f"Unknown sources: {', '.join(bad)}; expected {', '.join(LIVEKIT_SOURCES)}."
                )
            sources = list(dict.fromkeys(sources))
        config["can_publish_sources"] = sources
    if "everyone_can_mute" in value:
        mute = value["everyone_can_mute"]
        if mute is not None and not isinstance(mute, bool):
            raise ValueError("everyone_can_mute must be true, false or null.")
        config["everyone_can_mute"] = mute
    return config


INVALID_EMAIL = "Enter a valid email address."
EMAIL_MAX_LENGTH = 254  # RFC 5321's limit on a forward path
# A dot-atom local part (RFC 5322 without quoted strings or comments) and a host name
# of letters, digits and hyphens with a top-level label; nothing that could end a
# header (commas, quotes, white space, line breaks) can pass.
_ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_LOCAL = re.compile(rf"{_ATEXT}(\.{_ATEXT})*\Z")
_EMAIL_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")


def normalize_email(value: Any) -> str | None:
    """The address as mail can carry it (an international domain in its ASCII form),
    or None when it is not a valid address."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or len(local) > 64:
        return None
    if not _EMAIL_LOCAL.match(local):
        return None
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_EMAIL_LABEL.match(label) for label in labels):
        return None
    if len(labels[-1]) < 2 or labels[-1].isdigit():
        return None
    address = f"{local}@{domain}"
    return address if len(address) <= EMAIL_MAX_LENGTH else None


def parse_email_list(values: list) -> tuple[list[str], dict[int, str]]:
    """(the valid addresses, once each whatever their case; errors by index)."""
    addresses: dict[str, str] = {}
    bad: dict[int, str] = {}
    for index, value in enumerate(values):
        address = normalize_email(value)
        if address is None:
            bad[index] = INVALID_EMAIL
        else:
            addresses.setdefault(address.lower(), address)
    return list(addresses.values()), bad


MAX_PAGE_SIZE = 100


def page_params(request, default_size: int, max_size: int = MAX_PAGE_SIZE) -> tuple[int, int]:
    """`page` and `page_size` from the query string; out of range is a 400."""
    fields = {}
    try:
        page = int(request.GET.get("page", 1))
        if page < 1:
            raise ValueError
    except ValueError:
        fields["page"] = "Must be a positive integer."
        page = 1
    try:
        size = int(request.GET.get("page_size", default_size))
        if not 1 <= size <= max_size:
            raise ValueError
    except ValueError:
        fields["page_size"] = f"Must be an integer between 1 and {max_size}."
        size = default_size
    if fields:
        raise ValidationError(fields)
    return page, size


def check_page(page: int, size: int, count: int) -> None:
    """A page after the last one is a 404 (the first page always exists, even empty)."""
    if page > 1 and (page - 1) * size >= count:
        raise ValidationError({"page": "Invalid page."}, "Invalid page.", status=404)


# -- declared request bodies ------------------------------------------------------------
# A body is declared once: `Body.parse` validates a request with `Fields` (the messages
# above), and `Body.json_schema` describes the same rules in the OpenAPI document.

# At least one character that is not white space (values are stripped) and no NUL.
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


@dataclass(frozen=True)
class String:
    max_length: int = 255
    description: str = ""

    def read(self, fields: Fields, name: str, required: bool) -> Any:
        return fields.string(name, required=required, max_length=self.max_length)

    def json_schema(self) -> dict:
        return {"type": "string", "maxLength": self.max_length, "pattern": NOT_BLANK}


@dataclass(frozen=True)
class Choice:
    enum: type[StrEnum]
    nullable: bool = False
    description: str = ""

    def read(self, fields: Fields, name: str, required: bool) -> Any:
        return fields.choice(name, self.enum, required=required, nullable=self.nullable)

    def json_schema(self) -> dict:
        values: list = [m.value for m in self.enum]
        return {"enum": [*values, None] if self.nullable else values}


@dataclass(frozen=True)
class Boolean:
    description: str = ""

    def read(self, fields: Fields, name: str, required: bool) -> Any:
        return fields.boolean(name, required=required)

    def json_schema(self) -> dict:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Uuid:
    description: str = ""

    def read(self, fields: Fields, name: str, required: bool) -> Any:
        return fields.uuid(name, required=required)

    def json_schema(self) -> dict:
        return {"type": "string", "format": "uuid"}


@dataclass(frozen=True)
class EmailList:
    """A non-empty list of e-mail addresses, at most `max_items` (None: no limit)."""

    max_items: int | None = None
    description: str = ""

    def read(self, fields: Fields, name: str, required: bool) -> Any:
        return fields.email_list(name, required=required, max_items=self.max_items)

    def json_schema(self) -> dict:
        schema: dict = {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "format": "email", "maxLength": EMAIL_MAX_LENGTH},
        }
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return schema


ROOM_CONFIGURATION_SCHEMA = {
    "type": "object",
    "properties": {
        "can_publish_sources": {
            "type": ["array", "null"],
            "items": {"enum": list(LIVEKIT_SOURCES)},
        },
        "everyone_can_mute": {"type": ["boolean", "null"]},
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class RoomConfiguration:
    description: str = "Who may publish what, and whether everyone may mute others."

    def read(self, fields: Fields, name: str, required: bool) -> Any:
        return fields.room_configuration(name, required=required)

    def json_schema(self) -> dict:
        return ROOM_CONFIGURATION_SCHEMA


@dataclass(frozen=True)
class Raw:
    """A value the view checks itself (its rules are in `schema`)."""

    schema: dict = field(default_factory=dict)
    description: str = ""

    def read(self, fields: Fields, name: str, required: bool) -> Any:
        return fields._get(name, required)

    def json_schema(self) -> dict:
        return self.schema


class Body:
    """A JSON object body: its fields, which are required, and a name for the document."""

    def __init__(self, title: str, /, required: tuple[str, ...] = (), **fields):
        self.title, self.required, self.fields = title, frozenset(required), fields

    def read(self, request, *, partial: bool = False) -> tuple[dict[str, Any], Fields]:
        """The values (MISSING when absent) and the unchecked `Fields`, for views that
        add rules of their own before `check()`."""
        reader = Fields(json_body(request), partial=partial)
        values = {
            name: spec.read(reader, name, name in self.required)
            for name, spec in self.fields.items()
        }
        return values, reader

    def parse(self, request, *, partial: bool = False) -> dict[str, Any]:
        values, reader = self.read(request, partial=partial)
        reader.check()
        return values

    def json_schema(self, *, partial: bool = False) -> dict:
        properties = {}
        for name, spec in self.fields.items():
            schema = dict(spec.json_schema())
            if spec.description:
                schema["description"] = spec.description
            properties[name] = schema
        schema = {"type": "object", "properties": properties}
        if self.required and not partial:
            schema["required"] = sorted(self.required)
        return schema

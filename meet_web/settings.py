"""The settings table: every key the app reads, its type, default and whether it is secret.

Values come from the ini file, then `MEET_<KEY>` environment variables (dots and dashes
become underscores, upper case), then for secrets `MEET_<KEY>_FILE` (a file whose content,
less one trailing newline, is the value). Everything is parsed once at start-up; any
missing or malformed setting stops start-up with one message listing them all.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

ENV_PREFIX = "MEET_"


class SettingsError(Exception):
    """Raised at start-up with every problem found in the settings."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            "Meet Web cannot start, fix these settings:\n" + "\n".join(f"  - {p}" for p in problems)
        )


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def as_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [item for item in str(value).replace(",", " ").split() if item]


def as_json_object(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    parsed = json.loads(value) if str(value).strip() else {}
    if not isinstance(parsed, dict):
        raise ValueError("expected a JSON object")
    return parsed


def as_optional_int(value: Any) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    return int(value)


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[Any], Any] = str
    default: Any = None
    required: bool = False
    secret: bool = False

    @property
    def env_name(self) -> str:
        return ENV_PREFIX + self.name.upper().replace(".", "_").replace("-", "_")


# Keep grouped by area; `required` settings have no usable default.
SETTINGS: tuple[Setting, ...] = (
    Setting("sqlalchemy.url", required=True),
    # Empty: links and redirects follow each request's Host header and scheme.
    Setting("app.base_url", default=""),
    # Empty: any Host is served. Entries: `meet.example.org`, `.example.org` (and every
    # subdomain), `*`; the port is not compared.
    Setting("app.trusted_hosts", as_list, default=[]),
    Setting("app.max_body_size", int, default=1048576),
    # Secure cookies unless explicitly off: browsers accept them on http://localhost too.
    Setting("app.secure_cookies", as_bool, default=True),
    Setting("app.languages", as_list, default=["en-us", "fr-fr", "de-de", "nl-nl"]),
    Setting("app.default_language", default="en-us"),
    Setting("session.secret", required=True, secret=True),
    Setting("session.max_age", int, default=43200),
    Setting("livekit.url", required=True),
    Setting("livekit.public_url", default=""),
    Setting("livekit.api_key", required=True),
    Setting("livekit.api_secret", required=True, secret=True),
    Setting("livekit.timeout", float, default=5.0),
    Setting("livekit.webhook_events_filter_regex", default=""),
    Setting("livekit.authenticated_participants_can_edit_display_name", as_bool, True),
    Setting(
        "livekit.default_sources",
        as_list,
        default=["camera", "microphone", "screen_share", "screen_share_audio"],
    ),
    Setting("livekit.force_wss_protocol", as_bool, default=False),
    Setting("oidc.issuer", required=True),
    Setting("oidc.discovery_url", default=""),
    Setting("oidc.client_id", required=True),
    Setting("oidc.client_secret", required=True, secret=True),
    Setting("oidc.scopes", default="openid email profile"),
    Setting("oidc.operator_groups", as_list, default=[]),
    Setting("oidc.fallback_to_email_for_identification", as_bool, default=False),
    Setting("oidc.create_user", as_bool, default=True),
    Setting("oidc.timeout", float, default=5.0),
    # The external API as an OAuth 2.0 resource server: bearer tokens the identity
    # provider issued to other clients, checked at its introspection endpoint (RFC 7662).
    Setting("resource_server.enabled", as_bool, default=False),
    Setting("resource_server.client_id", default=""),  # empty: oidc.client_id
    Setting("resource_server.client_secret", default="", secret=True),  # empty: oidc's
    Setting("resource_server.introspection_endpoint", default=""),  # empty: discovery's
    Setting("resource_server.audience_claim", default="client_id"),
    Setting("resource_server.allowed_audiences", as_list, default=[]),  # `*`: any client
    Setting("resource_server.scopes", as_list, default=["lasuite_meet"]),
    Setting("resource_server.scopes_prefix", default=""),
    Setting("resource_server.cache_seconds", int, default=60),
    # Tokens a client address may have the provider check a minute (0: no limit);
    # answers already kept do not count.
    Setting("resource_server.rate_limit", int, default=60),
    # Introspection answers as signed JWTs (RFC 9701), encrypted to our key when one is
    # set (its public half is served at /jwks): ProConnect's way.
    Setting("resource_server.jwt_introspection", as_bool, default=False),
    Setting("resource_server.signing_algorithm", default="ES256"),
    Setting("resource_server.encryption_key", default="", secret=True),  # PEM or JWK
    Setting("resource_server.encryption_algorithm", default="RSA-OAEP"),
    Setting("resource_server.encryption_encoding", default="A256GCM"),
    Setting("mail.host", default=""),
    Setting("mail.port", int, default=25),
    Setting("mail.default_sender", default="meet@localhost"),
    Setting("mail.username", default=""),
    Setting("mail.password", default="", secret=True),
    # STARTTLS after connecting (use_tls), or TLS from the start (use_ssl, port 465).
    Setting("mail.use_tls", as_bool, default=False),
    Setting("mail.use_ssl", as_bool, default=False),
    Setting("mail.timeout", float, default=10.0),
    Setting("cache.backend", default="dogpile.cache.memory_pickle"),
    Setting("cache.arguments.url", default=""),
    Setting("rooms.allow_unregistered", as_bool, default=False),
    Setting("rooms.default_access_level", default="public"),
    Setting("rooms.page_size", int, default=20),
    Setting("lobby.waiting_timeout", int, default=3),
    Setting("lobby.accepted_timeout", int, default=21600),
    Setting("lobby.denied_timeout", int, default=5),
    Setting("lobby.removed_timeout", int, default=600),
    Setting("lobby.rate_limit", int, default=150),
    # New knocks (waiting entries created) per client address and minute; 0: no limit.
    # The address is the request's REMOTE_ADDR: behind a reverse proxy, have the server
    # set it from the proxy's header (waitress: trusted_proxy, trusted_proxy_headers).
    Setting("lobby.address_rate_limit", int, default=30),
    # Participants waiting in one room's lobby at most; 0: no limit.
    Setting("lobby.max_waiting_per_room", int, default=100),
    # A room's managers get the "a guest is waiting" e-mail at most once per this many
    # seconds; 0: no limit.
    Setting("lobby.waiting_email_interval", int, default=300),
    Setting("lobby.cookie_name", default="lobbyParticipantId"),
    Setting("rooms.creation_callback_timeout", int, default=600),
    Setting("diagnostics.connection_test_token_ttl", int, default=300),
    Setting("diagnostics.connection_test_rate_limit", int, default=30),
    Setting("recording.enabled", as_bool, default=False),
    Setting("recording.expiration_days", as_optional_int, default=None),
    Setting("recording.max_duration", as_optional_int, default=None),
    Setting("recording.output_folder", default="recordings"),
    # {mode: dotted name of a meet_web.recording.workers.RecordingWorker}; empty: LiveKit egress
    Setting("recording.worker_classes", as_json_object, default={}),
    Setting("recording.encoding_enabled", as_bool, default=False),
    Setting("recording.encoding_width", int, default=1280),
    Setting("recording.encoding_height", int, default=720),
    Setting("recording.encoding_framerate", int, default=30),
    Setting("recording.encoding_video_bitrate_kbps", int, default=3000),
    Setting("recording.encoding_audio_bitrate_kbps", int, default=128),
    Setting("recording.encoding_key_frame_interval_s", float, default=4.0),
    # The recording page links in mail: `<download_base_url>/<id>`; empty: app.base_url/recordings
    Setting("recording.download_base_url", default=""),
    # Where the nginx front serves objects (media-auth checks X-Original-URL against it)
    Setting("recording.media_url", default="/media/"),
    # Pages play and download from that front (true), or from the app, which streams
    # the object itself at /recordings/<id>/media with Range support (false: no front)
    Setting("recording.media_front", as_bool, default=False),
    Setting("recording.page_size", int, default=20),
    # Legacy: completion from the bucket's event notifications instead of egress_ended.
    Setting("recording.storage_event_enabled", as_bool, default=False),
    Setting("recording.storage_event_auth", as_bool, default=True),
    Setting("recording.storage_event_token", default="", secret=True),
    Setting("recording.storage_event_parser", default="minio"),  # or "s3"
    # The summary service calls back POST /recordings/external-process-hook/ with it.
    Setting("summary.webhook_api_token", default="", secret=True),
    # The summary service (its v2 API), given transcripts and `options.transcribe`
    # recordings once they are saved; POST <endpoint> with `Bearer <api_token>`.
    Setting("summary.enabled", as_bool, default=False),
    Setting("summary.endpoint", default=""),
    Setting("summary.api_token", default="", secret=True),
    Setting("summary.timeout", float, default=10.0),  # seconds; then the call has failed
    Setting("summary.cloud_storage_signed_url_expiry_seconds", int, default=86400),
    Setting("summary.auto_create_summary", as_bool, default=False),
    Setting("s3.endpoint_url", default=""),
    # Where browsers reach the store when they may not reach s3.endpoint_url (a store on
    # the app's private network): the uploads' presigned URLs are signed for this host.
    Setting("s3.public_endpoint_url", default=""),
    Setting("s3.bucket", default="meet-media-storage"),
    Setting("s3.access_key_id", default="", secret=True),
    Setting("s3.secret_access_key", default="", secret=True),
    Setting("s3.region", default="us-east-1"),
    # Users' background images, in the s3.* bucket (files/ and tmp/files/); off by default.
    Setting("files.enabled", as_bool, default=False),
    Setting("files.max_per_user", int, default=10),  # per file type
    Setting("files.max_size", int, default=5 * 1024 * 1024),  # bytes
    Setting("files.allowed_extensions", as_list, default=[".png", ".jpg", ".jpeg", ".webp"]),
    # meet-web-purge-deleted-files removes soft-deleted files after this many days.
    Setting("files.purge_grace_days", int, default=7),
    # The segmentation model behind camera blur and background images (MediaPipe's
    # selfie_segmenter.tflite); empty: /static/vendor/mediapipe/selfie_segmenter.tflite.
    Setting("backgrounds.model_url", default=""),
    Setting("telephony.enabled", as_bool, default=False),
    Setting("telephony.phone_number", default=""),
    Setting("telephony.default_country", default="US"),
    Setting("telephony.pin_length", int, default=10),
    Setting("telephony.pin_max_retries", int, default=5),
    Setting("roomkit.enabled", as_bool, default=False),
    Setting("roomkit.api_token", default="", secret=True),
    # POST /roomkit/join/ calls per client address and minute (the reference's 300/minute).
    Setting("roomkit.rate_limit", int, default=300),
    Setting("invitations.max_recipients", int, default=50),
    Setting("subtitles.enabled", as_bool, default=False),
    Setting("subtitles.agent_name", default="multi-user-transcriber"),
    Setting("diagnostics.connection_test_enabled", as_bool, default=False),
    Setting("external_api.enabled", as_bool, default=False),
    Setting("applications.enabled", as_bool, default=False),
    Setting("applications.jwt_secret_key", default="", secret=True),
    Setting("applications.allow_user_creation", as_bool, default=False),
    # The delegated tokens of POST /external-api/v1.0/application/token/ (HS256).
    Setting("applications.jwt_issuer", default="lasuite-meet"),
    Setting("applications.jwt_audience", default=""),  # empty: no `aud` claim
    Setting("applications.jwt_expiration_seconds", int, default=3600),
    # Empty: external API rooms carry no `url`; else `<base_url>/<slug>`.
    Setting("applications.base_url", default=""),
    Setting("external_api.default_access_level", default="trusted"),
    Setting("external_api.allow_public_access", as_bool, default=False),
    # The calendar add-in's session exchange (/api/v1.0/addons/sessions/...).
    Setting("addons.enabled", as_bool, default=False),
    Setting("addons.token_secret_key", default="", secret=True),
    Setting("addons.csrf_secret", default="", secret=True),
    Setting("addons.session_ttl", int, default=3600),
    Setting("addons.transit_token_ttl", int, default=120),
    Setting("addons.token_ttl", int, default=7200),
    Setting("users.allow_listing", as_bool, default=False),
    # Audit events older than this many days are deleted by meet-web-prune-audit.
    Setting("audit.retention_days", int, default=365),
    # GET /metrics answers `Authorization: Bearer <metrics.token>` or a client address
    # in one of `metrics.allowed_addresses` (CIDRs); anyone else gets a 404.
    Setting("metrics.token", default="", secret=True),
    Setting("metrics.allowed_addresses", as_list, default=[]),
    # New users are added to a marketing contact list after their first sign-in: "" (off)
    # or "brevo" (its contacts API, with marketing.api_key and marketing.list_ids).
    Setting("marketing.backend", default=""),
    Setting("marketing.api_key", default="", secret=True),
    Setting("marketing.api_url", default="https://api.brevo.com/v3"),
    Setting("marketing.list_ids", as_list, default=[]),
    Setting("marketing.timeout", float, default=1.0),
    # Brevo contact attributes every new contact gets, e.g. {"VISIO_USER": true}.
    Setting("marketing.contact_attributes", as_json_object, default={}),
    # Active sessions shown on the account page: their last-seen time is written at
    # most once per this many seconds per session.
    Setting("session.last_seen_interval", int, default=300),
    Setting("frontend.configuration", as_json_object, default={}),
    Setting("testing.shared_connection", as_bool, default=False),
)

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


def _read_secret_file(path: str) -> str:
    text = Path(path).read_text(encoding="utf-8")
    return text[:-1] if text.endswith("\n") else text


def raw_value(setting: Setting, ini: Mapping[str, Any], environ: Mapping[str, str]) -> Any:
    """The unparsed value of one setting: environment first, then the ini file."""
    env, env_file = setting.env_name, setting.env_name + "_FILE"
    if env in environ and env_file in environ:
        raise ValueError(f"{env} and {env_file} are both set; keep one")
    if env in environ:
        return environ[env]
    if env_file in environ:
        if not setting.secret:
            raise ValueError(f"{env_file}: only secrets may be read from a file")
        try:
            return _read_secret_file(environ[env_file])
        except OSError as exc:
            raise ValueError(f"{env_file}: cannot read {exc.filename}") from exc
    return ini.get(setting.name)


def load_settings(
    ini_settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return the ini settings with every declared key typed, defaulted and overridden.

    Undeclared ini keys (pyramid.*, tm.*, retry.*, jinja2.*, ...) pass through unchanged.
    """
    environ = os.environ if environ is None else environ
    settings = dict(ini_settings)
    problems: list[str] = []
    failed: set[str] = set()
    known_env: set[str] = set()
    for setting in SETTINGS:
        known_env.update({setting.env_name, setting.env_name + "_FILE"})
        try:
            raw = raw_value(setting, settings, environ)
        except ValueError as exc:
            problems.append(str(exc))
            failed.add(setting.name)
            continue
        if raw is None or (isinstance(raw, str) and not raw.strip() and setting.required):
            if setting.required:
                problems.append(_required(setting))
                failed.add(setting.name)
            else:
                # A copy: a list or dict default must not be shared between loads.
                settings[setting.name] = copy.deepcopy(setting.default)
            continue
        try:
            settings[setting.name] = setting.parse(raw)
        except (TypeError, ValueError) as exc:
            shown = "<secret>" if setting.secret else repr(raw)
            problems.append(f"{setting.name} = {shown} is malformed: {exc}")
            failed.add(setting.name)
    for name in sorted(environ):
        if (
            name.startswith(ENV_PREFIX)
            and name not in known_env
            and not name.startswith("MEET_TEST_")
        ):
            log.warning("unknown environment variable %s ignored", name)
    problems.extend(_check_values(settings, failed))
    if problems:
        raise SettingsError(problems)
    return settings


def _required(setting: Setting) -> str:
    return f"{setting.name} is required (ini key, or {setting.env_name}" + (
        f" / {setting.env_name}_FILE)" if setting.secret else ")"
    )


def _check_values(settings: Mapping[str, Any], failed: set[str]) -> list[str]:
    """Checks across values; a setting already reported as missing or malformed is skipped."""

    def ok(*names: str) -> bool:
        return not failed.intersection(names)

    problems = []
    levels = {"public", "trusted", "restricted"}
    if ok("rooms.default_access_level") and settings["rooms.default_access_level"] not in levels:
        problems.append("rooms.default_access_level must be public, trusted or restricted")
    for name in ("livekit.api_secret", "session.secret"):
        if ok(name) and len(settings[name].encode()) < 32:
            problems.append(f"{name} must be at least 32 bytes")
    if ok("app.base_url") and settings["app.base_url"]:
        problems.extend(_check_base_url(settings["app.base_url"]))
    if ok("s3.public_endpoint_url") and settings["s3.public_endpoint_url"]:
        problems.extend(_check_public_endpoint(settings["s3.public_endpoint_url"]))
    if ok("app.max_body_size") and settings["app.max_body_size"] < 1:
        problems.append("app.max_body_size must be a positive number of bytes")
    if ok("mail.use_tls", "mail.use_ssl") and settings["mail.use_tls"] and settings["mail.use_ssl"]:
        problems.append("mail.use_tls and mail.use_ssl are exclusive; keep one")
    if ok("lobby.waiting_email_interval") and settings["lobby.waiting_email_interval"] < 0:
        problems.append("lobby.waiting_email_interval must be 0 or more seconds")
    if ok("invitations.max_recipients") and settings["invitations.max_recipients"] < 1:
        problems.append("invitations.max_recipients must be at least 1")
    if ok("audit.retention_days") and settings["audit.retention_days"] < 1:
        problems.append("audit.retention_days must be at least 1")
    if ok("telephony.pin_length") and settings["telephony.pin_length"] < 4:
        problems.append("telephony.pin_length must be at least 4")
    problems.extend(_check_external_api(settings, ok))
    problems.extend(_check_resource_server(settings, ok))
    if (
        ok("summary.enabled", "summary.endpoint", "summary.api_token")
        and settings["summary.enabled"]
        and not (settings["summary.endpoint"] and settings["summary.api_token"])
    ):
        problems.append("summary.endpoint and summary.api_token are required with summary.enabled")
    if ok("summary.timeout") and settings["summary.timeout"] <= 0:
        problems.append("summary.timeout must be more than 0 seconds")
    if (
        ok("cache.backend", "cache.arguments.url")
        and settings["cache.backend"] == "dogpile.cache.redis"
        and not settings["cache.arguments.url"]
    ):
        problems.append(
            "cache.arguments.url is required with the redis cache backend"
            " (ini key, or MEET_CACHE_ARGUMENTS_URL)"
        )
    problems.extend(_check_operations(settings, ok))
    return problems


def _check_operations(settings: Mapping[str, Any], ok: Callable[..., bool]) -> list[str]:
    """The metrics endpoint's address list and the marketing sync's backend."""
    import ipaddress

    problems = []
    if ok("metrics.allowed_addresses"):
        for entry in settings["metrics.allowed_addresses"]:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                problems.append(f"metrics.allowed_addresses: {entry!r} is not an address or CIDR")
    if ok("marketing.backend") and settings["marketing.backend"] not in ("", "brevo"):
        problems.append("marketing.backend must be empty (off) or brevo")
    elif (
        ok("marketing.backend", "marketing.api_key")
        and settings["marketing.backend"]
        and not settings["marketing.api_key"]
    ):
        problems.append("marketing.api_key is required with marketing.backend = brevo")
    if ok("marketing.list_ids") and not all(i.isdigit() for i in settings["marketing.list_ids"]):
        problems.append("marketing.list_ids must be numbers (Brevo list ids)")
    if ok("marketing.timeout") and settings["marketing.timeout"] <= 0:
        problems.append("marketing.timeout must be more than 0 seconds")
    return problems


def _check_external_api(settings: Mapping[str, Any], ok: Callable[..., bool]) -> list[str]:
    """The external API's and the add-ons' secrets, when they are on; their lifetimes."""
    problems = []
    level = "external_api.default_access_level"
    if ok(level) and settings[level] not in ("public", "trusted", "restricted"):
        problems.append(f"{level} must be public, trusted or restricted")
    wanted = []
    if ok("applications.enabled") and settings["applications.enabled"]:
        wanted.append("applications.jwt_secret_key")
    if ok("addons.enabled") and settings["addons.enabled"]:
        wanted += ["addons.token_secret_key", "addons.csrf_secret"]
    for name in wanted:
        if ok(name) and len(settings[name].encode()) < 32:
            problems.append(f"{name} must be at least 32 bytes when its feature is on")
    keys = ("applications.jwt_secret_key", "addons.token_secret_key")
    if len(wanted) == 3 and ok(*keys) and settings[keys[0]] == settings[keys[1]]:
        # One key for both would let an add-on token pass for an application's.
        problems.append("addons.token_secret_key must differ from applications.jwt_secret_key")
    for name in (
        "applications.jwt_expiration_seconds",
        "addons.session_ttl",
        "addons.transit_token_ttl",
        "addons.token_ttl",
    ):
        if ok(name) and settings[name] < 1:
            problems.append(f"{name} must be at least 1 second")
    return problems


def _check_resource_server(settings: Mapping[str, Any], ok: Callable[..., bool]) -> list[str]:
    """Whose tokens the resource server accepts must be said: any client of the provider
    holding a user's token with the scope would otherwise act for that user here."""
    if not (ok("resource_server.enabled") and settings["resource_server.enabled"]):
        return []
    problems = []
    if ok("external_api.enabled") and not settings["external_api.enabled"]:
        problems.append("resource_server.enabled needs external_api.enabled")
    audiences = "resource_server.allowed_audiences"
    if ok(audiences) and not settings[audiences]:
        problems.append(
            "resource_server.allowed_audiences is required with resource_server.enabled:"
            " the client ids whose tokens are accepted, or * for any"
        )
    endpoint = "resource_server.introspection_endpoint"
    if ok(endpoint) and settings[endpoint]:
        problems.extend(_check_http_url(endpoint, settings[endpoint], show_credentials=False))
    if ok("resource_server.cache_seconds") and settings["resource_server.cache_seconds"] < 0:
        problems.append("resource_server.cache_seconds must be 0 (no cache) or more seconds")
    if ok("resource_server.rate_limit") and settings["resource_server.rate_limit"] < 0:
        problems.append("resource_server.rate_limit must be 0 (no limit) or more a minute")
    if ok("resource_server.encryption_key") and settings["resource_server.encryption_key"]:
        from .services.resource_server import InvalidKey, encryption_key

        try:
            encryption_key(settings["resource_server.encryption_key"])
        except InvalidKey as exc:  # the message never shows the key
            problems.append(f"resource_server.encryption_key: {exc}")
    return problems


def _check_public_endpoint(value: str) -> list[str]:
    """Browsers PUT to it, and the pages' connect-src names its origin. A URL holding
    credentials is not shown: they may be a password."""
    return _check_http_url("s3.public_endpoint_url", value, show_credentials=False)


def _check_base_url(value: str) -> list[str]:
    return _check_http_url("app.base_url", value, root_only=True)


def _check_http_url(
    name: str, value: str, *, root_only: bool = False, show_credentials: bool = True
) -> list[str]:
    """An http(s) URL of a host, with no query, fragment or credentials (and, for
    `root_only`, no path); the first problem found."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"{name} = {value!r} must be an http:// or https:// URL"]
    if parts.query or parts.fragment or parts.username or parts.password:
        shown = f"{name} = {value!r}" if show_credentials else name
        return [f"{shown} must hold no query, fragment or credentials"]
    if root_only and parts.path not in ("", "/"):
        return [f"{name} = {value!r}: serving under a path is not supported"]
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return [f"{name} = {value!r} has a malformed port"]
    return []

"""The settings table: defaults, types, MEET_* overrides, secrets from files, start-up errors."""

from __future__ import annotations

import configparser
import logging
import os
from pathlib import Path

import pytest
from pyramid.paster import get_app

from meet_web.settings import SETTINGS, SETTINGS_BY_NAME, Setting, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_INI = ROOT / "production.ini"
REQUIRED = [s for s in SETTINGS if s.required]
SECRETS = [s for s in SETTINGS if s.secret]
LONG_SECRET = "0123456789abcdef0123456789abcdef"  # 32 bytes, the minimum

MINIMAL = {
    "sqlalchemy.url": "sqlite://",
    "session.secret": LONG_SECRET,
    "livekit.url": "http://127.0.0.1:7880",
    "livekit.api_key": "devkey",
    "livekit.api_secret": LONG_SECRET,
    "oidc.issuer": "http://127.0.0.1:9000",
    "oidc.client_id": "meet",
    "oidc.client_secret": "oidc-secret",
}


def load(ini=None, **environ) -> dict:
    return load_settings({**MINIMAL, **(ini or {})}, environ)


def problems_of(ini=None, base=MINIMAL, **environ) -> list[str]:
    with pytest.raises(SettingsError) as exc:
        load_settings({**base, **(ini or {})}, environ)
    assert str(exc.value).startswith("Meet Web cannot start, fix these settings:")
    for problem in exc.value.problems:
        assert f"  - {problem}" in str(exc.value)
    return exc.value.problems


# Defaults and types


def test_defaults():
    settings = load()

    assert set(SETTINGS_BY_NAME) <= set(settings)
    assert settings["app.base_url"] == ""  # links follow the request
    assert settings["app.trusted_hosts"] == []
    assert settings["app.max_body_size"] == 1048576
    assert settings["app.secure_cookies"] is True
    assert settings["app.languages"] == ["en-us", "fr-fr", "de-de", "nl-nl"]
    assert settings["session.max_age"] == 43200
    assert settings["livekit.timeout"] == 5.0
    assert settings["livekit.authenticated_participants_can_edit_display_name"] is True
    assert settings["oidc.operator_groups"] == []
    assert settings["rooms.default_access_level"] == "public"
    assert settings["recording.expiration_days"] is None
    assert settings["recording.media_front"] is False  # the app streams recordings
    assert settings["telephony.pin_length"] == 10
    assert settings["telephony.pin_max_retries"] == 5
    assert settings["roomkit.rate_limit"] == 300
    assert settings["frontend.configuration"] == {}
    assert settings["testing.shared_connection"] is False


def test_required_values_are_kept():
    settings = load()

    for key, value in MINIMAL.items():
        assert settings[key] == value


def test_undeclared_keys_pass_through():
    settings = load({"pyramid.reload_templates": "true", "retry.attempts": "5"})

    assert settings["pyramid.reload_templates"] == "true"
    assert settings["retry.attempts"] == "5"


def test_mutable_defaults_are_not_shared():
    first = load()
    first["app.languages"].append("es-es")
    first["frontend.configuration"]["x"] = 1

    second = load()

    assert second["app.languages"] == ["en-us", "fr-fr", "de-de", "nl-nl"]
    assert second["frontend.configuration"] == {}
    assert SETTINGS_BY_NAME["app.languages"].default == ["en-us", "fr-fr", "de-de", "nl-nl"]


@pytest.mark.parametrize(
    ("key", "raw", "value"),
    [
        ("app.secure_cookies", "true", True),
        ("app.secure_cookies", " Yes ", True),
        ("app.secure_cookies", "ON", True),
        ("app.secure_cookies", "1", True),
        ("app.secure_cookies", "false", False),
        ("app.secure_cookies", "no", False),
        ("app.secure_cookies", "Off", False),
        ("app.secure_cookies", "0", False),
        ("app.secure_cookies", "", False),
        ("session.max_age", "3600", 3600),
        ("lobby.waiting_timeout", " 7 ", 7),
        ("livekit.timeout", "2.5", 2.5),
        ("recording.expiration_days", "30", 30),
        ("recording.expiration_days", "", None),
        ("recording.expiration_days", "  ", None),
        ("app.languages", "en-us, fr-fr de-de", ["en-us", "fr-fr", "de-de"]),
        ("app.languages", "en-us,,  fr-fr\n", ["en-us", "fr-fr"]),
        ("oidc.operator_groups", "", []),
        ("frontend.configuration", '{"feedback": {"url": "x"}}', {"feedback": {"url": "x"}}),
        ("frontend.configuration", "", {}),
        ("mail.host", "smtp.example.org", "smtp.example.org"),
    ],
)
def test_typed_parsing(key, raw, value):
    assert load({key: raw})[key] == value


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("app.secure_cookies", "maybe", "expected true or false"),
        ("session.max_age", "soon", "invalid literal for int()"),
        ("livekit.timeout", "fast", "could not convert string to float"),
        ("recording.max_duration", "1.5", "invalid literal for int()"),
        ("frontend.configuration", "[1, 2]", "expected a JSON object"),
        ("frontend.configuration", "{nope", "Expecting property name"),
    ],
)
def test_malformed_value(key, raw, message):
    (problem,) = problems_of({key: raw})

    assert problem.startswith(f"{key} = {raw!r} is malformed: ")
    assert message in problem


def test_every_malformed_value_is_listed():
    problems = problems_of(
        {"session.max_age": "soon", "app.secure_cookies": "maybe", "mail.port": "smtp"}
    )

    assert [p.split(" ", 1)[0] for p in problems] == [
        "app.secure_cookies",
        "session.max_age",
        "mail.port",
    ]


def test_env_name():
    assert SETTINGS_BY_NAME["livekit.api_secret"].env_name == "MEET_LIVEKIT_API_SECRET"
    assert SETTINGS_BY_NAME["cache.arguments.url"].env_name == "MEET_CACHE_ARGUMENTS_URL"
    assert Setting("some.dashed-key").env_name == "MEET_SOME_DASHED_KEY"


# Environment overrides


def test_environment_overrides_the_ini_file():
    settings = load(
        {"app.base_url": "http://ini.example.org", "rooms.page_size": "5"},
        MEET_APP_BASE_URL="https://meet.example.org",
        MEET_ROOMS_PAGE_SIZE="50",
        MEET_LIVEKIT_DEFAULT_SOURCES="camera microphone",
        MEET_RECORDING_ENABLED="true",
    )

    assert settings["app.base_url"] == "https://meet.example.org"
    assert settings["rooms.page_size"] == 50
    assert settings["livekit.default_sources"] == ["camera", "microphone"]
    assert settings["recording.enabled"] is True


def test_environment_supplies_required_settings():
    environ = {s.env_name: MINIMAL[s.name] for s in REQUIRED}

    settings = load_settings({}, environ)

    for s in REQUIRED:
        assert settings[s.name] == MINIMAL[s.name]


def test_malformed_environment_value_is_reported():
    (problem,) = problems_of(MEET_SESSION_MAX_AGE="forever")

    assert problem.startswith("session.max_age = 'forever' is malformed")


def test_blank_environment_value_does_not_satisfy_a_required_setting():
    (problem,) = problems_of(MEET_LIVEKIT_API_KEY="  ")

    assert problem == "livekit.api_key is required (ini key, or MEET_LIVEKIT_API_KEY)"


# Secrets from files


def test_secret_from_file(tmp_path):
    secret = tmp_path / "session_secret"
    secret.write_text(LONG_SECRET + "-from-a-file\n", encoding="utf-8")

    settings = load({"session.secret": ""}, MEET_SESSION_SECRET_FILE=str(secret))

    assert settings["session.secret"] == LONG_SECRET + "-from-a-file"


def test_secret_file_loses_exactly_one_trailing_newline(tmp_path):
    secret = tmp_path / "client_secret"
    secret.write_text("  two newlines\n\n", encoding="utf-8")

    settings = load(MEET_OIDC_CLIENT_SECRET_FILE=str(secret))

    assert settings["oidc.client_secret"] == "  two newlines\n"


def test_secret_file_overrides_the_ini_file(tmp_path):
    secret = tmp_path / "api_secret"
    secret.write_text("f" * 40, encoding="utf-8")

    settings = load(MEET_LIVEKIT_API_SECRET_FILE=str(secret))

    assert settings["livekit.api_secret"] == "f" * 40


def test_value_and_file_both_set_is_an_error(tmp_path):
    secret = tmp_path / "session_secret"
    secret.write_text(LONG_SECRET, encoding="utf-8")

    (problem,) = problems_of(MEET_SESSION_SECRET=LONG_SECRET, MEET_SESSION_SECRET_FILE=str(secret))

    assert problem == "MEET_SESSION_SECRET and MEET_SESSION_SECRET_FILE are both set; keep one"


def test_file_for_a_non_secret_is_an_error(tmp_path):
    path = tmp_path / "base_url"
    path.write_text("https://meet.example.org", encoding="utf-8")

    (problem,) = problems_of(MEET_APP_BASE_URL_FILE=str(path))

    assert problem == "MEET_APP_BASE_URL_FILE: only secrets may be read from a file"


def test_unreadable_secret_file_is_an_error(tmp_path):
    missing = tmp_path / "missing"

    (problem,) = problems_of(MEET_OIDC_CLIENT_SECRET_FILE=str(missing))

    assert problem == f"MEET_OIDC_CLIENT_SECRET_FILE: cannot read {missing}"


# Start-up errors


def test_missing_required_settings_are_listed_together():
    with pytest.raises(SettingsError) as exc:
        load_settings({}, {})

    assert exc.value.problems == [
        f"{s.name} is required (ini key, or {s.env_name}"
        + (f" / {s.env_name}_FILE)" if s.secret else ")")
        for s in REQUIRED
    ]
    message = str(exc.value)
    for s in REQUIRED:
        assert s.name in message
        assert s.env_name in message


def test_missing_malformed_and_invalid_values_are_listed_together():
    ini = {k: v for k, v in MINIMAL.items() if k != "oidc.issuer"}

    problems = problems_of(
        {"session.secret": "short", "session.max_age": "soon"},
        base=ini,
        MEET_BOGUS_SETTING="1",
    )

    assert problems == [
        "session.max_age = 'soon' is malformed: invalid literal for int() with base 10: 'soon'",
        "oidc.issuer is required (ini key, or MEET_OIDC_ISSUER)",
        "session.secret must be at least 32 bytes",
    ]


@pytest.mark.parametrize("key", ["session.secret", "livekit.api_secret"])
def test_short_secrets_are_refused(key):
    short = "x" * 31

    (problem,) = problems_of({key: short})

    assert problem == f"{key} must be at least 32 bytes"


def test_secret_length_counts_bytes():
    # 16 two-byte characters: 32 bytes.
    assert load({"session.secret": "é" * 16})["session.secret"] == "é" * 16


def test_secret_values_never_appear_in_errors(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("tiny-secret-value", encoding="utf-8")

    with pytest.raises(SettingsError) as exc:
        load_settings(
            {**MINIMAL, "livekit.api_secret": "tiny-secret-value"},
            {"MEET_SESSION_SECRET_FILE": str(secret)},
        )

    assert "tiny-secret-value" not in str(exc.value)
    assert len(exc.value.problems) == 2


@pytest.mark.parametrize(
    ("ini", "problem"),
    [
        (
            {"rooms.default_access_level": "secret"},
            "rooms.default_access_level must be public, trusted or restricted",
        ),
        ({"telephony.pin_length": "3"}, "telephony.pin_length must be at least 4"),
        (
            {"external_api.default_access_level": "open"},
            "external_api.default_access_level must be public, trusted or restricted",
        ),
        (
            {"applications.enabled": "true"},
            "applications.jwt_secret_key must be at least 32 bytes when its feature is on",
        ),
        (
            {"addons.enabled": "true", "addons.token_secret_key": LONG_SECRET},
            "addons.csrf_secret must be at least 32 bytes when its feature is on",
        ),
        (
            {
                "applications.enabled": "true",
                "applications.jwt_secret_key": LONG_SECRET,
                "addons.enabled": "true",
                "addons.token_secret_key": LONG_SECRET,
                "addons.csrf_secret": LONG_SECRET,
            },
            "addons.token_secret_key must differ from applications.jwt_secret_key",
        ),
        ({"addons.transit_token_ttl": "0"}, "addons.transit_token_ttl must be at least 1 second"),
        (
            {"s3.public_endpoint_url": "s3.example.org"},
            "s3.public_endpoint_url = 's3.example.org' must be an http:// or https:// URL",
        ),
        (
            {"s3.public_endpoint_url": "https://key:secret@s3.example.org"},
            "s3.public_endpoint_url must hold no query, fragment or credentials",
        ),
        (
            {"s3.public_endpoint_url": "https://s3.example.org:port"},
            "s3.public_endpoint_url = 'https://s3.example.org:port' has a malformed port",
        ),
        (
            {"cache.backend": "dogpile.cache.redis"},
            "cache.arguments.url is required with the redis cache backend"
            " (ini key, or MEET_CACHE_ARGUMENTS_URL)",
        ),
    ],
)
def test_invalid_values(ini, problem):
    assert problems_of(ini) == [problem]


def test_redis_cache_with_url():
    settings = load(
        {"cache.backend": "dogpile.cache.redis"},
        MEET_CACHE_ARGUMENTS_URL="redis://127.0.0.1:6379/0",
    )

    assert settings["cache.arguments.url"] == "redis://127.0.0.1:6379/0"


# Unknown variables


def test_unknown_environment_variable_logs_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="meet_web.settings"):
        load(MEET_LIVEKIT_APIKEY="typo", MEET_SESSION_MAX_AGE="60")

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["unknown environment variable MEET_LIVEKIT_APIKEY ignored"]


def test_known_and_test_variables_log_nothing(caplog, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(LONG_SECRET, encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="meet_web.settings"):
        load(
            MEET_SESSION_SECRET_FILE=str(secret),
            MEET_APP_BASE_URL="https://meet.example.org",
            MEET_TEST_DATABASE_URL="sqlite://",
            OTHER_VARIABLE="x",
        )

    assert caplog.records == []


# production.ini


def production_app_section() -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(PRODUCTION_INI, encoding="utf-8")
    return dict(parser["app:main"])


def test_production_ini_holds_no_secret():
    section = production_app_section()

    assert section["use"] == "egg:meet_web"
    for setting in SECRETS:
        assert not section.get(setting.name, "").strip(), f"{setting.name} has a value"


def test_production_ini_documents_the_required_environment():
    text = PRODUCTION_INI.read_text(encoding="utf-8")

    for setting in REQUIRED:
        assert setting.env_name in text
    assert "MEET_CACHE_ARGUMENTS_URL" in text


def test_production_ini_needs_the_environment():
    with pytest.raises(SettingsError) as exc:
        load_settings(production_app_section(), {})

    assert exc.value.problems == [
        *(
            f"{s.name} is required (ini key, or {s.env_name}"
            + (f" / {s.env_name}_FILE)" if s.secret else ")")
            for s in REQUIRED
        ),
        "cache.arguments.url is required with the redis cache backend"
        " (ini key, or MEET_CACHE_ARGUMENTS_URL)",
    ]


def test_production_ini_start_up_fails_listing_required_settings(monkeypatch):
    """The real start-up path: PasteDeploy loads production.ini and calls the app factory."""
    for name in list(os.environ):
        if name.startswith("MEET_"):
            monkeypatch.delenv(name)

    with pytest.raises(SettingsError) as exc:
        get_app(str(PRODUCTION_INI))

    message = str(exc.value)
    for setting in REQUIRED:
        assert f"{setting.name} is required" in message
    assert "cache.arguments.url is required" in message


def test_production_ini_with_the_environment(tmp_path):
    environ = {}
    for setting in REQUIRED:
        if setting.secret:
            path = tmp_path / setting.name
            path.write_text(LONG_SECRET + "\n", encoding="utf-8")
            environ[setting.env_name + "_FILE"] = str(path)
        else:
            environ[setting.env_name] = MINIMAL[setting.name]
    environ["MEET_CACHE_ARGUMENTS_URL"] = "redis://127.0.0.1:6379/0"

    settings = load_settings(production_app_section(), environ)

    assert settings["app.secure_cookies"] is True
    assert settings["session.secret"] == LONG_SECRET
    assert settings["cache.backend"] == "dogpile.cache.redis"

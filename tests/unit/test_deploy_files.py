"""The shipped deployment files stay true to the code: deploy/gunicorn.conf.py and
deploy/systemd/ (docs/deploy.md)."""

from __future__ import annotations

import configparser
import os
import runpy
import shlex
import shutil
import socket
import subprocess
import sys
import time
import types
import urllib.request
from pathlib import Path

import gunicorn.config
import pytest

from meet_web.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
SYSTEMD = ROOT / "deploy" / "systemd"
ENV_EXAMPLE = SYSTEMD / "meet-web.env.example"
INSTALL_ROOT = "/srv/meet-web"
APP_UNIT = "meet-web.service"
# Console scripts an operator runs by hand, never on a schedule.
MANUAL_SCRIPTS = {
    "meet-web-operator",
    "meet-web-create-application",
    "meet-web-merge-duplicate-users",
}


def console_scripts() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options.entry_points"]["console_scripts"].strip().splitlines()
    return {line.split("=")[0].strip() for line in lines}


def unit_entries(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A unit file's sections as lists of (key, value): keys may repeat."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def values(path: Path, section: str, key: str) -> list[str]:
    return [v for k, v in unit_entries(path).get(section, []) if k == key]


def exec_words(path: Path) -> list[str]:
    """The words of ExecStart, and of the command a `/bin/sh -c` runs."""
    (command,) = values(path, "Service", "ExecStart")
    words = shlex.split(command)
    if words[:2] == ["/bin/sh", "-c"]:
        words = shlex.split(words[2])
        if words[0] == "exec":
            words = words[1:]
    return words


def maintenance_units() -> list[Path]:
    return sorted(p for p in SYSTEMD.glob("*.service") if p.name != APP_UNIT)


def gunicorn_conf() -> dict:
    return {
        name: value
        for name, value in runpy.run_path(str(GUNICORN_CONF)).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


# -- gunicorn ---------------------------------------------------------------------------


def test_the_gunicorn_configuration_names_only_gunicorn_settings():
    compile(GUNICORN_CONF.read_text(encoding="utf-8"), str(GUNICORN_CONF), "exec")
    config = gunicorn_conf()
    known = {setting.name for setting in gunicorn.config.KNOWN_SETTINGS}
    assert set(config) - known == set()  # gunicorn ignores unknown names silently
    cfg = gunicorn.config.Config()
    for name, value in config.items():
        cfg.set(name, value)  # gunicorn's own validators: types, hooks' arities
    assert cfg.worker_class_str == "gthread" and cfg.preload_app


def test_the_gunicorn_configuration_sets_what_the_guide_says():
    config = gunicorn_conf()
    assert config["bind"] == "127.0.0.1:6543"  # production.ini's port, nginx's ${APP}
    assert config["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert {"child_exit", "post_fork", "post_worker_init"} <= set(config)


ECHO_APP = """
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [(environ["REMOTE_ADDR"] + " " + environ["wsgi.url_scheme"]).encode()]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_and_ask(tmp_path, *extra_args) -> str:
    """Serve a WSGI app that echoes REMOTE_ADDR with the shipped configuration; ask it
    once as a front would."""
    (tmp_path / "echo_app.py").write_text(ECHO_APP, encoding="utf-8")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir(exist_ok=True)
    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    env.pop("GUNICORN_CMD_ARGS", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(GUNICORN_CONF),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--pythonpath",
            str(tmp_path),
            *extra_args,
            "echo_app:application",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/",
            headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    return answer.read().decode()
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
        assert "Traceback" not in errors, errors


def test_gunicorn_takes_the_client_address_from_the_front(tmp_path):
    assert serve_and_ask(tmp_path) == "203.0.113.7 https"


def test_gunicorn_ignores_forwarded_headers_from_other_peers(tmp_path):
    assert serve_and_ask(tmp_path, "--forwarded-allow-ips", "192.0.2.1") == "127.0.0.1 http"


# -- systemd ----------------------------------------------------------------------------


def test_each_maintenance_unit_runs_a_console_script_on_the_ini():
    scripts = console_scripts()
    for unit in maintenance_units():
        program, ini, *_ = exec_words(unit)
        name = Path(program).name
        assert program == f"{INSTALL_ROOT}/.venv/bin/{name}", unit.name
        assert name in scripts, unit.name
        assert unit.name == f"{name}.service"
        assert ini == f"{INSTALL_ROOT}/production.ini"
        assert values(unit, "Service", "Type") == ["oneshot"]


def test_the_app_unit_runs_gunicorn_with_the_shipped_files():
    unit = SYSTEMD / APP_UNIT
    words = exec_words(unit)
    assert words[0] == f"{INSTALL_ROOT}/.venv/bin/gunicorn"
    config = Path(words[words.index("--config") + 1])
    ini = Path(words[words.index("--paste") + 1])
    for shipped in (config, ini):
        assert (ROOT / shipped.relative_to(INSTALL_ROOT)).is_file(), shipped
    runtime = values(unit, "Service", "RuntimeDirectory")
    assert values(unit, "Service", "Environment") == [f"PROMETHEUS_MULTIPROC_DIR=/run/{runtime[0]}"]


def test_every_scheduled_console_script_has_a_timer_and_only_those():
    scripts = console_scripts()
    assert scripts >= MANUAL_SCRIPTS
    timers = {timer.stem for timer in SYSTEMD.glob("*.timer")}
    assert timers == scripts - MANUAL_SCRIPTS
    assert {unit.stem for unit in maintenance_units()} == timers
    for timer in timers:
        path = SYSTEMD / f"{timer}.timer"
        assert values(path, "Timer", "OnCalendar"), timer
        assert values(path, "Install", "WantedBy") == ["timers.target"]


def test_every_unit_reads_the_same_environment():
    for unit in [SYSTEMD / APP_UNIT, *maintenance_units()]:
        assert values(unit, "Service", "EnvironmentFile") == ["/etc/meet/meet-web.env"]
        assert values(unit, "Service", "User") == ["meet"], unit.name


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_accepts_the_units(tmp_path):
    for shipped in SYSTEMD.glob("meet-web*.[st][ei]*"):
        text = shipped.read_text(encoding="utf-8").replace(INSTALL_ROOT, str(ROOT))
        (tmp_path / shipped.name).write_text(text, encoding="utf-8")
    units = sorted(str(p) for p in tmp_path.iterdir() if p.suffix in (".service", ".timer"))
    result = subprocess.run(
        ["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_the_environment_example_names_only_settings():
    by_env = {setting.env_name: setting for setting in SETTINGS}
    named = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.lstrip("# ")
        name = line.partition("=")[0]
        if not line.startswith("MEET_") or not name.isupper():
            continue
        if name in by_env:
            named.add(name)
        else:
            assert name.endswith("_FILE") and name[: -len("_FILE")] in by_env, name
            assert by_env[name[: -len("_FILE")]].secret, f"{name}: only secrets come from files"
            named.add(name[: -len("_FILE")])
    required = {setting.env_name for setting in SETTINGS if setting.required}
    assert required <= named

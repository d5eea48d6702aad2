"""Console scripts: `meet-web-<verb> <ini> ...`, each a `main(argv)` returning an exit status.

Every script loads the application from the ini file with `pyramid.paster.bootstrap`, so
the settings are read exactly as the web server reads them (MEET_* environment overrides
and MEET_*_FILE secrets included), and does its database work in one transaction.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyramid.paster import bootstrap, setup_logging

from ..settings import SettingsError


class ScriptError(Exception):
    """A failure to report on stderr, without a traceback; the script exits with 1."""


def ini_path(config_uri: str) -> Path | None:
    """The file of a plain `file.ini[#section]` URI, None for other plaster URIs."""
    if "://" in config_uri:
        return None
    return Path(config_uri.split("#", 1)[0])


@contextmanager
def application_env(config_uri: str) -> Iterator[dict]:
    """Yield the bootstrap environment (app, registry, request with `tm` and `dbsession`)."""
    path = ini_path(config_uri)
    if path is not None and not path.is_file():
        raise ScriptError(f"cannot read the configuration file {path}")
    setup_logging(config_uri)
    try:
        env = bootstrap(config_uri)
    except SettingsError as exc:
        raise ScriptError(str(exc)) from exc
    try:
        yield env
    finally:
        env["closer"]()
        env["registry"]["dbengine"].dispose()


def fail(prog: str, message: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 1

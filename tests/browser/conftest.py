"""Browser tests: the app served by waitress on loopback with its own SQLite file (requests
really commit), driven by the system's headless Chromium through Playwright.

Every test in this folder is marked `browser`; run them with `pytest -m browser`.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session
from waitress import wasyncore
from waitress.server import create_server

from meet_web import main
from tests.conftest import migrate

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter):
    """What failed on each try that pytest-rerunfailures ran again: its own summary (-rR)
    names the test only, and a flake that a rerun hides is still worth reading."""
    reruns = terminalreporter.stats.get("rerun", [])
    if reruns:
        terminalreporter.section("the tries that failed and were run again")
    for report in reruns:
        terminalreporter.write_line(f"{report.nodeid} ({report.when}, {report.duration:.0f} s)")
        terminalreporter.write_line(report.longreprtext)


@dataclass
class LiveServer:
    url: str
    app: object

    def dbsession(self) -> Session:
        """A session on the served database, to check what the pages really committed."""
        return Session(bind=self.app.registry["dbengine"])


@contextlib.contextmanager
def serve_app(settings: dict, folder: Path, **overrides) -> Iterator[LiveServer]:
    """The app on a free loopback port, with a migrated SQLite database in `folder`."""
    apps = {}

    def wsgi(environ, start_response):
        return apps["app"](environ, start_response)

    server = create_server(wsgi, host="127.0.0.1", port=0, threads=8)
    base_url = f"http://127.0.0.1:{server.effective_port}"
    database_url = f"sqlite:///{folder / 'browser.sqlite'}"
    migrate(database_url)
    apps["app"] = main(
        {},
        **{
            **settings,
            "sqlalchemy.url": database_url,
            "testing.shared_connection": "false",
            "app.base_url": base_url,
            **overrides,
        },
    )
    thread = threading.Thread(target=server.run, name="browser-test-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=base_url, app=apps["app"])
    finally:
        # Close every socket from the server's own loop, which then ends.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=10)
        server.task_dispatcher.shutdown(timeout=5)
        apps["app"].registry["dbengine"].dispose()


@pytest.fixture(scope="session")
def live_server(settings, tmp_path_factory):
    with serve_app(settings, tmp_path_factory.mktemp("browser-db")) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium to run the browser tests")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser, live_server):
    """A page in a fresh browser context (no cookies), with a short default timeout."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@contextlib.contextmanager
def page_opener(browser, base_url: str, viewport: dict) -> Iterator[Callable[..., Page]]:
    """`open(**options)`: a page in a browser context of its own on `base_url`, with a
    15-second default timeout; every context it opened closes on leaving."""
    contexts = []

    def open_page(**options) -> Page:
        context = browser.new_context(base_url=base_url, viewport=viewport, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()


def sign_in(page, login: str) -> None:
    page.goto("/")
    page.get_by_role("link", name="Sign in", exact=True).click()
    # the development identity provider's login form
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any-password")
    page.locator("button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))
    expect(
        page.get_by_role("link", name=re.compile(f"{login.capitalize()} Example"))
    ).to_be_visible()


# Real media through the loopback SFU (tests/browser/test_media.py).
from tests.browser.media_fixtures import (  # noqa: E402, F401
    loopback_sfu,
    media_browser,
    media_livekit,
    media_page,
)

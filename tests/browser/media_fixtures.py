"""Fixtures for browser tests with real media: the loopback SFU on the session's
LiveKit fake, and Chromium with fake camera and microphone.

Import them into a test module (``from tests.browser.media_fixtures import ...``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.servers.livekit_fake import FakeLiveKit

if TYPE_CHECKING:
    from tests.servers.sfu import LoopbackSFU

MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    # the SFU's only ICE candidate is 127.0.0.1; let Chromium pair with it
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]

# livekit-client's Room is not reachable from the page's scripts: keep every Room the
# page creates in window.__livekitRooms, for the tests to inspect and drive.
CAPTURE_ROOMS = """
(() => {
  window.__livekitRooms = [];
  let client;
  let Room;
  // The UMD build assigns an empty exports object first and fills it afterwards.
  const wrap = (exports) => new Proxy(exports, {
    get(target, key) {
      if (key !== "Room" || !target.Room) return target[key];
      Room = Room || class extends target.Room {
        constructor(...args) {
          super(...args);
          window.__livekitRooms.push(this);
          this.on("disconnected", (reason) => { this.__disconnectReason = reason; });
        }
      };
      return Room;
    },
  });
  Object.defineProperty(window, "LivekitClient", {
    configurable: true,
    get() { return client; },
    set(value) { client = value && wrap(value); },
  });
})();
"""


@pytest.fixture(scope="session")
def loopback_sfu(livekit_server: FakeLiveKit) -> Iterator[LoopbackSFU]:
    """The SFU's event loop, for the session; attached to the fake per test."""
    pytest.importorskip("aiortc")
    from tests.servers.sfu import LoopbackSFU

    sfu = LoopbackSFU(livekit_server).start()
    yield sfu
    sfu.stop()


@pytest.fixture
def media_livekit(loopback_sfu: LoopbackSFU, livekit_server: FakeLiveKit) -> Iterator[FakeLiveKit]:
    """The session's LiveKit fake with the loopback SFU serving its ``/rtc/v1`` during
    the test; emptied, and every browser disconnected, after it."""
    loopback_sfu.attach()
    yield livekit_server
    loopback_sfu.detach()
    livekit_server.reset()


@pytest.fixture(scope="session")
def media_browser(browser):
    """Chromium with a fake camera and microphone, granted without asking; launched by
    the same Playwright as ``browser`` (one sync Playwright per process)."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # it imports this module

    media = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + MEDIA_ARGS
    )
    yield media
    media.close()


@pytest.fixture
def media_page(media_browser, live_server, media_livekit) -> Iterator[Callable[..., Page]]:
    """A factory of pages, each in its own browser context, closed after the test."""
    contexts: list[BrowserContext] = []

    def new_page(**context_options) -> Page:
        """``context_options``: more of Playwright's context options (``locale``...)."""
        context = media_browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}, **context_options
        )
        context.set_default_timeout(20_000)
        context.add_init_script(CAPTURE_ROOMS)
        contexts.append(context)
        return context.new_page()

    yield new_page
    for context in contexts:
        context.close()

// The administrators' lobby panel (htmx, _lobby_panel.jinja2) is refreshed when LiveKit
// brings a `participantWaiting` message. A slow poll covers a missed message; until the
// room is connected no message can arrive at all, so the poll is quicker then.
import { announce } from "./announcer.js";
import { t } from "./config.js";
import { onServerMessage } from "./connection.js";

const CONNECTED_POLL_MS = 30_000;
const DISCONNECTED_POLL_MS = 5_000;

export function createLobbyPanel(room, LK) {
  const panel = document.getElementById("lobby-panel");
  if (!panel || !window.htmx) return;
  let lastRefresh = Date.now();

  function refresh() {
    lastRefresh = Date.now();
    window.htmx.trigger(panel, "lobby-refresh");
  }

  onServerMessage(room, LK, (message) => {
    if (message?.type === "participantWaiting") {
      refresh();
      announce(t("someoneWaiting"));
    }
  });

  setInterval(() => {
    const connected = room.state === LK.ConnectionState.Connected;
    const interval = connected ? CONNECTED_POLL_MS : DISCONNECTED_POLL_MS;
    if (Date.now() - lastRefresh >= interval) refresh();
  }, DISCONNECTED_POLL_MS);
}

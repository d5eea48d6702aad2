// The connection to LiveKit: connecting, reconnecting, and why a meeting ended for us
// (removed, meeting ended, unreachable with a Retry button).
import { announce } from "./announcer.js";
import { config, t } from "./config.js";
import { clearNotice } from "./notice.js";
import { showStatus } from "./status.js";

const problem = document.getElementById("meeting-problem");
const retryButton = problem.querySelector('[data-action="retry"]');
const stageParts = [".meeting-body", ".meeting-controls", "#shortcut-help", ".meeting-header-tools"]
  .map((selector) => document.querySelector(selector));

export function showProblem(titleKey, textKey, { retry = null } = {}) {
  problem.querySelector("[data-problem-title]").textContent = t(titleKey);
  problem.querySelector("[data-problem-text]").textContent = t(textKey);
  retryButton.hidden = !retry;
  retryButton.onclick = retry;
  problem.hidden = false;
  // A meeting that is over for us goes away, with what came with it (an earlier notice,
  // the panels' toggles, the shortcuts' help); one we may retry stays behind the
  // message (administrators keep their lobby panel meanwhile).
  if (!retry) {
    stageParts.forEach((part) => part.classList.add("is-inactive"));
    clearNotice();
  }
  showStatus(t(titleKey), "problem");
  (retry ? retryButton : problem.querySelector("[data-problem-title]")).focus?.();
}

function hideProblem() {
  problem.hidden = true;
  stageParts.forEach((part) => part.classList.remove("is-inactive"));
}

const ENDINGS = {
  PARTICIPANT_REMOVED: ["titleRemoved", "removed", false],
  ROOM_DELETED: ["titleEnded", "ended", false],
  ROOM_CLOSED: ["titleEnded", "ended", false],
  DUPLICATE_IDENTITY: ["titleLost", "duplicate", false],
};

// Calls `handle(message)` with each JSON message the room's data channel brings (the
// server's notices); anything else is passed over.
export function onServerMessage(room, LK, handle) {
  room.on(LK.RoomEvent.DataReceived, (payload) => {
    let message;
    try {
      message = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return; // not one of the server's messages
    }
    handle(message);
  });
}

export function createConnection(LK, roomOptions) {
  const room = new LK.Room(roomOptions);
  let leaving = false;
  let connecting = false; // a failed attempt is told by connect(), not by Disconnected
  const connectedHandlers = [];

  async function connect() {
    hideProblem();
    showStatus(t("connecting"), "connecting");
    connecting = true;
    try {
      await room.connect(config.url, config.token);
    } catch {
      showProblem("titleUnreachable", "unreachable", { retry: connect });
      return;
    } finally {
      connecting = false;
    }
    showStatus(t("connected"), "connected");
    connectedHandlers.forEach((handler) => handler());
  }

  room
    .on(LK.RoomEvent.Reconnecting, () => {
      showStatus(t("reconnecting"), "reconnecting");
      announce(t("reconnecting"), { assertive: true });
    })
    .on(LK.RoomEvent.Reconnected, () => {
      showStatus(t("reconnected"), "connected");
      announce(t("reconnected"));
    })
    .on(LK.RoomEvent.Disconnected, (reason) => {
      if (leaving || connecting) return;
      const name = LK.DisconnectReason[reason];
      const [title, text, canRetry] = ENDINGS[name] || ["titleLost", "lost", true];
      showProblem(title, text, { retry: canRetry ? connect : null });
    });

  return {
    room,
    connect,
    onConnected(handler) {
      connectedHandlers.push(handler);
    },
    async leave() {
      leaving = true;
      await room.disconnect();
      showStatus(t("left"), "left");
    },
  };
}

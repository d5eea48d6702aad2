// Whether the meeting is being recorded, from the room metadata the app writes through
// LiveKit (`recording_mode`; `recording_status`: starting, then started, saving, aborted;
// both removed once the recording ended): a badge everyone sees, each change announced.
// Administrators and owners also get Start recording (a choice of mode when the app has
// both) and Stop recording. LiveKit's limit notices arrive as data messages.
import { announce } from "./announcer.js";
import { ApiFailure, post } from "./app-api.js";
import { config, t } from "./config.js";
import { onServerMessage } from "./connection.js";
import { clearNotice, showNotice } from "./notice.js";

// recording_status -> what the page shows; anything else (aborted, none): no recording
const PHASES = { starting: "starting", started: "on", saving: "stopping" };
const WORDS = {
  screen_recording: {
    starting: "recordingStarting",
    on: "recordingOn",
    stopping: "recordingStopping",
    told: "beingRecorded",
    ended: "recordingEnded",
    stop: "stopRecording",
  },
  transcript: {
    starting: "transcriptionStarting",
    on: "transcriptionOn",
    stopping: "transcriptionStopping",
    told: "beingTranscribed",
    ended: "transcriptionEnded",
    stop: "stopTranscription",
  },
};
const LIMIT_NOTICES = {
  screenRecordingLimitReached: "recordingLimitReached",
  transcriptionLimitReached: "transcriptionLimitReached",
};
const START_ERRORS = { 404: "recordingUnavailable", 409: "recordingBusy", 502: "recordingStartFailed" };
const STOP_ERRORS = { 404: "noRecording", 500: "recordingStopFailed", 502: "recordingStopFailed" };

function readRecording(metadata) {
  let parsed;
  try {
    parsed = JSON.parse(metadata || "{}");
  } catch {
    parsed = {};
  }
  const phase = PHASES[parsed?.recording_status] ?? null;
  const mode = parsed?.recording_mode === "transcript" ? "transcript" : "screen_recording";
  return { phase, mode };
}

function errorKey(error, known) {
  const status = error instanceof ApiFailure ? error.status : 0;
  if (known[status]) return known[status];
  if (status === 401 || status === 403) return "notAllowed";
  if (status === 503 || status === 504) return "mediaServerDown";
  return "actionFailed";
}

// The modes the app can record in (`/api/v1.0/config/`); the default one if unknown.
async function availableModes() {
  try {
    const response = await fetch(`${config.api.split("/rooms/")[0]}/config/`, { credentials: "same-origin" });
    const modes = (await response.json())?.recording?.available_modes;
    if (Array.isArray(modes)) return modes.filter((mode) => mode in WORDS);
  } catch {
    // the choice is only offered when known
  }
  return ["screen_recording"];
}

function createBadge() {
  const badge = document.getElementById("recording-badge");
  const label = badge?.querySelector("[data-recording-label]");
  let shown = { phase: null, mode: "screen_recording" };
  let first = true;

  return function render(state) {
    if (!badge) return;
    const words = WORDS[state.mode];
    badge.hidden = state.phase === null;
    badge.dataset.phase = state.phase ?? "";
    if (state.phase) label.textContent = t(words[state.phase]);
    if (state.phase !== shown.phase || state.mode !== shown.mode) {
      if (state.phase === "on") announce(t(words.told));
      else if (state.phase) announce(t(words[state.phase]));
      else if (!first) announce(t(WORDS[shown.mode].ended));
    }
    shown = state;
    first = false;
  };
}

function createControls() {
  const box = document.querySelector("[data-recording-controls]");
  if (!box) return null;
  const startButton = box.querySelector('[data-action="start-recording"]');
  const stopButton = box.querySelector('[data-action="stop-recording"]');
  const modeGroup = box.querySelector("#recording-modes");
  let modes = [];
  let state = { phase: null, mode: "screen_recording" };
  let pending = null; // "on" after a start, "stopping" after a stop, until the metadata moves
  let busy = false;
  let ready = false;

  function setLabel(button, text) {
    button.querySelector("[data-label]").textContent = text;
  }

  function closeModes() {
    modeGroup.hidden = true;
    if (startButton.hasAttribute("aria-expanded")) startButton.setAttribute("aria-expanded", "false");
  }

  // Keeps the keyboard where it was when the button in use gives way to the other one.
  function render({ keepFocus = false } = {}) {
    const phase = pending ?? state.phase;
    startButton.hidden = phase !== null;
    stopButton.hidden = phase === null;
    startButton.disabled = !ready || busy || modes.length === 0;
    stopButton.disabled = busy || phase === "stopping";
    setLabel(startButton, t(busy && phase === null ? "recordingStartingButton" : "startRecording"));
    setLabel(stopButton, t(phase === "stopping" ? "recordingStoppingButton" : WORDS[state.mode].stop));
    if (phase !== null) closeModes();
    const shown = startButton.hidden ? stopButton : startButton;
    if (keepFocus && !shown.disabled) shown.focus();
  }

  async function start(mode) {
    const keepFocus = box.contains(document.activeElement);
    closeModes();
    busy = true;
    render({ keepFocus: false });
    try {
      await post("start-recording", { mode });
      pending = "on";
      state = { ...state, mode };
      clearNotice();
    } catch (error) {
      showNotice(t(errorKey(error, START_ERRORS)));
    } finally {
      busy = false;
      render({ keepFocus });
    }
  }

  async function stop() {
    const keepFocus = box.contains(document.activeElement);
    busy = true;
    render({ keepFocus: false });
    try {
      await post("stop-recording");
      pending = "stopping";
      clearNotice();
    } catch (error) {
      if (error instanceof ApiFailure && error.status === 404) pending = null;
      showNotice(t(errorKey(error, STOP_ERRORS)));
    } finally {
      busy = false;
      render({ keepFocus });
    }
  }

  startButton.addEventListener("click", () => {
    if (modes.length === 1) {
      start(modes[0]);
      return;
    }
    modeGroup.hidden = !modeGroup.hidden;
    startButton.setAttribute("aria-expanded", String(!modeGroup.hidden));
    if (!modeGroup.hidden) modeGroup.querySelector("button:not([hidden])")?.focus();
  });
  document.addEventListener("click", (event) => {
    if (!modeGroup.hidden && !box.contains(event.target)) closeModes();
  });
  modeGroup.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    closeModes();
    startButton.focus();
  });
  for (const button of modeGroup.querySelectorAll("[data-recording-mode]")) {
    button.addEventListener("click", () => start(button.dataset.recordingMode));
  }
  stopButton.addEventListener("click", stop);

  return {
    async enable() {
      modes = await availableModes();
      for (const button of modeGroup.querySelectorAll("[data-recording-mode]")) {
        button.hidden = !modes.includes(button.dataset.recordingMode);
      }
      if (modes.length > 1) {
        startButton.setAttribute("aria-expanded", "false");
        startButton.setAttribute("aria-controls", modeGroup.id);
      } else {
        startButton.removeAttribute("aria-expanded");
        startButton.removeAttribute("aria-controls");
      }
      ready = true;
      render();
    },
    update(next) {
      const moved = next.phase !== state.phase;
      if (moved) pending = null; // the recording moved on: the metadata tells the truth again
      state = next;
      render({ keepFocus: moved && box.contains(document.activeElement) });
    },
  };
}

export function createRecording(room, LK) {
  const renderBadge = createBadge();
  const controls = createControls();

  function update() {
    const state = readRecording(room.metadata);
    renderBadge(state);
    controls?.update(state);
  }

  if (LK.RoomEvent.RoomMetadataChanged) room.on(LK.RoomEvent.RoomMetadataChanged, update);
  onServerMessage(room, LK, (message) => {
    const key = LIMIT_NOTICES[message?.type];
    if (key) showNotice(t(key));
  });

  return {
    enable() {
      update();
      controls?.enable();
    },
  };
}

// The control bar: microphone, camera and screen (their state read back from the local
// participant after each change), leave, and the keyboard shortcuts M, V and H.
import { announce } from "./announcer.js";
import { t } from "./config.js";
import { isTyping } from "./dom.js";
import { mediaErrorKey } from "./errors.js";
import { clearNotice, showNotice } from "./notice.js";

const bar = document.querySelector(".meeting-controls");
export const buttons = Object.fromEntries(
  [...bar.querySelectorAll("[data-action]")].map((button) => [button.dataset.action, button]),
);

// livekit's protobuf TrackSource numbers, as ParticipantPermission.canPublishSources holds them
const TRACK_SOURCE_NUMBER = { camera: 1, microphone: 2, screen: 3 };

const MEDIA = {
  microphone: { enabled: (lp) => lp.isMicrophoneEnabled, set: (lp, on) => lp.setMicrophoneEnabled(on), on: "microphoneOn", off: "microphoneIsOff" },
  camera: { enabled: (lp) => lp.isCameraEnabled, set: (lp, on) => lp.setCameraEnabled(on), on: "cameraOn", off: "cameraIsOff" },
  screen: { enabled: (lp) => lp.isScreenShareEnabled, set: (lp, on) => lp.setScreenShareEnabled(on), on: "stopSharing", off: "shareScreen" },
};

export function createControls(room, LK, { hands, leave }) {
  const local = () => room.localParticipant;
  let mutingMyself = false;

  function render() {
    for (const [action, media] of Object.entries(MEDIA)) {
      const on = Boolean(media.enabled(local()));
      buttons[action].setAttribute("aria-pressed", String(on));
      buttons[action].querySelector("[data-label]").textContent = t(on ? media.on : media.off);
    }
  }

  async function toggle(action) {
    const media = MEDIA[action];
    const button = buttons[action];
    if (button.disabled) return;
    const wanted = !media.enabled(local());
    button.setAttribute("aria-busy", "true");
    mutingMyself = action === "microphone" && !wanted;
    try {
      await media.set(local(), wanted);
      clearNotice();
    } catch (error) {
      showNotice(t(mediaErrorKey(error, action)));
    } finally {
      mutingMyself = false;
      button.removeAttribute("aria-busy");
      render();
    }
  }

  for (const action of Object.keys(MEDIA)) buttons[action].addEventListener("click", () => toggle(action));
  buttons.leave.addEventListener("click", leave);

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || isTyping(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    const action = { m: "microphone", v: "camera", h: "hand" }[event.key.toLowerCase()];
    if (!action) return;
    event.preventDefault();
    if (action === "hand") {
      if (!buttons.hand.disabled) hands.toggle();
    } else toggle(action);
  });

  const E = LK.RoomEvent;
  room
    .on(E.LocalTrackPublished, render)
    .on(E.LocalTrackUnpublished, render)
    .on(E.TrackMuted, (publication, participant) => {
      if (participant.isLocal && publication.source === LK.Track.Source.Microphone && !mutingMyself) {
        announce(t("youWereMuted"), { assertive: true });
        showNotice(t("youWereMuted"));
      }
      render();
    })
    .on(E.TrackUnmuted, render);

  return {
    render,
    // What the token lets us publish decides which buttons work.
    enable() {
      const permissions = local().permissions;
      const sources = permissions?.canPublishSources || [];
      const may = (action) => !permissions || (permissions.canPublish !== false
        && (sources.length === 0 || sources.includes(TRACK_SOURCE_NUMBER[action])));
      for (const action of Object.keys(MEDIA)) buttons[action].disabled = !may(action);
      buttons.hand.disabled = false;
      buttons.reactions.disabled = false;
      if (buttons["end-meeting"]) buttons["end-meeting"].disabled = false;
      bar.querySelectorAll("[data-reaction]").forEach((b) => { b.disabled = false; });
      render();
    },
    toggle,
  };
}

// Raised hands: the queue in the order hands went up (`handRaisedAt`, set by the app's
// toggle-hand API), and the Raise hand button, which shows the attribute, never a guess.
import { announce } from "./announcer.js";
import { post } from "./app-api.js";
import { t } from "./config.js";
import { h } from "./dom.js";
import { showNotice } from "./notice.js";
import { displayName, everyone, handRaisedAt } from "./participants-of.js";

const queue = document.getElementById("hand-queue");
const list = document.getElementById("hand-list");

export function createHands(room, LK, button) {
  let busy = false;

  function render() {
    const raised = everyone(room)
      .map((participant) => [handRaisedAt(participant), participant])
      .filter(([at]) => at !== null)
      .sort((a, b) => a[0] - b[0]);
    list.replaceChildren(...raised.map(([, p]) => h("li", { "data-identity": p.identity },
      p.isLocal ? `${displayName(p)} ${t("youSuffix")}` : displayName(p))));
    queue.hidden = raised.length === 0;
    const mine = handRaisedAt(room.localParticipant) !== null;
    button.setAttribute("aria-pressed", String(mine));
    button.querySelector("[data-label]").textContent = t(mine ? "lowerHand" : "raiseHand");
  }

  async function toggle() {
    if (busy) return;
    const raise = handRaisedAt(room.localParticipant) === null;
    busy = true;
    button.setAttribute("aria-busy", "true");
    try {
      await post("toggle-hand", { raised: raise }, { asParticipant: true });
    } catch {
      showNotice(t(raise ? "handFailed" : "handLowerFailed"));
    } finally {
      busy = false;
      button.removeAttribute("aria-busy");
      render();
    }
  }

  room.on(LK.RoomEvent.ParticipantAttributesChanged, (changed, participant) => {
    if ("handRaisedAt" in changed && changed.handRaisedAt && !participant.isLocal) {
      announce(t("raisedHand", { name: displayName(participant) }));
    }
    render();
  });
  room.on(LK.RoomEvent.ParticipantConnected, render).on(LK.RoomEvent.ParticipantDisconnected, render);
  button.addEventListener("click", toggle);
  return { render, toggle };
}

// The People list: everyone in the meeting, you first, with their marks and, for
// administrators, the actions on each other participant.
import { config, t } from "./config.js";
import { h } from "./dom.js";
import { icon } from "./icons.js";
import { displayName, everyone, handRaisedAt, isGuest, isMicrophoneMuted, roomRole } from "./participants-of.js";

const list = document.getElementById("people-list");
const count = document.querySelector("[data-people-count]");
const ADMIN_ROLES = new Set(["administrator", "owner"]);

export function createPeopleList(room, LK, admin) {
  function actionButton(label, action, participant) {
    return h("button", {
      type: "button",
      class: "button button-small button-quiet",
      "data-admin-action": action,
      "aria-label": t(`${action}Name`, { name: displayName(participant) }),
      onclick: () => admin[action](participant),
    }, t(action));
  }

  function row(participant) {
    const role = roomRole(participant);
    const name = displayName(participant);
    const marks = h("span", { class: "person-marks" },
      ADMIN_ROLES.has(role) ? h("span", { class: "tag" }, t(role === "owner" ? "owner" : "administrator")) : null,
      isGuest(participant) ? h("span", { class: "tag tag-guest", title: t("guestLong") }, t("guest")) : null,
      handRaisedAt(participant) !== null ? h("span", { class: "person-mark", role: "img", "aria-label": t("handRaised"), title: t("handRaised") }, icon("hand")) : null,
      isMicrophoneMuted(participant, LK) ? h("span", { class: "person-mark", role: "img", "aria-label": t("microphoneOff"), title: t("microphoneOff") }, icon("microphoneOff")) : null,
    );
    const item = h("li", { "data-identity": participant.identity },
      h("span", { class: "person-name" }, participant.isLocal ? `${name} ${t("youSuffix")}` : name),
      marks);
    if (config.isManager && !participant.isLocal) {
      const microphone = participant.getTrackPublication(LK.Track.Source.Microphone);
      const actions = h("span", { class: "person-actions" },
        microphone && !microphone.isMuted ? actionButton("mute", "mute", participant) : null,
        !isGuest(participant) && !ADMIN_ROLES.has(role) ? actionButton("promote", "promote", participant) : null,
        actionButton("remove", "remove", participant));
      item.append(actions);
    }
    return item;
  }

  function render() {
    const people = everyone(room);
    // Keep the focus on a button that is re-created by the render.
    const focused = document.activeElement;
    const focusedAction = list.contains(focused) ? [focused.closest("li")?.dataset.identity, focused.dataset.adminAction] : null;
    list.replaceChildren(...people.map(row));
    count.textContent = String(people.length);
    count.setAttribute("aria-label", t("peopleCount", { count: people.length }));
    if (focusedAction) {
      const [identity, action] = focusedAction;
      const again = [...list.querySelectorAll("li")].find((li) => li.dataset.identity === identity)
        ?.querySelector(`[data-admin-action="${action}"]`);
      (again || list.closest("section").querySelector("h2")).focus?.();
    }
  }

  const E = LK.RoomEvent;
  for (const event of [E.ParticipantConnected, E.ParticipantDisconnected, E.ParticipantAttributesChanged,
    E.ParticipantNameChanged, E.TrackPublished, E.TrackUnpublished, E.TrackMuted, E.TrackUnmuted,
    E.LocalTrackPublished, E.LocalTrackUnpublished]) {
    room.on(event, render);
  }
  return { render };
}

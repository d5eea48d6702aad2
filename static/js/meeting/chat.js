// Chat over LiveKit text streams (topic "chat"), with an unread count while the panel is closed.
import { announce } from "./announcer.js";
import { t } from "./config.js";
import { h } from "./dom.js";
import { showNotice } from "./notice.js";
import { displayName, findParticipant } from "./participants-of.js";

const TOPIC = "chat";
const panel = document.getElementById("chat-panel");
const log = document.getElementById("chat-log");
const form = document.getElementById("chat-form");
const input = document.getElementById("chat-input");
const empty = panel.querySelector("[data-chat-empty]");
const badge = document.querySelector("[data-unread]");
const toggle = document.querySelector('[data-panel-toggle="chat-panel"]');

export function createChat(room) {
  let unread = 0;

  function showUnread() {
    badge.hidden = unread === 0;
    badge.textContent = String(unread);
    badge.setAttribute("aria-label", t("unread", { count: unread }));
  }

  function add(name, text, mine, timestamp) {
    const time = new Date(timestamp || Date.now());
    log.append(h("li", { class: mine ? "chat-message is-mine" : "chat-message" },
      h("span", { class: "chat-author" }, name),
      h("time", { class: "chat-time", dateTime: time.toISOString() }, time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })),
      h("p", { class: "chat-text" }, text)));
    empty.hidden = true;
    log.scrollTop = log.scrollHeight;
    if (panel.hidden && !mine) {
      unread += 1;
      showUnread();
    }
    if (!mine) announce(t("chatFrom", { name, text }));
  }

  room.registerTextStreamHandler(TOPIC, async (reader, participantInfo) => {
    const text = await reader.readAll();
    const sender = findParticipant(room, participantInfo.identity);
    add(sender ? displayName(sender) : participantInfo.identity, text, false, reader.info?.timestamp);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    try {
      await room.localParticipant.sendText(text, { topic: TOPIC });
    } catch {
      showNotice(t("chatSendFailed"));
      return;
    }
    input.value = "";
    add(`${displayName(room.localParticipant)} ${t("youSuffix")}`, text, true);
  });

  return {
    opened() {
      unread = 0;
      showUnread();
      input.focus();
    },
  };
}

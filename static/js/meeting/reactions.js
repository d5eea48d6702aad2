// Emoji reactions: sent on the "reactions" text-stream topic, shown for a few seconds
// over the sender's tile.
import { announce } from "./announcer.js";
import { t } from "./config.js";
import { h } from "./dom.js";
import { displayName, findParticipant } from "./participants-of.js";

const TOPIC = "reactions";
const SHOWN_FOR_MS = 4000;

export function createReactions(room, tiles) {
  const allowed = new Set([...document.querySelectorAll("[data-reaction]")].map((b) => b.dataset.reaction));

  function show(identity, emoji) {
    if (!allowed.has(emoji)) return; // only the page's own set, never arbitrary text
    const tile = tiles.tileOf(identity);
    if (!tile) return;
    const bubble = h("span", { class: "reaction", "data-emoji": emoji }, emoji);
    tile.querySelector(".tile-reactions").append(bubble);
    setTimeout(() => bubble.remove(), SHOWN_FOR_MS);
  }

  room.registerTextStreamHandler(TOPIC, async (reader, participantInfo) => {
    const emoji = await reader.readAll();
    show(participantInfo.identity, emoji);
    const sender = findParticipant(room, participantInfo.identity);
    if (sender && allowed.has(emoji)) announce(t("reacted", { name: displayName(sender), emoji }));
  });

  const opener = document.querySelector('[data-action="reactions"]');
  const bar = document.getElementById("reaction-bar");
  opener.addEventListener("click", () => {
    bar.hidden = !bar.hidden;
    opener.setAttribute("aria-expanded", String(!bar.hidden));
    if (!bar.hidden) bar.querySelector("button").focus();
  });
  bar.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    bar.hidden = true;
    opener.setAttribute("aria-expanded", "false");
    opener.focus();
  });

  for (const button of document.querySelectorAll("[data-reaction]")) {
    button.addEventListener("click", async () => {
      const emoji = button.dataset.reaction;
      show(room.localParticipant.identity, emoji);
      try {
        await room.localParticipant.sendText(emoji, { topic: TOPIC });
      } catch {
        // a lost reaction is not worth an error message
      }
    });
  }
}

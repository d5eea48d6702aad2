// The side panels (People, Chat) opened and closed from the header, and the link copy.
import { announce } from "./announcer.js";
import { config, t } from "./config.js";
import { showNotice } from "./notice.js";

export function createPanels({ onOpen = {} } = {}) {
  const toggles = [...document.querySelectorAll("[data-panel-toggle]")];

  function show(id) {
    for (const toggle of toggles) {
      const panel = document.getElementById(toggle.dataset.panelToggle);
      const open = toggle.dataset.panelToggle === id && panel.hidden;
      panel.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      if (open) onOpen[panel.id]?.();
    }
  }

  for (const toggle of toggles) toggle.addEventListener("click", () => show(toggle.dataset.panelToggle));
}

export function setUpLinkCopy() {
  const button = document.querySelector('[data-action="copy-link"]');
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(config.meetingUrl);
      announce(t("linkCopied"));
      button.classList.add("is-done");
      setTimeout(() => button.classList.remove("is-done"), 2000);
    } catch {
      showNotice(t("linkCopyFailed", { url: config.meetingUrl }));
    }
  });
}

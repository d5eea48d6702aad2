// Live announcements for screen readers (aria-live regions in meeting.jinja2).
const polite = document.getElementById("announcer");
const urgent = document.getElementById("announcer-urgent");

export function announce(text, { assertive = false } = {}) {
  const region = assertive ? urgent : polite;
  if (!region) return;
  if (assertive) {
    region.textContent = text;
    return;
  }
  // One node per message, so a message repeated is read again; old ones are pruned.
  region.append(Object.assign(document.createElement("p"), { textContent: text }));
  while (region.childElementCount > 5) region.firstElementChild.remove();
}

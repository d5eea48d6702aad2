// Small DOM helpers shared by the modules.

// An element with attributes (`class`, `data-*`, `aria-*`, properties otherwise) and children.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name.startsWith("data-") || name.startsWith("aria-") || name === "role") {
      element.setAttribute(name, value === true ? "" : String(value));
    } else element[name] = value;
  }
  element.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

export function initials(name) {
  const words = String(name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || "?").slice(0, 2);
  return letters.toUpperCase();
}

export function byIdentity(container, identity, extra = "") {
  return container.querySelector(`[data-identity="${CSS.escape(identity)}"]${extra}`);
}

export function isTyping(target) {
  return Boolean(target.closest?.("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
}

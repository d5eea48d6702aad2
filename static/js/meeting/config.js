// The page's settings and sentences, rendered by the server (meeting.jinja2).
function readJson(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : {};
}

export const config = readJson("meeting-config");
const texts = readJson("meeting-texts");

// A sentence in the page's language, `{placeholders}` filled from `values`.
export function t(key, values = {}) {
  const text = texts[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

export const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

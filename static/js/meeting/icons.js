// Inline SVG icons (no icon font, no emoji font needed), drawn with currentColor.
const PATHS = {
  microphoneOff: "M12 3a3 3 0 0 0-3 3v4.2l6 6V6a3 3 0 0 0-3-3zm7 8h-2a5 5 0 0 1-.4 2l1.5 1.5A7 7 0 0 0 19 11zM4.3 3 3 4.3l6 6V11a3 3 0 0 0 4.4 2.7l1.5 1.5A5 5 0 0 1 7 11H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 3-1.1l3.7 3.7 1.3-1.3z",
  hand: "M13 2.5a1.5 1.5 0 0 0-1.5 1.5v7h-1V5a1.5 1.5 0 0 0-3 0v9.2L5.9 12.3a1.5 1.5 0 0 0-2.2 2l4 5A6 6 0 0 0 12.4 22H14a6 6 0 0 0 6-6V8a1.5 1.5 0 0 0-3 0v4h-1V4a1.5 1.5 0 0 0-1.5-1.5H14z",
  pin: "M16 3 21 8l-2 .5-3.5 3.5.5 4.5-1.5 1.5-3.5-3.5L6 19.5 4.5 18l5-5L6 9.5 7.5 8l4.5.5L15.5 5z",
};
const SVG = "http://www.w3.org/2000/svg";

export function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "icon");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", PATHS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

// The one-line connection status under the meeting's title.
const element = document.getElementById("connection-status");

export function showStatus(text, state) {
  element.textContent = text;
  element.dataset.state = state;
}

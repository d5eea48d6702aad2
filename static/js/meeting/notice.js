// A sentence about something that went wrong and that the person may act on; it stays
// until dismissed or replaced, so it can be read at any pace.
const box = document.getElementById("meeting-notice");
const text = box.querySelector("[data-notice-text]");

box.querySelector("[data-notice-close]").addEventListener("click", clearNotice);

export function showNotice(sentence) {
  text.textContent = sentence;
  box.hidden = false;
}

export function clearNotice() {
  box.hidden = true;
  text.textContent = "";
}

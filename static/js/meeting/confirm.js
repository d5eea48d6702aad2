// A confirmation dialog (<dialog> in _dialogs.jinja2); resolves true when confirmed.
const dialog = document.getElementById("confirm-dialog");

export function confirmAction({ title, text, confirmLabel }) {
  dialog.querySelector("[data-confirm-title]").textContent = title;
  dialog.querySelector("[data-confirm-text]").textContent = text;
  dialog.querySelector("[data-confirm-button]").textContent = confirmLabel;
  dialog.returnValue = "";
  const opener = document.activeElement;
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (opener && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === "confirm");
    }, { once: true });
  });
}

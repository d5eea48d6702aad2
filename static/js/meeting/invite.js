// The invite dialog of the meeting page (templates/meeting/_invite.jinja2). Its form
// posts through htmx, which swaps the answer (sent, or the addresses to correct) into
// the dialog (static/js/meet.js then focuses its message); this module only opens and
// closes it.

const dialog = document.getElementById("invite-dialog");
const opener = document.querySelector("[data-invite-open]");

if (dialog && opener) {
  opener.addEventListener("click", () => {
    dialog.showModal();
    dialog.querySelector("textarea")?.focus();
  });
  dialog.querySelector("[data-invite-close]")?.addEventListener("click", () => dialog.close());
}

// The Copy button of a new share link, shown once this script runs: it puts the link's
// address on the clipboard (without JavaScript the address stays selectable).
(function () {
  "use strict";
  if (window.meetShareLinks) {
    window.meetShareLinks.reveal();
    return;
  }

  function reveal() {
    document.querySelectorAll("button[data-copy-from][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  function copied(button) {
    button.textContent = button.getAttribute("data-copied-text") || button.textContent;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy-from]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy-from"));
    if (!field) return;
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { copied(button); }, function () {
        if (document.execCommand("copy")) copied(button);
      });
    } else if (document.execCommand("copy")) {
      copied(button);
    }
  });

  document.addEventListener("htmx:afterSettle", reveal);
  window.meetShareLinks = { reveal: reveal };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", reveal);
  } else {
    reveal();
  }
})();

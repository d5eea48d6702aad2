// Progressive enhancements for the server-rendered pages; every form works without them.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]") && select.form) {
      select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
    }
  });

  // A request htmx makes that fails leaves the page as it was: say so, until one works.
  var failure = document.getElementById("request-failure");
  function showFailure(kind) {
    if (!failure) {
      return;
    }
    failure.querySelector("p").textContent = failure.getAttribute("data-" + kind);
    failure.hidden = false;
  }
  document.addEventListener("htmx:sendError", function () {
    showFailure("offline");
  });
  document.addEventListener("htmx:responseError", function () {
    showFailure("failed");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (failure && event.detail.successful) {
      failure.hidden = true;
    }
  });
  document.addEventListener("click", function (event) {
    if (failure && event.target.closest && event.target.closest("#request-failure [data-dismiss]")) {
      failure.hidden = true;
    }
  });

  // After an htmx swap, move focus to the message the fragment carries, so keyboard and
  // screen-reader users learn what happened without hunting for it.
  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.target && event.target.isConnected ? event.target : document;
    var message = root.querySelector ? root.querySelector("[data-focus]") : null;
    if (message) {
      message.setAttribute("tabindex", "-1");
      message.focus({ preventScroll: false });
    }
  });
})();

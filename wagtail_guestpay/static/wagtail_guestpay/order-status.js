// Polls the order's status while its payment is being confirmed; reloads the page when the
// state changes (so a failure can show the failure page). Backs off from 3 s to 20 s.
(function () {
  "use strict";
  var section = document.querySelector("[data-guestpay-status-url]");
  if (!section || !window.fetch) { return; }
  var url = section.getAttribute("data-guestpay-status-url");
  var state = section.getAttribute("data-guestpay-state");
  var delay = 3000;
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && data.state && data.state !== state) {
          window.location.reload();
          return;
        }
        delay = Math.min(delay * 1.5, 20000);
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, 20000); });
  }
  window.setTimeout(poll, delay);
})();

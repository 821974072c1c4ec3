// Submits the provider's payment form at once (one click for the buyer); the visible button
// stays for browsers without JavaScript.
(function () {
  "use strict";
  var form = document.querySelector("form[data-guestpay-autosubmit]");
  if (form) { form.submit(); }
})();

// The receipt's Print button: shown only where JavaScript can print (the browser's own Print
// works everywhere; the print stylesheet in guestpay.css leaves only the receipt on paper).
(function () {
  "use strict";
  var button = document.querySelector("[data-guestpay-print]");
  if (button && typeof window.print === "function") {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  }
})();

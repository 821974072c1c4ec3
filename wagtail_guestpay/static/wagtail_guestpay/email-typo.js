// "Did you mean ...?" under e-mail fields that carry data-guestpay-typo, as the buyer types:
// the same lists and thresholds as wagtail_guestpay/buyers/typos.py. The server asks the same question
// before sending anything, so nothing depends on this script running.
(function () {
  "use strict";

  function distance(a, b, limit) {
    if (Math.abs(a.length - b.length) >= limit) { return limit; }
    var before = null, previous = [], i, j;
    for (j = 0; j <= b.length; j++) { previous.push(j); }
    for (i = 1; i <= a.length; i++) {
      var current = [i];
      for (j = 1; j <= b.length; j++) {
        var cost = a[i - 1] === b[j - 1] ? 0 : 1;
        current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
        if (before && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
          current[j] = Math.min(current[j], before[j - 2] + 1);
        }
      }
      before = previous;
      previous = current;
    }
    return Math.min(previous[b.length], limit);
  }

  function allowed(domain) {
    return domain.length >= 11 ? 2 : (domain.length >= 8 ? 1 : 0);
  }

  function split(domain) {
    var dot = domain.lastIndexOf(".");
    return [domain.slice(0, dot), domain.slice(dot + 1)];
  }

  function suggestDomain(domain, config) {
    domain = domain.replace(/\.+$/, "");
    if (domain.indexOf(".") < 0 || config.domains.indexOf(domain) >= 0 ||
        config.known.indexOf(domain) >= 0) { return ""; }
    var parts = split(domain), best = "", bestDistance = null;
    config.domains.forEach(function (candidate) {
      var limit = allowed(candidate), other = split(candidate);
      if (!limit || (parts[0] === other[0] && parts[1] !== other[1] && parts[1].length === 2 &&
                     config.com.indexOf(parts[1]) < 0)) { return; }
      var found = distance(domain, candidate, limit + 1);
      if (found <= limit && (bestDistance === null || found < bestDistance)) {
        best = candidate;
        bestDistance = found;
      }
    });
    if (best) { return best; }
    if (parts[0] && Object.prototype.hasOwnProperty.call(config.tlds, parts[1])) {
      return parts[0] + "." + config.tlds[parts[1]];
    }
    return "";
  }

  function suggestEmail(email, config) {
    var at = email.lastIndexOf("@");
    if (at < 1) { return ""; }
    var fixed = suggestDomain(email.slice(at + 1), config);
    return fixed ? email.slice(0, at) + "@" + fixed : "";
  }

  function words(template, suggestion) {
    return template.replace("%(suggestion)s", suggestion);
  }

  function attach(input) {
    var config;
    try { config = JSON.parse(input.getAttribute("data-guestpay-typo")); } catch (e) { return; }
    var hint = document.createElement("div");
    hint.className = "guestpay-typo-hint";
    hint.id = (input.id || "guestpay-email") + "_typo";
    hint.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", hint);
    var described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", (described ? described + " " : "") + hint.id);
    var serverAsked = document.querySelector("#" + CSS.escape(input.id + "_error") + ".guestpay-typo");

    function check() {
      var value = input.value.trim().toLowerCase();
      var fixed = suggestEmail(value, config);
      if (serverAsked && input.value === input.defaultValue) { fixed = ""; }
      if (hint.getAttribute("data-for") === fixed) { return; }
      hint.setAttribute("data-for", fixed);
      hint.textContent = "";
      if (!fixed) { return; }
      var question = document.createElement("span");
      question.textContent = words(config.question, fixed) + " ";
      var use = document.createElement("button");
      use.type = "button";
      use.className = "guestpay-link-button";
      use.textContent = words(config.use, fixed);
      use.addEventListener("click", function () {
        input.value = fixed;
        hint.textContent = "";
        hint.setAttribute("data-for", "");
        input.focus();
      });
      hint.appendChild(question);
      hint.appendChild(use);
    }

    input.addEventListener("change", check);
    input.addEventListener("blur", check);
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[data-guestpay-typo]"), attach);
})();

// JustIAM UI: a little progressive enhancement. Everything works without it.
(function () {
  "use strict";
  // Focus after actions: the first element marked data-focus (an error, a notice, the new token).
  var target = document.querySelector("[data-focus]");
  if (target) {
    if (!target.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(target.tagName)) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
  }
  // Times: the server writes UTC; show them in the reader's time zone, UTC on hover.
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  document.querySelectorAll("time[data-local][datetime]").forEach(function (time) {
    var at = new Date(time.getAttribute("datetime"));
    if (isNaN(at.getTime())) return;
    var seconds = /\d:\d\d:\d\d/.test(time.textContent);
    time.title = time.textContent;
    time.textContent = at.getFullYear() + "-" + pad(at.getMonth() + 1) + "-" + pad(at.getDate()) +
      " " + pad(at.getHours()) + ":" + pad(at.getMinutes()) + (seconds ? ":" + pad(at.getSeconds()) : "");
  });
  // Copy buttons: <button data-copy="input-id" hidden>.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) return;
    button.hidden = false;
    var status = document.getElementById("copy-status");
    button.addEventListener("click", function () {
      var done = function () {
        button.textContent = "Copied";
        if (status) status.textContent = "The token is on your clipboard.";
      };
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          if (document.execCommand("copy")) done();
        });
      } else if (document.execCommand("copy")) {
        done();
      }
    });
  });
  // The New Token form: the custom days field goes with the "Custom" choice, the resources' access
  // with "Only the access chosen below"; the expiry date follows the choice.
  var form = document.getElementById("token-form");
  if (form) {
    var custom = document.getElementById("custom-days");
    var grid = document.getElementById("permission-grid");
    var dateLine = document.getElementById("expiry-date");
    var showDate = function (expiry) {
      if (!dateLine) return;
      var date = "";
      if (expiry && expiry.value === "custom") {
        var days = custom ? parseInt(custom.value, 10) : NaN;
        if (String(days) === (custom && custom.value.trim()) && days >= 1 && days <= 365) {
          date = new Date(Date.now() + days * 86400000).toISOString().slice(0, 10);
        }
      } else if (expiry) {
        date = expiry.getAttribute("data-date") || "";
      }
      dateLine.textContent = "";
      if (date) {
        var strong = document.createElement("strong");
        strong.textContent = date;
        dateLine.append("Expires on ", strong, " (UTC).");
      }
    };
    var sync = function () {
      var expiry = form.querySelector("input[name=expiry]:checked");
      if (custom) custom.disabled = !(expiry && expiry.value === "custom");
      showDate(expiry);
      var scope = form.querySelector("input[name=scope]:checked");
      if (grid) grid.classList.toggle("dim", !(scope && scope.value === "custom"));
    };
    form.addEventListener("change", sync);
    if (custom) custom.addEventListener("input", sync);
    if (custom) custom.addEventListener("focus", function () {
      var radio = document.getElementById("expiry-custom");
      if (radio) radio.checked = true;
    });
    if (grid) grid.addEventListener("change", function () {
      var radio = document.getElementById("scope-custom");
      if (radio) radio.checked = true;
    });
    sync();
  }
})();

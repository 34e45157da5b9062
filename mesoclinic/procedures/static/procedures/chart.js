/* The numbing countdown: counts down from the server's "seconds left" (not the tablet's clock), and
   reloads the chart when the wait is over so the injection step unlocks. Without JavaScript the
   page shows the unlock time instead. Re-armed after every htmx swap of the chart. */
(function () {
  "use strict";
  var timers = [];

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function arm(root) {
    timers.forEach(clearInterval);
    timers = [];
    root.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = parseInt(el.getAttribute("data-seconds-left"), 10);
      var out = el.querySelector("[data-remaining]");
      if (!(left > 0) || !out) { return; }
      var ends = Date.now() + left * 1000;
      function tick() {
        var remaining = Math.max(0, Math.round((ends - Date.now()) / 1000));
        out.textContent = " — " + Math.floor(remaining / 60) + ":" + pad(remaining % 60) + " left";
        if (remaining === 0) {
          timers.forEach(clearInterval);
          var url = el.getAttribute("data-refresh");
          if (window.htmx) { window.htmx.ajax("GET", url, { target: "#chart", swap: "outerHTML" }); } else { window.location.reload(); }
        }
      }
      tick();
      timers.push(setInterval(tick, 1000));
    });
  }

  /* After a refused save the card's error summary is moved into view and focused, so a tablet user
     sees every error at once (the summary has role=alert and links to each field). */
  function showErrors(root) {
    var summary = root.querySelector("[data-error-summary]");
    if (!summary) { return; }
    summary.scrollIntoView({ block: "start" });
    summary.focus({ preventScroll: true });
  }

  document.addEventListener("DOMContentLoaded", function () { arm(document); showErrors(document); });
  document.addEventListener("htmx:afterSettle", function () { arm(document); showErrors(document); });
})();

/* Custodes: the little JavaScript the pages need, hand-written, no build step.
 *
 * 1. HTMX requests carry the session's CSRF token (from <meta name="csrf-token">) in the
 *    X-CSRF-Token header, as the server requires of every cookie-authenticated write.
 * 2. Charts: every element with data-chart="ID" is drawn by vega-embed from the JSON spec
 *    in <script type="application/json" id="ID">, with Vega's expression interpreter
 *    (ast: true) so the Content-Security-Policy needs no 'unsafe-eval'. Drawn charts get
 *    data-rendered="yes" (or "failed"); content swapped in by HTMX is drawn too.
 * 3. SLA countdowns: every <time data-due datetime="…Z"> is rewritten each second as
 *    "in 1 h 02 min 05 s" or "1 h 02 min 05 s overdue" ("2 d 3 h" past a day), with the
 *    class "breached" once overdue.
 *    Without JavaScript the server's text ("in 1 h 2 min") stays, correct as of the page.
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });

  var EMBED_OPTIONS = {
    actions: false,
    renderer: "svg",
    ast: true,
    defaultStyle: false,
    tooltip: { disableDefaultStyle: true }
  };

  function drawCharts(root) {
    if (typeof window.vegaEmbed !== "function") {
      return;
    }
    root.querySelectorAll("[data-chart]:not([data-rendered])").forEach(function (element) {
      var source = document.getElementById(element.getAttribute("data-chart"));
      if (!source) {
        return;
      }
      element.setAttribute("data-rendered", "pending");
      var spec = JSON.parse(source.textContent);
      element.textContent = "";
      window.vegaEmbed(element, spec, EMBED_OPTIONS).then(function () {
        element.setAttribute("data-rendered", "yes");
      }).catch(function (error) {
        element.setAttribute("data-rendered", "failed");
        element.textContent = "The chart could not be drawn; the table has its numbers.";
        console.error("chart " + element.id + ":", error);
      });
    });
  }

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function span(seconds) {
    var s = Math.floor(Math.abs(seconds));
    var days = Math.floor(s / 86400);
    var hours = Math.floor((s % 86400) / 3600);
    var minutes = Math.floor((s % 3600) / 60);
    if (days) {
      return days + " d " + hours + " h";
    }
    if (hours) {
      return hours + " h " + pad(minutes) + " min " + pad(s % 60) + " s";
    }
    return minutes + " min " + pad(s % 60) + " s";
  }

  function tickCountdowns() {
    var now = Date.now();
    document.querySelectorAll("time[data-due]").forEach(function (element) {
      var due = Date.parse(element.getAttribute("datetime"));
      if (isNaN(due)) {
        return;
      }
      var seconds = (due - now) / 1000;
      element.textContent = seconds >= 0 ? "in " + span(seconds) : span(seconds) + " overdue";
      element.classList.toggle("breached", seconds < 0);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    if (document.querySelector("time[data-due]")) {
      tickCountdowns();
      window.setInterval(tickCountdowns, 1000);
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    drawCharts(event.target);
  });
})();

// Nexus web app: what scripts add to pages that work without them. Served from the
// binary like htmx; no inline scripts anywhere (the CSP allows only 'self').
"use strict";

(function () {
  // A submitted form's buttons show they are busy and cannot be pressed twice.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) return;
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
        b.setAttribute("aria-busy", "true");
        b.disabled = true;
      });
    }, 0);
  });

  // Pages restored from the back-forward cache get their buttons back.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("button[aria-busy=true]").forEach(function (b) {
      b.removeAttribute("aria-busy");
      b.disabled = false;
    });
  });

  // Confirm-delete: a link to the confirmation page opens the same form in a dialog.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog"));
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        dialog.showModal();
        var focus = dialog.querySelector("[autofocus], button");
        if (focus) focus.focus();
      }
      return;
    }
    var closer = event.target.closest("[data-close]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) {
        event.preventDefault();
        open.close();
      }
      return;
    }
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      var toast = dismiss.closest(".toast");
      if (toast) toast.remove();
    }
  });

  // Tabs: arrow keys move between tabs (links work without scripts).
  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest && event.target.closest("[role=tab]");
    if (!tab || (event.key !== "ArrowRight" && event.key !== "ArrowLeft")) return;
    var tabs = Array.prototype.slice.call(tab.closest("[role=tablist]").querySelectorAll("[role=tab]"));
    var next = tabs[(tabs.indexOf(tab) + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    next.focus();
    event.preventDefault();
  });

  // Toasts leave after a while; people who need longer can dismiss them earlier.
  function expireToasts(root) {
    root.querySelectorAll(".toast[data-expire]").forEach(function (toast) {
      window.setTimeout(function () { toast.remove(); }, 8000);
    });
  }
  expireToasts(document);
  document.addEventListener("htmx:afterSwap", function (event) { expireToasts(event.target); });

  // Live parts ([data-events]) are fetched again when the event stream says something
  // changed (several events in a burst make one fetch), and every 30 s for prices. When
  // the stream cannot be opened, they fall back to fetching every 5 s.
  var live = document.querySelector("[data-events]");
  if (live && window.EventSource && window.htmx) {
    var id = live.id;
    var pending = null;
    var refresh = function () {
      var el = document.getElementById(id);
      if (el) window.htmx.trigger(el, "nexus:changed");
    };
    var changed = function () {
      if (pending) return;
      pending = window.setTimeout(function () { pending = null; refresh(); }, 250);
    };
    var stream = new EventSource(live.getAttribute("data-events"));
    ["order", "fill", "position", "bot", "regime", "reset"].forEach(function (type) {
      stream.addEventListener(type, changed);
    });
    stream.addEventListener("error", function () {
      if (stream.readyState === EventSource.CLOSED) window.setInterval(refresh, 5000);
    });
    live.setAttribute("data-stream", "open");
    window.addEventListener("pagehide", function () { stream.close(); });
  }
})();

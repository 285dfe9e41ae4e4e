// warroom: the little JavaScript the pages use. Everything works without it except the live parts.
// - live pages: a server-sent event stream; new timeline events are inserted, other regions refetched
// - clocks: response-target countdowns and ages tick every second; times shown in the reader's zone
// - copy buttons
(function () {
  "use strict";

  // As warroom/durations.py writes it: "36 s", "4 min 12 s", "25 min", "2 h 5 min", "3 d 4 h".
  function span(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    var d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600),
        m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    if (d) return d + " d" + (h ? " " + h + " h" : "");
    if (h) return h + " h" + (m ? " " + m + " min" : "");
    if (m >= 10 || (m && !s)) return m + " min";
    if (m) return m + " min " + s + " s";
    return s + " s";
  }

  // As procedure/domain.py's clock_state: amber from half the target gone, red from 80%, then overdue.
  function clockState(el, left) {
    if (left < 0) return "overdue";
    var start = Date.parse(el.dataset.start || ""), deadline = Date.parse(el.dataset.deadline);
    if (isNaN(start) || deadline <= start) return "ok";
    var gone = 1 - left * 1000 / (deadline - start);
    return gone >= 0.8 ? "urgent" : gone >= 0.5 ? "warn" : "ok";
  }

  // The server's "now" when it rendered the element, against ours: corrects a skewed device clock.
  function skewOf(el) {
    if (el.dataset.skew === undefined) {
      var serverNow = Date.parse(el.dataset.now || "");
      el.dataset.skew = isNaN(serverNow) ? "0" : String(serverNow - Date.now());
    }
    return Number(el.dataset.skew);
  }

  function tick() {
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = (Date.parse(el.dataset.deadline) - (Date.now() + skewOf(el))) / 1000;
      var state = clockState(el, left);
      ["ok", "warn", "urgent", "overdue"].forEach(function (name) { el.classList.toggle(name, name === state); });
      el.textContent = state === "overdue" ? "overdue " + span(-left) : span(left) + " left";
    });
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var age = (Date.now() + skewOf(el) - Date.parse(el.dataset.since)) / 1000;
      el.textContent = age < 60 ? "now" : span(age);
    });
  }

  function localTimes(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var options = el.dataset.local === "time"
        ? { hour: "2-digit", minute: "2-digit", hour12: false }
        : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false };
      el.title = at.toString();
      el.textContent = at.toLocaleString([], options);
    });
  }

  // Replace each region of the page with the fresh copy the server renders (same ids), unless the reader
  // is working inside it: then wait, so nothing they are typing or choosing is lost.
  function refresh(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401 || response.redirected) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) return;
        var parsed = new DOMParser().parseFromString(html, "text/html");
        var busy = false;
        parsed.querySelectorAll("[data-region]").forEach(function (fresh) {
          var current = document.getElementById(fresh.id);
          if (!current) return;
          if (current.contains(document.activeElement) && document.activeElement !== document.body) {
            busy = true;
            return;
          }
          current.replaceWith(fresh);
          localTimes(fresh);
        });
        tick();
        if (busy) setTimeout(function () { refresh(url); }, 3000);
      })
      .catch(function () { /* the next change or reconnect refreshes again */ });
  }

  function insertEvent(html, eventId) {
    var list = document.getElementById("timeline");
    if (!list || document.getElementById("ev-" + eventId)) return;
    var holder = document.createElement("ul");
    holder.innerHTML = html;
    var item = holder.firstElementChild;
    if (!item) return;
    item.classList.add("fresh");
    localTimes(item);
    var empty = list.querySelector(".empty");
    if (empty) empty.remove();
    list.insertBefore(item, list.firstChild);
  }

  function live(main) {
    if (!window.EventSource) return;
    var status = document.getElementById("live-status");
    var fragmentUrl = main.dataset.liveFragment;
    var source = new EventSource(main.dataset.liveStream);
    var opened = false, pending = null;
    function changed() {
      clearTimeout(pending);
      pending = setTimeout(function () { refresh(fragmentUrl); }, 80);
    }
    source.addEventListener("open", function () {
      if (status) { status.textContent = "live"; status.classList.add("on"); }
      if (opened) changed();  // a reconnect: catch up on whatever happened in between
      opened = true;
    });
    source.addEventListener("error", function () {
      if (status) { status.textContent = "reconnecting…"; status.classList.remove("on"); }
    });
    source.addEventListener("timeline", function (e) { insertEvent(e.data, e.lastEventId); });
    source.addEventListener("changed", changed);
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var target = document.getElementById(button.dataset.copy);
        if (!target || !navigator.clipboard) return;
        navigator.clipboard.writeText(target.textContent.trim()).then(function () {
          var label = button.textContent;
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = label; }, 1500);
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    tick();
    setInterval(tick, 1000);
    copyButtons();
    var main = document.querySelector("[data-live-stream]");
    if (main) live(main);
  });
})();

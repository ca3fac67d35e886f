// Live updates and confirmations for the jobrunner dashboard. No dependencies.
// The server sends a "change" event when something may have changed; the page then
// fetches its own URL again and swaps its <main>. Pages work without this script.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var dot = document.getElementById("live");
  var GAP = 700; // ms between two refreshes at most once: 20 pages must not hammer the runner
  var last = 0, timer = null, busy = false;

  function swap(html) {
    var open = Array.prototype.map.call(main.querySelectorAll("details[open][id]"), function (d) { return d.id; });
    main.innerHTML = html;
    open.forEach(function (id) { var d = document.getElementById(id); if (d) { d.open = true; } });
  }

  function refresh() {
    timer = null;
    if (busy) { timer = setTimeout(refresh, GAP); return; }
    busy = true; last = Date.now();
    fetch(location.href, { headers: { "X-Dashboard-Fragment": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { swap(html); } })
      .catch(function () {})
      .then(function () { busy = false; });
  }

  function later() {
    if (timer === null) { timer = setTimeout(refresh, Math.max(0, last + GAP - Date.now())); }
  }

  if (main && window.EventSource && document.body.dataset.events) {
    var source = new EventSource(document.body.dataset.events);
    source.addEventListener("change", later);
    source.onopen = function () { if (dot) { dot.textContent = "●"; dot.className = "on"; dot.title = "live"; } };
    source.onerror = function () { if (dot) { dot.textContent = "○"; dot.className = ""; dot.title = "reconnecting"; } };
  }

  // Actions ask first; the answer rides along so the server skips its own confirm page.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (!question) { return; }
    if (!window.confirm(question)) { event.preventDefault(); return; }
    var yes = document.createElement("input");
    yes.type = "hidden"; yes.name = "confirm"; yes.value = "yes";
    form.appendChild(yes);
  });
})();

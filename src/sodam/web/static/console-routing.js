/* Sodam console: presence for routing. Tells the server (at most once a minute) that the agent
 * is using the console — auto-away is lifted by it — keeps the rail's availability switch in
 * step when the server changes it (away after inactivity, another tab), and refreshes the
 * live queue page (and pages with a .live-region) when something moves. */
(function () {
  "use strict";
  var body = document.body;
  if (!body || !body.classList.contains("console")) return;
  var me = Number(body.getAttribute("data-agent-id"));
  var lastSent = 0;
  function active() {
    var now = Date.now();
    if (now - lastSent < 60000) return;
    lastSent = now;
    document.dispatchEvent(new CustomEvent("sodam:send", { detail: { type: "activity" } }));
  }
  ["keydown", "pointerdown", "focus", "scroll", "mousemove"].forEach(function (name) {
    window.addEventListener(name, active, { passive: true, capture: true });
  });
  var queueTimer = null;
  var liveTimer = null;
  document.addEventListener("sodam:frame", function (ev) {
    var frame = ev.detail || {};
    if (frame.type === "agent" && Number(frame.agent_id) === me) {
      var form = document.getElementById("availability");
      if (form && window.htmx) window.htmx.ajax("GET", "/console/availability", { target: form, swap: "outerHTML" });
    }
    if (document.getElementById("queue-live") && (frame.type === "agent" || frame.type === "conversation")) {
      clearTimeout(queueTimer); // many frames at once: one refresh
      queueTimer = setTimeout(function () { body.dispatchEvent(new Event("sodam-queue-changed")); }, 400);
    }
    // Pages with a live region (the phone page's callbacks, voicemail and calls) follow
    // conversation changes the same way.
    if (document.querySelector(".live-region") && (frame.type === "conversation" || frame.type === "message")) {
      clearTimeout(liveTimer);
      liveTimer = setTimeout(function () { body.dispatchEvent(new Event("sodam-live-changed")); }, 400);
    }
  });
})();

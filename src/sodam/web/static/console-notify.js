/* Sodam console: notifications, the unread count in the tab title, "입력 중…" both ways, and
 * opening a conversation at a search hit. Listens to the frames console.js hands on
 * ("sodam:frame") and sends over its socket ("sodam:send"). Text is only ever set with
 * textContent. See docs/notifications.md. */
(function () {
  "use strict";
  var body = document.body;
  if (!body || !body.classList.contains("console")) return;
  var cfg = document.getElementById("notify-config");
  function say(name, params) {
    var s = (cfg && cfg.getAttribute("data-" + name)) || "";
    Object.keys(params || {}).forEach(function (k) { s = s.split("{" + k + "}").join(String(params[k])); });
    return s;
  }
  var me = Number(body.getAttribute("data-agent-id"));
  var settings = { sound: true, desktop: true, assigned: true, reply: true, mention: true, sla: true };
  var mine = new Set();     // my unresolved conversations: a customer reply there is announced
  var unread = new Set();   // conversations with news I have not looked at (the tab title)
  var ready = false;

  function openId() {
    var c = document.getElementById("conversation");
    return c ? Number(c.getAttribute("data-conversation-id")) : null;
  }
  function looking(convId) { return convId === openId() && document.visibilityState === "visible"; }

  // ---- the tab title: "(3) 소담" ---------------------------------------------------------
  function baseTitle() { return document.title.replace(/^\(\d+\) /, ""); }
  function showCount() {
    var n = unread.size;
    var title = baseTitle();
    document.title = n ? "(" + n + ") " + title : title;
  }
  function seen(convId) { if (unread.delete(convId)) showCount(); }

  // ---- sound and desktop ------------------------------------------------------------------
  var sound = null;
  function ding() {
    try {
      if (!sound) sound = new Audio("/static/notify.wav");
      sound.currentTime = 0;
      var played = sound.play();
      if (played && played.catch) played.catch(function () { /* no user gesture yet */ });
    } catch (e) { /* no audio here */ }
  }
  function desktop(title, text, convId) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      var n = new Notification(title, { body: text || "", tag: "sodam-" + convId });
      n.onclick = function () { window.focus(); window.location.href = "/console/conversations/" + convId; n.close(); };
    } catch (e) { /* some browsers allow it only from a service worker */ }
  }
  function announce(kind, convId, title, text) {
    if (!ready || !settings[kind]) return;
    if (!looking(convId)) { unread.add(convId); showCount(); }
    if (settings.sound) ding();
    // Desktop only when the agent is elsewhere: in the open tab the list and title say it.
    if (settings.desktop && (document.visibilityState !== "visible" || !document.hasFocus())) desktop(title, text, convId);
    body.setAttribute("data-last-notification", kind + ":" + convId);
  }

  // ---- the permission banner: asked once, only when the agent clicks --------------------------
  var DISMISSED = "sodam:notify-banner";
  function banner() {
    var el = document.getElementById("notify-banner");
    if (!el) return;
    var ask = "Notification" in window && Notification.permission === "default";
    var dismissed = false;
    try { dismissed = localStorage.getItem(DISMISSED) === "1"; } catch (e) { dismissed = false; }
    el.hidden = !(settings.desktop && ask && !dismissed);
  }
  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (!t || !t.closest) return;
    if (t.closest("#notify-allow")) {
      var done = function () { banner(); };
      try {
        var asked = Notification.requestPermission(done);
        if (asked && asked.then) asked.then(done);
      } catch (e) { done(); }
      try { localStorage.setItem(DISMISSED, "1"); } catch (e) { /* private mode */ }
      document.getElementById("notify-banner").hidden = true;
    } else if (t.closest("#notify-later")) {
      try { localStorage.setItem(DISMISSED, "1"); } catch (e) { /* private mode */ }
      document.getElementById("notify-banner").hidden = true;
    }
  });

  // ---- typing ---------------------------------------------------------------------------------
  var TYPING_EVERY_MS = 2000, TYPING_IDLE_MS = 3000, TYPING_TTL_MS = 6000;
  var typing = { sentAt: 0, conv: null, stop: null, hide: null };
  function sendTyping(convId, on) {
    document.dispatchEvent(new CustomEvent("sodam:send", { detail: { type: "typing", conversation_id: convId, typing: on } }));
  }
  function stopTyping() {
    clearTimeout(typing.stop);
    if (typing.sentAt && typing.conv) sendTyping(typing.conv, false);
    typing.sentAt = 0;
  }
  function noteMode() { var box = document.getElementById("reply-private"); return !!(box && box.checked); }
  document.addEventListener("input", function (ev) {
    if (!ev.target || ev.target.id !== "reply-box") return;
    var id = openId();
    // A private note is never announced to the customer.
    if (!id || noteMode() || !ev.target.value.trim() || ev.target.value.charAt(0) === "/") { stopTyping(); return; }
    if (typing.conv !== id) stopTyping();
    typing.conv = id;
    if (Date.now() - typing.sentAt > TYPING_EVERY_MS) { typing.sentAt = Date.now(); sendTyping(id, true); }
    clearTimeout(typing.stop);
    typing.stop = setTimeout(stopTyping, TYPING_IDLE_MS);
  });
  document.addEventListener("submit", function (ev) { if (ev.target && ev.target.id === "reply-form") stopTyping(); }, true);
  document.addEventListener("keydown", function (ev) {
    if (ev.target && ev.target.id === "reply-box" && ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) stopTyping();
  }, true);
  document.addEventListener("change", function (ev) { if (ev.target && ev.target.id === "reply-private" && ev.target.checked) stopTyping(); });

  function typingLine() {
    var line = document.getElementById("typing-indicator");
    var list = document.getElementById("messages");
    if (!line && list) {
      line = document.createElement("div");
      line.id = "typing-indicator";
      line.className = "typing-indicator";
      line.setAttribute("aria-live", "polite");
      line.hidden = true;
      list.parentNode.insertBefore(line, list.nextSibling);
    }
    return line;
  }
  function showTyping(on) {
    var line = typingLine();
    if (!line) return;
    clearTimeout(typing.hide);
    var c = document.getElementById("conversation");
    line.textContent = say("typing-contact", { name: (c && c.getAttribute("data-contact-name")) || say("customer") });
    line.hidden = !on;
    if (on) typing.hide = setTimeout(function () { line.hidden = true; }, TYPING_TTL_MS);
  }

  // ---- frames from the agent socket ---------------------------------------------------------------
  document.addEventListener("sodam:frame", function (ev) {
    var f = ev.detail || {};
    if (f.type === "typing") {
      if (f.sender_type === "contact" && Number(f.conversation_id) === openId()) showTyping(f.typing !== false);
    } else if (f.type === "message" && f.message) {
      var m = f.message, cid = Number(m.conversation_id);
      if (m.sender_type === "contact") {
        if (cid === openId()) showTyping(false);
        if (mine.has(cid) && m.kind !== "note") announce("reply", cid, say("reply"), String(m.content || "").slice(0, 120));
      }
    } else if (f.type === "conversation" && f.conversation) {
      var c = f.conversation, id = Number(c.id);
      var wasMine = mine.has(id);
      if (c.assignee_id === me && c.status !== "resolved") mine.add(id); else mine.delete(id);
      if (f.assigned && c.assignee_id === me && !wasMine && f.actor_id !== me) {
        announce("assigned", id, say("assigned"), String(c.last_message_preview || "").slice(0, 120));
      }
    } else if (f.type === "mention") {
      var ids = (f.agent_ids || []).map(Number);
      if (ids.indexOf(me) >= 0 && f.by !== me) announce("mention", Number(f.conversation_id), say("mention"), "");
    } else if (f.type === "sla_breach") {
      var to = (f.agent_ids || []).map(Number);
      if (to.indexOf(me) >= 0) announce("sla", Number(f.conversation_id), say("sla"), "");
    } else if (f.type === "escalation") {
      if ((f.agent_ids || []).map(Number).indexOf(me) >= 0) escalated(f);
    }
  });

  // ---- a survey answer escalated to me (surveys/escalation.py): a line that stays until clicked ----
  function escalated(f) {
    var box = document.getElementById("escalation-alerts");
    var convId = Number(f.conversation_id);
    var text = f.reason === "sentiment" && f.score == null
      ? say("escalation-sentiment", { id: convId })
      : say("escalation-text", { kind: String(f.kind || "").toUpperCase(), score: f.score == null ? "-" : f.score, id: convId });
    if (box) {
      var a = document.createElement("a");
      a.className = "escalation-alert";
      a.href = "/console/conversations/" + convId;
      a.setAttribute("data-conversation-id", String(convId));
      var strong = document.createElement("strong");
      strong.textContent = say("escalation");
      a.appendChild(strong);
      a.appendChild(document.createTextNode(" " + text));
      a.addEventListener("click", function () { a.remove(); });
      box.prepend(a);
    }
    if (!looking(convId)) { unread.add(convId); showCount(); }
    if (settings.sound) ding();
    if (settings.desktop && (document.visibilityState !== "visible" || !document.hasFocus())) desktop(say("escalation"), text, convId);
    body.setAttribute("data-last-notification", "escalation:" + convId);
  }

  // ---- opening a conversation: read, and a search hit's message in view ----------------------------
  function focusHit() {
    var c = document.getElementById("conversation");
    var id = c && c.getAttribute("data-focus-message");
    if (!id) {
      var m = /[?&]message=(\d+)/.exec(location.search);
      id = m && m[1];
    }
    var el = id && document.querySelector('#messages .msg[data-message-id="' + Number(id) + '"]');
    if (!el) return;
    el.classList.add("msg-focus");
    el.scrollIntoView({ block: "center" });
  }
  function shown() {
    var id = openId();
    if (id) seen(id);
    var line = document.getElementById("typing-indicator");
    if (line) line.hidden = true;
    focusHit();
    showCount();
  }
  document.addEventListener("htmx:afterSwap", function (ev) {
    if (ev.detail.target && ev.detail.target.id === "conversation-area") shown();
  });
  document.addEventListener("htmx:afterSettle", showCount); // a swap may bring a new <title>
  document.addEventListener("visibilitychange", function () { var id = openId(); if (id && document.visibilityState === "visible") seen(id); });

  fetch("/console/notifications/state", { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      if (!data) return;
      settings = data.settings || settings;
      (data.mine || []).forEach(function (id) { mine.add(Number(id)); });
      (data.unread || []).forEach(function (id) { if (!looking(Number(id))) unread.add(Number(id)); });
      ready = true;
      banner();
      showCount();
    })
    .catch(function () { /* the console works without notifications */ });
  shown();
})();

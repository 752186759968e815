/* Sodam agent console: live updates over /api/v1/realtime, the reply box, small UI glue.
 * Message content is untrusted: it is only ever written with textContent, never innerHTML. */
(function () {
  "use strict";

  var body = document.body;
  if (!body || !body.classList.contains("console")) return;
  var strings = {};
  try { strings = JSON.parse(body.getAttribute("data-strings") || "{}"); } catch (e) { strings = {}; }
  function t(key, params) {
    var s = strings[key] || key;
    Object.keys(params || {}).forEach(function (k) { s = s.split("{" + k + "}").join(String(params[k])); });
    return s;
  }
  function csrf() {
    try { return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  }

  // ---- toast -------------------------------------------------------------------------
  var toastTimer = null;
  function toast(text, isError) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
    el.classList.toggle("toast-error", !!isError);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.hidden = true; }, isError ? 6000 : 2500);
  }
  function errorText(xhrOrResponseText) {
    try {
      var parsed = JSON.parse(xhrOrResponseText);
      if (parsed && parsed.error && parsed.error.message) return parsed.error.message;
    } catch (e) { /* not JSON */ }
    return t("console.error.generic");
  }
  // A refused form comes back as HTML that says why (409/422): show it in place.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var xhr = ev.detail.xhr;
    if (!xhr || (xhr.status !== 409 && xhr.status !== 422)) return;
    if ((xhr.getResponseHeader("Content-Type") || "").indexOf("text/html") !== 0) return;
    ev.detail.shouldSwap = true;
    ev.detail.isError = false;
  });
  document.addEventListener("htmx:responseError", function (ev) {
    var xhr = ev.detail.xhr;
    if (xhr && xhr.status === 401) { window.location.href = "/console/login?next=" + encodeURIComponent(location.pathname); return; }
    toast(errorText(xhr ? xhr.responseText : ""), true);
  });
  document.addEventListener("htmx:sendError", function () { toast(t("console.error.offline"), true); });

  // ---- the open conversation -------------------------------------------------------
  function openConversation() { return document.getElementById("conversation"); }
  function openId() {
    var c = openConversation();
    return c ? Number(c.getAttribute("data-conversation-id")) : null;
  }
  function lastSeq() {
    var c = openConversation();
    return c ? Number(c.getAttribute("data-last-seq") || 0) : 0;
  }
  function lastEventId() {
    var c = openConversation();
    return c ? Number(c.getAttribute("data-last-event-id") || 0) : 0;
  }

  function messageClass(m) {
    if (m.kind === "note") return "msg-note";
    if (m.kind === "system") return "msg-system";
    if (m.kind === "bot" || m.sender_type === "bot") return "msg-bot";
    if (m.sender_type === "contact") return "msg-incoming";
    return "msg-outgoing";
  }
  // Times are shown in the console's zone (<body data-time-zone>), not the browser's, so a
  // message reads the same time as the knowledge base and token lists.
  var clock = new Intl.DateTimeFormat("en-GB", {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    timeZone: document.body.getAttribute("data-time-zone") || undefined,
  });
  function hhmm(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    return clock.format(d);
  }
  function nearBottom(list) { return list.scrollHeight - list.scrollTop - list.clientHeight < 120; }
  function scrollDown(list) { list.scrollTop = list.scrollHeight; }
  // The list shrinks after it is shown (the assist panel and the reply tools fill in below it):
  // a list that was at its end stays there, so the latest message is never hidden.
  function keepAtEnd(list) {
    if (!list || list.dataset.pinned || typeof ResizeObserver !== "function") return;
    list.dataset.pinned = "1";
    var atEnd = true;
    list.addEventListener("scroll", function () { atEnd = nearBottom(list); }, { passive: true });
    new ResizeObserver(function () { if (atEnd) scrollDown(list); }).observe(list);
  }

  function appendMessage(m) {
    var c = openConversation();
    var list = document.getElementById("messages");
    if (!c || !list || Number(m.conversation_id) !== openId()) return;
    if (list.querySelector('.msg[data-message-id="' + Number(m.id) + '"]')) return; // socket + response: once
    var stick = nearBottom(list);
    var el = document.createElement("div");
    el.className = "msg " + (m.css || messageClass(m));
    el.setAttribute("data-message-id", String(Number(m.id)));
    el.setAttribute("data-seq", String(Number(m.seq)));
    var meta = document.createElement("div");
    meta.className = "msg-meta";
    // One timeline: a reply sent on another channel carries its channel's badge.
    var via = m.payload && m.payload.via && String(m.payload.via.channel || "");
    if (via && via !== c.getAttribute("data-own-channel")) {
      var labels = {};
      try { labels = JSON.parse(c.getAttribute("data-channel-labels") || "{}"); } catch (e) { labels = {}; }
      var badge = document.createElement("span");
      badge.className = "channel-badge channel-" + via.replace(/[^a-z_]/g, "");
      badge.setAttribute("data-channel", via);
      badge.textContent = labels[via] || via;
      meta.appendChild(badge);
      meta.appendChild(document.createTextNode(" "));
    }
    var sender = document.createElement("span");
    sender.className = "msg-sender";
    sender.textContent = m.sender_name || (m.sender_type === "contact" ? c.getAttribute("data-contact-name") || "" : "");
    meta.appendChild(sender);
    if (m.kind === "note") meta.appendChild(document.createTextNode(" · " + t("console.note")));
    var time = document.createElement("time");
    time.setAttribute("datetime", m.created_at);
    time.textContent = " " + hhmm(m.created_at);
    meta.appendChild(time);
    var text = document.createElement("div");
    text.className = "msg-body";
    text.textContent = m.content;
    el.appendChild(meta);
    el.appendChild(text);
    // The article the bot answered with (the message itself does not repeat its title).
    var article = m.payload && m.payload.article;
    if (article && article.title) {
      var link = document.createElement("a");
      link.className = "msg-article";
      link.textContent = String(article.title);
      var href = String(article.url || "");
      link.href = /^(https?:\/\/|\/)/.test(href) ? href : "#";
      link.target = "_blank";
      link.rel = "noopener";
      el.appendChild(link);
    }
    // Extras (files, …) draw themselves into the bubble: console-files.js.
    document.dispatchEvent(new CustomEvent("sodam:message-shown", { detail: { el: el, message: m } }));
    // Keep seq order even if a resync and a live frame cross.
    var after = null;
    list.querySelectorAll(".msg[data-seq]").forEach(function (node) {
      if (Number(node.getAttribute("data-seq")) > Number(m.seq) && after === null) after = node;
    });
    list.insertBefore(el, after);
    if (Number(m.seq) > lastSeq()) c.setAttribute("data-last-seq", String(Number(m.seq)));
    if (stick || m.sender_type === "agent") scrollDown(list);
  }

  function appendEvent(e) {
    var c = openConversation();
    var list = document.getElementById("messages");
    if (!c || !list || list.querySelector('[data-event-id="' + Number(e.id) + '"]')) return;
    var el = document.createElement("div");
    el.className = "msg msg-system msg-event";
    el.setAttribute("data-event-id", String(Number(e.id)));
    var text = document.createElement("div");
    text.className = "msg-body";
    text.textContent = e.text;
    el.appendChild(text);
    list.appendChild(el);
    scrollDown(list);
  }

  var syncing = null;
  function syncTimeline() {
    var id = openId();
    if (!id) return Promise.resolve();
    if (syncing) return syncing;
    var url = "/console/conversations/" + id + "/timeline?after_seq=" + lastSeq() + "&after_event=" + lastEventId();
    syncing = fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) { window.location.href = "/console/login"; throw new Error("login"); }
        return r.ok ? r.json() : null;
      })
      .then(function (data) {
        if (!data || Number(data.conversation_id) !== openId()) return;
        data.messages.forEach(appendMessage);
        data.events.forEach(appendEvent);
        var c = openConversation();
        if (c && data.last_event_id > lastEventId()) c.setAttribute("data-last-event-id", String(data.last_event_id));
      })
      .catch(function () { /* the next frame or reconnect retries */ })
      .then(function () { syncing = null; });
    return syncing;
  }
  document.body.addEventListener("sodam:timeline", syncTimeline);

  // ---- the conversation list ---------------------------------------------------------
  var listTimer = null;
  function refreshList() {
    clearTimeout(listTimer);
    listTimer = setTimeout(function () {
      var pane = document.getElementById("list-pane");
      if (!pane || !window.htmx) return;
      var url = pane.getAttribute("data-list-url");
      var id = openId();
      if (id) url += "&selected=" + id;
      window.htmx.ajax("GET", url, { target: "#list-pane", swap: "outerHTML" });
    }, 250);
  }
  function patchRow(m) {
    if (m.kind === "note") return;
    var row = document.querySelector('#conversation-list [data-conversation-id="' + Number(m.conversation_id) + '"]');
    if (!row) return;
    var preview = row.querySelector(".row-preview");
    var files = (m.payload && m.payload.attachments) || [];
    var shown = String(m.content).trim() ? String(m.content) : files.map(function (a) { return a.name; }).join(", ");
    if (preview) preview.textContent = shown.slice(0, 140);
    var wait = row.querySelector(".row-wait");
    if (wait) wait.textContent = t("console.time.now");
    row.setAttribute("data-since", m.created_at);
  }
  function markSelected() {
    var id = openId();
    document.querySelectorAll("#conversation-list .conv-row").forEach(function (row) {
      var open = Number(row.getAttribute("data-conversation-id")) === id;
      row.classList.toggle("selected", open);
      if (open) row.classList.remove("unread"); // the server marked it read when it was shown
    });
  }
  // Live messages in the open conversation count as read while the tab is visible.
  var readTimers = {}, readSeqs = {};
  function sendRead(id, viaBeacon) {
    clearTimeout(readTimers[id]);
    delete readTimers[id];
    var body = new FormData();
    body.append("seq", String(readSeqs[id]));
    body.append("csrf_token", csrf());
    delete readSeqs[id];
    var url = "/console/conversations/" + id + "/read";
    if (viaBeacon && navigator.sendBeacon) { navigator.sendBeacon(url, body); return; }
    fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } })
      .catch(function () { /* the next view marks it read anyway */ });
  }
  function markReadSoon() {
    var id = openId();
    if (!id || document.visibilityState !== "visible") return;
    readSeqs[id] = lastSeq(); // what is on screen now was seen, even if the agent moves on
    clearTimeout(readTimers[id]);
    readTimers[id] = setTimeout(function () { sendRead(id, false); }, 300);
  }
  // Leaving the page: what was seen still counts.
  window.addEventListener("pagehide", function () {
    Object.keys(readSeqs).forEach(function (id) { sendRead(id, true); });
  });
  document.addEventListener("visibilitychange", markReadSoon);
  // The actions box is refreshed when a frame says the conversation changed. Two races:
  // htmx queues requests per source element, keeping only the last queued one, so a refresh
  // sent from <body> could be dropped for a list refresh; it is sent from the box itself. And
  // a refresh sent before the agent's own change (a status button) was answered carries the
  // old state: it is not swapped in (the change's own frame asks for a fresh one).
  var actionsChanges = 0;
  document.addEventListener("htmx:beforeRequest", function (ev) {
    var box = document.getElementById("conversation-actions");
    var elt = ev.detail.elt;
    if (box && elt !== box && box.contains(elt)) actionsChanges++;
  });
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var sent = ev.detail.requestConfig && ev.detail.requestConfig.headers["X-Sodam-Actions-Seen"];
    if (sent !== undefined && Number(sent) !== actionsChanges) ev.detail.shouldSwap = false;
  });
  function refreshActions() {
    var id = openId();
    if (!id || !window.htmx || !document.getElementById("conversation-actions")) return;
    window.htmx.ajax("GET", "/console/conversations/" + id + "/actions", {
      source: "#conversation-actions", target: "#conversation-actions", swap: "innerHTML",
      headers: { "X-Sodam-Actions-Seen": String(actionsChanges) },
    });
  }
  document.addEventListener("sodam:refresh-actions", refreshActions);
  // Waiting times tick without a reload.
  function tickWaits() {
    var now = Date.now();
    document.querySelectorAll("#conversation-list .conv-row[data-since]").forEach(function (row) {
      var since = Date.parse(row.getAttribute("data-since"));
      var out = row.querySelector(".row-wait");
      if (!out || isNaN(since)) return;
      var s = Math.max(0, Math.floor((now - since) / 1000));
      out.textContent = s < 60 ? t("console.time.now")
        : s < 3600 ? t("console.time.minutes", { n: Math.floor(s / 60) })
        : s < 86400 ? t("console.time.hours", { n: Math.floor(s / 3600) })
        : t("console.time.days", { n: Math.floor(s / 86400) });
    });
  }
  // First-reply SLA badges turn amber, then red, as time passes.
  function tickSla() {
    var now = Date.now();
    document.querySelectorAll("#conversation-list .conv-row[data-sla-due]").forEach(function (row) {
      var badge = row.querySelector(".sla");
      var due = Date.parse(row.getAttribute("data-sla-due"));
      var warn = Date.parse(row.getAttribute("data-sla-warn"));
      if (!badge || isNaN(due) || isNaN(warn)) return;
      var state = now >= due ? "breached" : now >= warn ? "warn" : "ok";
      if (badge.getAttribute("data-sla-state") === state) return;
      badge.setAttribute("data-sla-state", state);
      badge.className = "badge sla sla-" + state;
      badge.textContent = t("console.sla." + state);
    });
  }
  setInterval(function () { tickWaits(); tickSla(); }, 30000);

  // ---- the live socket -----------------------------------------------------------------
  var socket = null;
  var attempts = 0;
  var everConnected = false;
  function setLive(state) {
    var el = document.getElementById("live-status");
    if (!el) return;
    el.setAttribute("data-state", state);
    el.textContent = t(state === "connected" ? "console.live.connected" : state === "reconnecting" ? "console.live.reconnecting" : "console.live.connecting");
  }
  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(proto + "//" + location.host + "/api/v1/realtime");
    socket.onopen = function () {
      attempts = 0;
      setLive("connected");
      if (everConnected) { syncTimeline(); refreshList(); } // what happened while we were away
      everConnected = true;
    };
    socket.onmessage = function (ev) {
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      // One frame, or an array of frames the server sent together.
      (Array.isArray(data) ? data : [data]).forEach(onFrame);
    };
    function onFrame(frame) {
      if (!frame || typeof frame !== "object") return;
      // Notifications, typing and read state listen here (console-notify.js).
      document.dispatchEvent(new CustomEvent("sodam:frame", { detail: frame }));
      if (frame.type === "message") {
        if (Number(frame.conversation_id) === openId()) {
          var m = frame.message;
          if (Number(m.seq) === lastSeq() + 1 || Number(m.seq) <= lastSeq()) appendMessage(m);
          else syncTimeline(); // a gap: fetch everything after the last seq we have
          markReadSoon();
        }
        patchRow(frame.message);
        refreshList();
      } else if (frame.type === "conversation") {
        refreshList();
        if (frame.conversation && Number(frame.conversation.id) === openId()) { refreshActions(); syncTimeline(); }
      } else if (frame.type === "resync") {
        syncTimeline();
        refreshList();
      }
    }
    socket.onclose = function (ev) {
      socket = null;
      if (ev.code === 4401) { window.location.href = "/console/login?next=" + encodeURIComponent(location.pathname); return; }
      setLive("reconnecting");
      var delay = Math.min(30000, 500 * Math.pow(2, attempts++)) * (0.75 + Math.random() * 0.5);
      setTimeout(connect, delay);
    };
  }
  // Other scripts send small frames (typing) over the same socket; dropped while it is down.
  document.addEventListener("sodam:send", function (ev) {
    if (socket && socket.readyState === 1 && ev.detail) socket.send(JSON.stringify(ev.detail));
  });
  // Keep the connection warm through proxies that drop idle sockets.
  setInterval(function () { if (socket && socket.readyState === 1) socket.send("ping"); }, 25000);

  // ---- the reply box ---------------------------------------------------------------------
  function replyError(text) {
    var el = document.getElementById("reply-error");
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }
  function syncNoteMode() {
    var box = document.getElementById("reply-box");
    var toggle = document.getElementById("reply-private");
    var form = document.getElementById("reply-form");
    if (!box || !toggle || !form) return;
    form.classList.toggle("note-mode", toggle.checked);
    box.placeholder = box.getAttribute(toggle.checked ? "data-placeholder-note" : "data-placeholder-reply");
  }
  var sending = false;
  function sendReply(form) {
    var box = document.getElementById("reply-box");
    var files = form.elements.attachments ? form.elements.attachments.value : "";
    if (!box || sending || (!box.value.trim() && !files)) return;
    var data = new URLSearchParams(new FormData(form));
    var clientId = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
    data.set("client_id", clientId);
    sending = true;
    replyError("");
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf() }
    })
      .then(function (r) {
        return r.text().then(function (text) {
          if (r.status === 401) { window.location.href = "/console/login"; return; }
          if (!r.ok) { replyError(errorText(text)); return; }
          box.value = "";
          document.dispatchEvent(new CustomEvent("sodam:reply-sent"));
          appendMessage(JSON.parse(text));
        });
      })
      .catch(function () { replyError(t("console.error.send_failed")); })
      .then(function () { sending = false; box.focus(); });
  }
  document.addEventListener("submit", function (ev) {
    if (ev.target && ev.target.id === "reply-form") { ev.preventDefault(); sendReply(ev.target); }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.target && ev.target.id === "reply-box" && ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault(); // Korean IME: Enter that ends a composition is not a send
      sendReply(ev.target.form);
    }
  });
  document.addEventListener("change", function (ev) {
    if (ev.target && ev.target.id === "reply-private") syncNoteMode();
  });

  // ---- canned replies: "/" + letters in the reply box (replies/views.py) --------------------
  // Capture phase, so Enter/Tab/Esc/arrows reach the picker before the send and blur handlers.
  var picker = { open: false, items: [], active: 0, start: -1, seq: 0, timer: null };
  function pickerEl() { return document.getElementById("reply-picker"); }
  // The "/word" that ends at the caret, at the start of the box or after a space.
  function slashQuery(box) {
    if (box.selectionStart !== box.selectionEnd) return null;
    var before = box.value.slice(0, box.selectionStart);
    var m = /(^|\s)\/([^\s\/]{0,40})$/.exec(before);
    return m ? { start: before.length - m[2].length - 1, query: m[2] } : null;
  }
  function closePicker() {
    var el = pickerEl();
    picker.open = false;
    picker.items = [];
    picker.seq++;
    clearTimeout(picker.timer);
    if (el) { el.hidden = true; el.textContent = ""; }
    var box = document.getElementById("reply-box");
    if (box) { box.removeAttribute("aria-activedescendant"); box.setAttribute("aria-expanded", "false"); }
  }
  function renderPicker() {
    var el = pickerEl();
    var box = document.getElementById("reply-box");
    if (!el || !box) return;
    el.textContent = "";
    if (!picker.items.length) {
      var empty = document.createElement("div");
      empty.className = "pick-empty";
      empty.textContent = el.getAttribute("data-empty");
      var manage = document.createElement("a");
      manage.href = "/console/settings/replies";
      manage.textContent = el.getAttribute("data-manage");
      empty.appendChild(manage);
      el.appendChild(empty);
    } else {
      var list = document.createElement("ul");
      list.setAttribute("role", "listbox");
      list.setAttribute("aria-label", el.getAttribute("data-label"));
      picker.items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = "reply-pick-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("data-reply-id", String(Number(item.id)));
        li.setAttribute("aria-selected", i === picker.active ? "true" : "false");
        if (i === picker.active) li.className = "active";
        var top = document.createElement("div");
        top.className = "pick-top";
        var sc = document.createElement("span"); sc.className = "pick-shortcut"; sc.textContent = "/" + item.shortcut;
        var title = document.createElement("span"); title.className = "pick-title"; title.textContent = item.title;
        var scope = document.createElement("span"); scope.className = "pick-scope"; scope.textContent = item.scope_label;
        top.appendChild(sc); top.appendChild(title); top.appendChild(scope);
        var preview = document.createElement("div"); preview.className = "pick-preview"; preview.textContent = item.preview;
        li.appendChild(top); li.appendChild(preview);
        // mousedown, not click: the box keeps its focus and caret.
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choosePick(i); });
        li.addEventListener("mousemove", function () { if (picker.active !== i) { picker.active = i; markActive(); } });
        list.appendChild(li);
      });
      el.appendChild(list);
      var foot = document.createElement("div");
      foot.className = "pick-foot";
      foot.textContent = el.getAttribute("data-hint");
      el.appendChild(foot);
    }
    // Scrolling the list with the mouse must not take the focus from the box (which closes it).
    el.onmousedown = function (ev) { ev.preventDefault(); };
    el.hidden = false;
    box.setAttribute("aria-expanded", "true");
    markActive();
  }
  function markActive() {
    var el = pickerEl();
    var box = document.getElementById("reply-box");
    if (!el || !box) return;
    el.querySelectorAll("li[role=option]").forEach(function (li, i) {
      var on = i === picker.active;
      li.classList.toggle("active", on);
      li.setAttribute("aria-selected", on ? "true" : "false");
      if (on) { li.scrollIntoView({ block: "nearest" }); box.setAttribute("aria-activedescendant", li.id); }
    });
  }
  function fetchPicks(query) {
    var seq = ++picker.seq;
    fetch("/console/replies/suggest?q=" + encodeURIComponent(query), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || seq !== picker.seq || !picker.open) return; // a later keystroke won
        picker.items = data.data || [];
        picker.active = 0;
        renderPicker();
      })
      .catch(function () { /* the next keystroke asks again */ });
  }
  function updatePicker(box) {
    var found = box.id === "reply-box" ? slashQuery(box) : null;
    if (!found) { if (picker.open) closePicker(); return; }
    picker.open = true;
    picker.start = found.start;
    clearTimeout(picker.timer);
    picker.timer = setTimeout(function () { fetchPicks(found.query); }, 120);
  }
  function choosePick(i) {
    var item = picker.items[i];
    var box = document.getElementById("reply-box");
    var id = openId();
    if (!item || !box || !id) return;
    var start = picker.start, end = box.selectionStart;
    closePicker();
    fetch("/console/replies/" + Number(item.id) + "/insert?conversation_id=" + id, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf() }
    })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
      .then(function (data) {
        if (openId() !== id) return; // the agent moved to another conversation meanwhile
        // Replace the "/query" if it is still there; otherwise insert at the caret.
        if (box.value.charAt(start) !== "/" || end < start) { start = box.selectionStart; end = box.selectionEnd; }
        box.value = box.value.slice(0, start) + data.text + box.value.slice(end);
        var caret = start + data.text.length;
        box.focus();
        box.setSelectionRange(caret, caret);
        replyError("");
      })
      .catch(function () {
        var el = pickerEl();
        replyError(el ? el.getAttribute("data-failed") : t("console.error.generic"));
      });
  }
  document.addEventListener("keydown", function (ev) {
    if (!picker.open || !ev.target || ev.target.id !== "reply-box" || ev.isComposing) return;
    var n = picker.items.length;
    var handled = true;
    if (ev.key === "ArrowDown" && n) picker.active = (picker.active + 1) % n;
    else if (ev.key === "ArrowUp" && n) picker.active = (picker.active - 1 + n) % n;
    else if ((ev.key === "Enter" && !ev.shiftKey) || ev.key === "Tab") {
      var shown = pickerEl() && !pickerEl().hidden;
      if (n && shown) choosePick(picker.active);
      else if (shown || ev.key === "Tab") { closePicker(); handled = false; } // nothing matched: send as typed
      // Enter before the list arrived: wait for it rather than send "/배송".
    } else if (ev.key === "Escape") closePicker();
    else handled = false;
    if (!handled) return;
    ev.preventDefault();
    ev.stopPropagation();
    if (picker.open) markActive();
  }, true);
  document.addEventListener("input", function (ev) { if (ev.target && ev.target.id === "reply-box") updatePicker(ev.target); });
  document.addEventListener("click", function (ev) { if (ev.target && ev.target.id === "reply-box") updatePicker(ev.target); });
  document.addEventListener("focusout", function (ev) { if (ev.target && ev.target.id === "reply-box" && picker.open) closePicker(); });

  function localiseTimes(root) {
    (root || document).querySelectorAll("#messages time[datetime]").forEach(function (el) {
      var s = hhmm(el.getAttribute("datetime"));
      if (s) el.textContent = s;
    });
  }
  function onConversationShown() {
    closePicker();
    var list = document.getElementById("messages");
    if (list) { scrollDown(list); keepAtEnd(list); }
    localiseTimes();
    syncNoteMode();
    markSelected();
  }
  document.addEventListener("htmx:afterSwap", function (ev) {
    if (ev.detail.target && ev.detail.target.id === "conversation-area") { onConversationShown(); syncTimeline(); }
    if (ev.detail.target && ev.detail.target.id === "list-pane") markSelected();
  });

  // ---- keyboard (UX.md: keyboard first) -------------------------------------------
  function typingIn(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }
  function moveSelection(step) {
    var rows = Array.prototype.slice.call(document.querySelectorAll("#conversation-list .conv-row"));
    if (!rows.length) return;
    var at = rows.findIndex(function (row) { return row.classList.contains("selected"); });
    var next = rows[at < 0 ? 0 : Math.max(0, Math.min(rows.length - 1, at + step))];
    if (next && next !== rows[at]) { next.click(); next.scrollIntoView({ block: "nearest" }); }
  }
  // A key can come in the few milliseconds between htmx swapping the actions in and wiring
  // them up (its settle step): a click then would do nothing. htmx.process is idempotent, so
  // the button is wired here before it is clicked.
  function clickIfThere(selector) {
    var el = document.querySelector(selector);
    if (el && !el.disabled) {
      if (window.htmx) window.htmx.process(el);
      el.click();
    }
    return !!el;
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    var help = document.getElementById("shortcuts");
    if (ev.key === "Escape" && typingIn(ev.target)) { ev.target.blur(); return; }
    if (typingIn(ev.target) || (help && help.open && ev.key !== "?")) return;
    var handled = true;
    switch (ev.key) {
      case "j": moveSelection(1); break;
      case "k": moveSelection(-1); break;
      case "r": { var box = document.getElementById("reply-box"); if (box) box.focus(); else handled = false; break; }
      case "e": handled = clickIfThere('#status-actions .status-button[data-status="resolved"]'); break;
      case "a": handled = clickIfThere("#assign-me"); break;
      case "?":
        if (help) { if (help.open) help.close(); else help.showModal(); }
        break;
      default: handled = false;
    }
    if (handled) ev.preventDefault();
  });

  onConversationShown();
  connect();
})();

/* ---- phone rail: below 720 px the rail opens from the top bar's menu button ---------------
 * Kept apart from the block above: aria-expanded on the button, Esc or a tap outside closes,
 * focus moves into the menu on open and back to the button on close. */
(function () {
  "use strict";
  var body = document.body;
  var button = document.getElementById("rail-toggle");
  var rail = document.getElementById("console-rail");
  var backdrop = document.getElementById("rail-backdrop");
  if (!body || !button || !rail) return;

  function isOpen() { return body.classList.contains("rail-open"); }
  function setOpen(open, restoreFocus) {
    body.classList.toggle("rail-open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
    button.setAttribute("aria-label", button.getAttribute(open ? "data-label-close" : "data-label-open") || "");
    if (backdrop) backdrop.hidden = !open;
    if (open) {
      var first = rail.querySelector("a, button, select");
      if (first) first.focus();
    } else if (restoreFocus) {
      button.focus();
    }
  }
  button.addEventListener("click", function () { setOpen(!isOpen(), true); });
  if (backdrop) backdrop.addEventListener("click", function () { setOpen(false, true); });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && isOpen()) {
      ev.preventDefault();
      ev.stopPropagation();
      setOpen(false, true);
    }
  }, true);
  rail.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest("a")) setOpen(false, false);
  });
  // Back on a wide screen the rail is always shown: forget the phone state.
  var wide = window.matchMedia("(min-width: 721px)");
  var onWide = function () { if (wide.matches && isOpen()) setOpen(false, false); };
  if (wide.addEventListener) wide.addEventListener("change", onWide);
})();

/* ---- phone conversation header: "더 보기" shows the actions kept out of its two lines ---- */
document.addEventListener("click", function (ev) {
  "use strict";
  var button = ev.target.closest && ev.target.closest("#conversation-more-toggle");
  if (!button) return;
  var header = button.closest(".conversation-header");
  var open = !header.classList.contains("more-open");
  header.classList.toggle("more-open", open);
  button.setAttribute("aria-expanded", open ? "true" : "false");
});

/* Agent assist panel (templates/console/_assist_panel.html, assist/views.py).
   Suggestions for the customer's last question load when a conversation opens, when the
   customer writes, and (debounced) as the agent types. Alt+1…9 inserts suggestion n into the
   reply box; a suggestion is a button, so Tab to it and Enter, or a click, insert it too.
   Shown / inserted counts are reported in batches (POST /console/assist/usage). */
(function () {
  "use strict";
  var DEBOUNCE_MS = 250;
  var REPORT_MS = 4000;
  var state = { id: null, seq: 0, timer: null, items: [], seen: {}, shown: {}, inserted: {}, observer: null };

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  }
  function panel() { return document.getElementById("assist-panel"); }
  function strings() {
    var el = panel();
    try { return JSON.parse((el && el.getAttribute("data-strings")) || "{}"); } catch (e) { return {}; }
  }
  function box() { return document.getElementById("reply-box"); }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body)
    });
  }

  function load(draft) {
    var id = state.id;
    if (!id) return;
    var seq = ++state.seq;
    post("/console/conversations/" + id + "/assist", { draft: (draft || "").slice(0, 2000) })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
      .then(function (data) { if (seq === state.seq && id === state.id) render(data); })
      .catch(function () { /* the panel keeps what it showed; the next keystroke tries again */ });
  }

  function schedule() {
    clearTimeout(state.timer);
    var b = box();
    state.timer = setTimeout(function () { load(b ? b.value : ""); }, DEBOUNCE_MS);
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function render(data) {
    var s = strings();
    var list = document.getElementById("assist-list");
    var reminder = document.getElementById("assist-reminder");
    var usage = document.getElementById("assist-usage");
    if (!list) return;
    var items = [];
    if (data.empathy) items.push({ kind: "empathy", key: "empathy:" + data.empathy.situation, label: s.empathy + " · " + (s["situation_" + data.empathy.situation] || ""), title: data.empathy.insert_text, text: data.empathy.insert_text });
    (data.articles || []).forEach(function (a) { items.push({ kind: "article", key: "article:" + a.id, label: s.articles, title: a.title, detail: a.snippet, text: a.insert_text }); });
    (data.replies || []).forEach(function (r) { items.push({ kind: "reply", key: "reply:" + r.id, label: s.replies, title: r.reply, detail: s.asked + ": " + r.question, text: r.insert_text }); });
    if (data.canned) items.push({ kind: "canned", key: "canned:" + data.canned.id, label: s.canned, title: data.canned.title + " (/" + data.canned.shortcut + ")", detail: data.canned.preview, canned: data.canned.id });
    state.items = items;
    list.textContent = "";
    if (!items.length) list.appendChild(el("li", "muted assist-empty", s.empty));
    items.forEach(function (item, i) {
      var li = el("li", "assist-item assist-" + item.kind);
      var btn = el("button", "assist-insert");
      btn.type = "button";
      btn.setAttribute("data-kind", item.kind);
      btn.setAttribute("data-index", String(i));
      if (i < 9) btn.setAttribute("aria-keyshortcuts", "Alt+" + (i + 1));
      btn.title = s.insert + (i < 9 ? " (Alt+" + (i + 1) + ")" : "");
      var key = el("kbd", "assist-key", i < 9 ? String(i + 1) : "·");
      var body = el("span", "assist-text");
      body.appendChild(el("span", "assist-kind", item.label));
      body.appendChild(el("span", "assist-title", item.title));
      if (item.detail) body.appendChild(el("span", "assist-detail muted", item.detail));
      btn.appendChild(key);
      btn.appendChild(body);
      btn.addEventListener("click", function () { insert(i); });
      li.appendChild(btn);
      list.appendChild(li);
      if (!state.seen[item.key]) { state.seen[item.key] = true; state.shown[item.kind] = (state.shown[item.kind] || 0) + 1; }
    });
    if (reminder) {
      if (data.reminder) {
        reminder.hidden = false;
        reminder.className = "assist-reminder" + (data.reminder.overdue ? " overdue" : "");
        reminder.textContent = "⏰ " + s.reminder + " · " + data.reminder.message;
        if (!state.seen["reminder:" + data.reminder.kind]) { state.seen["reminder:" + data.reminder.kind] = true; state.shown.reminder = (state.shown.reminder || 0) + 1; }
      } else {
        reminder.hidden = true;
      }
    }
    if (usage && data.usage_line) usage.textContent = data.usage_line;
  }

  function put(text) {
    var b = box();
    if (!b || !text) return;
    var start = b.selectionStart, end = b.selectionEnd;
    if (document.activeElement !== b && start === end) start = end = b.value.length; // not focused: append
    var before = b.value.slice(0, start), after = b.value.slice(end);
    var glue = before && !/\s$/.test(before) ? "\n" : "";
    b.value = before + glue + text + after;
    var caret = (before + glue + text).length;
    b.focus();
    b.setSelectionRange(caret, caret);
  }

  function insert(i) {
    var item = state.items[i];
    if (!item) return;
    state.inserted[item.kind] = (state.inserted[item.kind] || 0) + 1;
    if (item.canned) {
      var id = state.id;
      fetch("/console/replies/" + Number(item.canned) + "/insert?conversation_id=" + id, {
        method: "POST", credentials: "same-origin", headers: { Accept: "application/json", "X-CSRF-Token": csrf() }
      }).then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
        .then(function (data) { if (id === state.id) put(data.text); })
        .catch(function () {});
    } else {
      put(item.text);
    }
  }

  function report() {
    var shown = state.shown, inserted = state.inserted;
    if (!Object.keys(shown).length && !Object.keys(inserted).length) return;
    state.shown = {}; state.inserted = {};
    var clip = function (o) { var out = {}; Object.keys(o).forEach(function (k) { out[k] = Math.min(o[k], 100); }); return out; };
    post("/console/assist/usage", { shown: clip(shown), inserted: clip(inserted) }).catch(function () {});
  }

  function setOpen(open) {
    var p = panel();
    var t = document.getElementById("assist-toggle");
    if (!p || !t) return;
    p.classList.toggle("collapsed", !open);
    t.setAttribute("aria-expanded", open ? "true" : "false");
    t.textContent = open ? "▾" : "▸";
    try { localStorage.setItem("sodam.assist.open", open ? "1" : "0"); } catch (e) { /* private mode */ }
  }

  function init() {
    var p = panel();
    if (!p) { state.id = null; return; }
    var id = p.getAttribute("data-conversation-id");
    if (id === state.id && p.getAttribute("data-ready")) return;
    p.setAttribute("data-ready", "1");
    report();
    state.id = id; state.items = []; state.seen = {};
    var open = true;
    try { open = localStorage.getItem("sodam.assist.open") !== "0"; } catch (e) { /* private mode */ }
    setOpen(open);
    load(box() ? box().value : "");
    if (state.observer) state.observer.disconnect();
    var messages = document.getElementById("messages");
    if (messages && window.MutationObserver) {
      state.observer = new MutationObserver(function (records) {
        var customer = records.some(function (r) {
          return Array.prototype.some.call(r.addedNodes, function (n) { return n.classList && n.classList.contains("msg-incoming"); });
        });
        if (customer) schedule();
      });
      state.observer.observe(messages, { childList: true });
    }
  }

  document.addEventListener("input", function (ev) { if (ev.target && ev.target.id === "reply-box" && state.id) schedule(); });
  document.addEventListener("click", function (ev) {
    if (ev.target && ev.target.id === "assist-toggle") setOpen(panel().classList.contains("collapsed"));
  });
  document.addEventListener("keydown", function (ev) {
    if (!state.id || !ev.altKey || ev.ctrlKey || ev.metaKey || ev.isComposing) return;
    var p = panel();
    if (!p || p.classList.contains("collapsed")) return;
    var m = /^(?:Digit|Numpad)([1-9])$/.exec(ev.code || "");
    if (!m) return;
    var i = Number(m[1]) - 1;
    if (!state.items[i]) return;
    ev.preventDefault();
    insert(i);
  });
  document.addEventListener("htmx:afterSwap", function () { init(); });
  document.addEventListener("DOMContentLoaded", init);
  if (document.readyState !== "loading") init();
  setInterval(report, REPORT_MS);
  window.addEventListener("pagehide", report);
})();

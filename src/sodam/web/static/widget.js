/*! Sodam (소담) chat widget — AGPL-3.0-or-later
 *
 * Embed with one tag:
 *   <script src="https://sodam.example.com/static/widget.js" data-sodam-inbox="TOKEN" async></script>
 *
 * No framework, no build step, no third-party requests. The server's base URL
 * comes from this script's src. Drawn in a Shadow DOM (host CSS cannot leak in);
 * message text is hostile input, only ever set with textContent.
 *
 * Delivery rules (see DESIGN.md, "The message path"):
 *  - every message gets a client_id that is kept across retries; unacked
 *    messages live in a localStorage outbox and are resent after a reconnect,
 *    so the server (idempotent by client_id) never stores one twice;
 *  - a reconnect asks for everything after the last seen seq, so nothing sent
 *    while we were away is lost; messages are de-duplicated by id.
 */
(function () {
  'use strict';

  const script = document.currentScript || document.querySelector('script[data-sodam-inbox]');
  const inbox = script && script.dataset.sodamInbox;
  if (!inbox) return;
  // The same snippet pasted twice must not draw two launchers.
  const registry = (window.__sodamWidgets = window.__sodamWidgets || {});
  if (registry[inbox]) return;
  registry[inbox] = true;

  // "{base}/static/widget.js" -> "{base}" (also works when Sodam lives under a path prefix).
  const base = (script.dataset.sodamBase || new URL('..', script.src).href).replace(/\/+$/, '');
  const apiBase = `${base}/widget/v1/${encodeURIComponent(inbox)}`;
  const STORE_KEY = `sodam:${inbox}`;
  const ACK_TIMEOUT_MS = 10000;
  const PING_EVERY_MS = 20000;
  const STALE_AFTER_MS = 45000;
  const FALLBACK_POLL_MS = 8000;

  // ---- state -------------------------------------------------------------
  const saved = load();
  const S = {
    config: null,
    visitor: saved.visitor || null, // signed visitor token (proves who we are; no cookies)
    contactId: null,
    conversationId: saved.conversationId || null,
    lastSeq: 0, // highest seq seen in this page of the current conversation
    outbox: Array.isArray(saved.outbox) ? saved.outbox : [], // [{client_id, content, at}]
    open: !!saved.open,
    ws: null,
    connecting: false, // fetching a socket ticket
    ready: false, // the socket said hello
    attempt: 0, // reconnect attempts since the last hello (backoff exponent)
    failedSockets: 0, // sockets that closed before their hello: then HTTP is the fallback
    retryTimer: null,
    pingTimer: null,
    lastFrameAt: 0,
    sessionPromise: null,
    unread: 0,
    nodes: new Map(), // message id -> <li>
    pending: new Map(), // client_id -> {li, timer}
    status: null, // the current conversation's status (open, resolved, …)
    handoffSeq: 0, // seq of the bot's latest handoff message in the current conversation
    agentSeq: 0, // seq of the latest agent message in the current conversation
    queueTimer: null,
    readSeq: 0, // an agent has read the current conversation up to this seq ("읽음")
    member: null, // Sodam("boot", {memberId, …, hash}) from the host page (never stored)
    visitId: null, // this tab's visit (sessionStorage): the pages it reports
    lastPage: null,
  };
  const QUEUE_POLL_MS = 20000;

  function load() {
    try {
      return JSON.parse(localStorage.getItem(STORE_KEY)) || {};
    } catch (e) {
      return {}; // storage blocked (private mode, sandboxed iframe): still chat, just forget on reload
    }
  }

  function persist() {
    try {
      localStorage.setItem(
        STORE_KEY,
        JSON.stringify({ visitor: S.visitor, conversationId: S.conversationId, outbox: S.outbox, open: S.open })
      );
    } catch (e) {
      /* see load() */
    }
  }

  function uuid() {
    const c = window.crypto;
    if (c && typeof c.randomUUID === 'function') return c.randomUUID(); // secure contexts only
    const b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40; // RFC 4122 version 4
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // Python's len() counts code points; so must we (a UTF-16 .length would count emoji twice).
  const charCount = (text) => Array.from(text).length;

  // ---- HTTP --------------------------------------------------------------
  async function api(path, { method = 'GET', body, visitor, retried = false } = {}) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (visitor) headers['X-Sodam-Visitor'] = visitor;
    const res = await fetch(apiBase + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit', // the visitor token is our only credential
    });
    const data = await res.json().catch(() => ({}));
    const code = data.error && data.error.code;
    if (res.status === 401 && visitor && visitor === S.visitor) {
      if (code === 'visitor_token_expired' && !retried) {
        // Tokens are short-lived: POST /session renews it (same visitor, same history).
        S.ready = false;
        await startSession({});
        return api(path, { method, body, visitor: S.visitor, retried: true });
      }
      // The token no longer proves anything (e.g. the server's key changed): start a new visitor.
      S.visitor = null;
      persist();
    }
    if (!res.ok) {
      const err = new Error((data.error && data.error.message) || `HTTP ${res.status}`);
      err.status = res.status;
      err.code = code;
      err.details = (data.error && data.error.details) || {};
      throw err;
    }
    return data;
  }

  // ---- DOM ---------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v == null) continue;
      if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : v);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function icon(d, size, cls) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', size);
    svg.setAttribute('height', size);
    svg.setAttribute('aria-hidden', 'true');
    if (cls) svg.setAttribute('class', cls);
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('fill-rule', 'evenodd');
    path.setAttribute('d', d);
    svg.append(path);
    return svg;
  }
  const clipIcon = () => icon('M16.5 6v11.5c0 2.21-1.79 4-4 4s-4-1.79-4-4V5c0-1.38 1.12-2.5 2.5-2.5s2.5 1.12 2.5 2.5v10.5c0 .55-.45 1-1 1s-1-.45-1-1V6H10v9.5c0 1.38 1.12 2.5 2.5 2.5s2.5-1.12 2.5-2.5V5c0-2.21-1.79-4-4-4S7 2.79 7 5v12.5c0 3.04 2.46 5.5 5.5 5.5s5.5-2.46 5.5-5.5V6h-1.5z', '20');
  const chatIcon = () =>
    icon('M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.6 3.4 6.1L4.6 21l4.1-2.3c1 .2 2.1.3 3.3.3 5.5 0 10-3.6 10-8s-4.5-8-10-8z', '28');
  // A small robot head: bot bubbles are told apart from people at a glance.
  const botIcon = () =>
    icon('M11 2h2v3h4a3 3 0 0 1 3 3v9a3 3 0 0 1-3 3H7a3 3 0 0 1-3-3V8a3 3 0 0 1 3-3h4zM9 10.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm6 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z', '14', 'bot-icon');

  // Readable text on the inbox colour: dark text on light colours, white otherwise.
  function onColor(hex) {
    const m = /^#?([0-9a-f]{6})$/i.exec(hex) || [];
    if (!m[1]) return '#fff';
    const n = parseInt(m[1], 16);
    const lum = (0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
    return lum > 0.62 ? '#1f2328' : '#fff';
  }

  const CSS = `
    :host { all: initial; }
    * { box-sizing: border-box; }
    [hidden] { display: none !important; }
    .root { font: 14px/1.45 -apple-system, BlinkMacSystemFont, "Apple SD Gothic Neo", "Malgun Gothic",
      "Noto Sans KR", "Segoe UI", Roboto, sans-serif; color: #1f2328;
      word-break: keep-all; overflow-wrap: break-word; }
    button, input, textarea { font: inherit; color: inherit; }
    .launcher { position: fixed; bottom: 20px; right: 20px; z-index: 2147483646; width: 56px; height: 56px;
      border: 0; border-radius: 50%; background: var(--c); color: var(--on-c); cursor: pointer;
      display: flex; align-items: center; justify-content: center; box-shadow: 0 4px 16px rgba(0,0,0,.25); }
    .left .launcher { right: auto; left: 20px; }
    .launcher:focus-visible, .close:focus-visible, .send:focus-visible { outline: 3px solid #91a7ff; outline-offset: 2px; }
    .badge { position: absolute; top: -2px; right: -2px; min-width: 20px; height: 20px; padding: 0 5px;
      border-radius: 10px; background: #e03131; color: #fff; font-size: 12px; line-height: 20px; text-align: center; }
    .panel { position: fixed; bottom: 88px; right: 20px; z-index: 2147483647; width: 370px;
      height: min(600px, calc(100vh - 108px)); display: flex; flex-direction: column; background: #fff;
      border-radius: 16px; overflow: hidden; box-shadow: 0 8px 32px rgba(0,0,0,.22); }
    .left .panel { right: auto; left: 20px; }
    header { display: flex; align-items: flex-start; gap: 8px; padding: 16px; background: var(--c); color: var(--on-c); }
    .titles { flex: 1; min-width: 0; }
    .company { display: block; font-size: 16px; font-weight: 700; overflow-wrap: anywhere; }
    .reply-time { display: block; font-size: 12px; opacity: .85; }
    .cb { border: 1px solid; border-radius: 8px; background: none; color: inherit; font: inherit; font-size: 12px; padding: 4px 8px; cursor: pointer; }
    .close { border: 0; background: transparent; color: inherit; font-size: 24px; line-height: 1; cursor: pointer;
      width: 32px; height: 32px; border-radius: 8px; }
    .status { padding: 4px 12px; font-size: 12px; background: #fff3bf; color: #5c4500; text-align: center; }
    .body { flex: 1; min-height: 0; display: flex; flex-direction: column; background: #f5f6f8; }
    .messages { flex: 1; overflow-y: auto; margin: 0; padding: 12px; list-style: none;
      display: flex; flex-direction: column; gap: 6px; }
    .msg { max-width: 82%; display: flex; flex-direction: column; align-items: flex-start; }
    .msg-body { padding: 8px 12px; border-radius: 14px; white-space: pre-wrap; overflow-wrap: anywhere;
      background: #fff; border: 1px solid #e3e5e8; border-bottom-left-radius: 4px; }
    .sender { font-size: 12px; color: #495057; margin: 0 4px 2px; }
    .meta { font-size: 11px; color: #6b7280; margin: 2px 4px 0; }
    .mine { align-self: flex-end; align-items: flex-end; }
    .mine .msg-body { background: var(--c); color: var(--on-c); border: 0; border-radius: 14px 14px 4px 14px; }
    .mine[data-status="sending"] .msg-body { opacity: .7; }
    .mine[data-status="failed"] .meta, .mine[data-status="rejected"] .meta { color: #c92a2a; }
    .bot .msg-body { background: #eef2ff; border: 1px dashed var(--c); }
    .bot .sender { display: flex; align-items: center; gap: 4px; }
    .bot-icon { color: var(--c); }
    .card { margin-top: 4px; padding: 8px 12px; border-radius: 10px; background: #fff; border: 1px solid #e3e5e8;
      display: flex; flex-direction: column; gap: 2px; }
    .card strong { overflow-wrap: anywhere; }
    .card a { color: #1c47c4; font-size: 13px; font-weight: 600; }
    .quick-replies { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
    .quick-replies button { border: 1px solid var(--c); border-radius: 16px; padding: 5px 12px; background: #fff;
      color: #1f2328; cursor: pointer; text-align: left; }
    .quick-replies button:disabled { cursor: default; opacity: .5; }
    .quick-replies button.chosen { opacity: 1; background: var(--c); color: var(--on-c); }
    .quick-replies button:focus-visible, .card a:focus-visible { outline: 3px solid #91a7ff; outline-offset: 2px; }
    .banner { padding: 8px 12px; font-size: 13px; background: #fff4e6; color: #7c2d12; border-bottom: 1px solid #ffd8a8; white-space: pre-wrap; word-break: break-word; }
    .banner.sev-critical, .banner.sev-major { background: #fff5f5; color: #8a1c1c; border-bottom-color: #ffc9c9; }
    .banner.sev-info { background: #e7f5ff; color: #1c3d5a; border-bottom-color: #a5d8ff; }
    .banner + .banner { border-top: 0; }
    .waiting { padding: 6px 12px; font-size: 12px; background: #e7f5ff; color: #1c3d5a; text-align: center; }
    .typing { padding: 2px 16px 6px; font-size: 12px; color: #6b7280; }
    .notice { padding: 6px 12px; font-size: 12px; background: #f1f3f5; color: #495057; text-align: center; }
    .system { align-self: center; max-width: 100%; }
    .system .msg-body { background: transparent; border: 0; color: #6b7280; font-size: 12px; padding: 2px 8px; }
    .greeting .msg-body { background: #fff; }
    form.prechat { padding: 16px; display: flex; flex-direction: column; gap: 10px; overflow-y: auto; }
    label { display: flex; flex-direction: column; gap: 4px; font-size: 13px; }
    input, textarea { border: 1px solid #ced4da; border-radius: 8px; padding: 8px 10px; background: #fff; width: 100%; }
    input:focus, textarea:focus { outline: 2px solid var(--c); outline-offset: -1px; }
    .primary, .send { border: 0; border-radius: 8px; padding: 8px 14px; background: var(--c); color: var(--on-c);
      cursor: pointer; font-weight: 600; }
    .composer { border-top: 1px solid #e3e5e8; padding: 8px; background: #fff; }
    .row { display: flex; gap: 8px; align-items: flex-end; }
    .msg-body:empty { display: none; }
    .sender { display: inline-flex; align-items: center; gap: 6px; }
    .avatar { width: 22px; height: 22px; border-radius: 50%; object-fit: cover; flex: none; }
    .avatar-initial { display: inline-flex; align-items: center; justify-content: center; background: var(--c); color: var(--on-c);
      font-size: 12px; font-weight: 700; }
    .avatar-initial::before { content: attr(data-initial); }
    .files { display: flex; flex-direction: column; align-items: flex-start; gap: 4px; margin-top: 2px; }
    .doc-icon { color: #6b7280; flex: none; }
    .mine .files { align-items: flex-end; }
    .file-image { display: block; max-width: 220px; max-height: 220px; min-width: 40px; min-height: 40px; border-radius: 12px;
      border: 1px solid #e3e5e8; background: #f1f3f5; padding: 0; cursor: pointer; overflow: hidden; }
    .file-image img { display: block; max-width: 220px; max-height: 220px; }
    .file-card { display: flex; align-items: center; gap: 8px; max-width: 240px; padding: 8px 12px; border-radius: 12px;
      background: #fff; border: 1px solid #e3e5e8; font: inherit; font-size: 13px; cursor: pointer; text-align: left; color: #1f2328; }
    .file-card .file-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; font-weight: 600; }
    .file-card .file-size { color: #6b7280; white-space: nowrap; }
    .attach { border: 0; background: transparent; color: #6b7280; padding: 8px 4px; cursor: pointer; border-radius: 8px; line-height: 0; }
    .attach:hover { color: var(--c); }
    .attach:focus-visible { outline: 3px solid #91a7ff; outline-offset: 2px; }
    .panel.dropping { outline: 3px dashed var(--c); outline-offset: -6px; }
    textarea { flex: 1; resize: none; max-height: 120px; min-height: 40px; }
    .error { margin: 6px 2px 0; color: #c92a2a; font-size: 12px; }
    .footer { padding: 2px 10px 6px; font-size: 11px; text-align: center; background: #fff; }
    .footer a { color: #868e96; }
    @media (max-width: 480px) {
      .panel, .left .panel { inset: 0; width: 100%; height: 100%; border-radius: 0; }
    }
  `;

  let ui = null;

  function build(config) {
    const t = config.strings;
    const host = document.createElement('sodam-widget'); // a custom tag: page rules like "div {…}" miss it
    host.id = 'sodam-widget';
    const shadow = host.attachShadow({ mode: 'open' });
    const color = /^#[0-9a-f]{3,8}$/i.test(config.color || '') ? config.color : '#3b5bdb';

    const badge = el('span', { class: 'badge', hidden: true, 'aria-hidden': 'true' });
    const launcher = el(
      'button',
      { id: 'sodam-launcher', class: 'launcher', type: 'button', 'aria-label': t.open, 'aria-expanded': 'false' },
      chatIcon(),
      badge
    );
    const status = el('div', { id: 'sodam-status', class: 'status', role: 'status', hidden: true, text: t.connecting });
    const waiting = el('div', { id: 'sodam-waiting', class: 'waiting', role: 'status', hidden: true });
    // Incident announcements and banner campaigns (GET /banner; a "banner" frame says: fetch again).
    const banners = el('div', { id: 'sodam-banners', class: 'banners', role: 'status', 'aria-live': 'polite' });
    const notice = el('div', { id: 'sodam-resolved', class: 'notice', role: 'status', hidden: true, text: t.resolved });
    const typing = el('div', { id: 'sodam-typing', class: 'typing', 'aria-live': 'polite', hidden: true, text: t.typing });
    const messages = el(
      'ol',
      { id: 'sodam-messages', class: 'messages', 'aria-live': 'polite' },
      el('li', { class: 'msg greeting' }, el('div', { class: 'msg-body', text: t.greeting }))
    );
    const prechatError = el('p', { class: 'error', role: 'alert', hidden: true });
    const prechat = el(
      'form',
      { id: 'sodam-prechat', class: 'prechat', hidden: true, onsubmit: onPrechat },
      el('p', { text: t.prechat_intro }),
      el('label', {}, t.name, el('input', { name: 'name', required: true, autocomplete: 'name', maxlength: '200' })),
      el('label', {}, t.email, el('input', { name: 'email', type: 'email', required: true, autocomplete: 'email' })),
      prechatError,
      el('button', { type: 'submit', class: 'primary', text: t.start })
    );
    const input = el('textarea', { id: 'sodam-input', rows: '1', placeholder: t.placeholder, 'aria-label': t.placeholder });
    const error = el('p', { id: 'sodam-error', class: 'error', role: 'alert', hidden: true });
    // Files: the 📎 button, drag and drop onto the panel, or paste into the text box.
    const fileInput = el('input', { id: 'sodam-file', type: 'file', multiple: true, hidden: true });
    fileInput.addEventListener('change', () => {
      sendFiles(fileInput.files);
      fileInput.value = '';
    });
    const composer = el(
      'form',
      { id: 'sodam-composer', class: 'composer', onsubmit: onSubmit },
      el(
        'div',
        { class: 'row' },
        el('button', { id: 'sodam-attach', class: 'attach', type: 'button', 'aria-label': t.attach, title: t.attach, onclick: () => fileInput.click() }, clipIcon()),
        input,
        el('button', { id: 'sodam-send', class: 'send', type: 'submit', text: t.send })
      ),
      fileInput,
      error
    );
    const panel = el(
      'div',
      { id: 'sodam-panel', class: 'panel', role: 'dialog', 'aria-label': config.inbox.company_name, hidden: true, lang: config.locale },
      el(
        'header',
        {},
        el(
          'div',
          { class: 'titles' },
          el('strong', { id: 'sodam-company', class: 'company', text: config.inbox.company_name }),
          el('span', { id: 'sodam-reply-time', class: 'reply-time', text: t.reply_time })
        ),
        el('button', { id: 'sodam-ask', class: 'cb', type: 'button', text: t.ask,
          onclick: () => lazy('__sodamStatus', 'widget-status.js').then((m) => m.ask(), () => showError(t.failed)) }),
        config.callback
          ? el('button', { id: 'sodam-callback', class: 'cb', type: 'button', text: t.callback,
              onclick: () => lazy('__sodamCallback', 'widget-callback.js').then((m) => m.open(), () => showError(t.failed)) })
          : null,
        config.calls
          ? el('button', { id: 'sodam-call', class: 'cb', type: 'button', text: config.calls.label,
              onclick: () => callMod().then((m) => m.open(), () => showError(t.failed)) })
          : null,
        el('button', { class: 'close', type: 'button', 'aria-label': t.close, text: '×', onclick: () => setOpen(false) })
      ),
      status,
      banners,
      waiting,
      el('div', { class: 'body' }, prechat, messages),
      typing,
      notice,
      composer,
      // Only an https/http link the server built: never a javascript: URL.
      /^https?:\/\//.test(config.privacy_url || '')
        ? el('div', { class: 'footer' },
            el('a', { id: 'sodam-privacy', href: config.privacy_url, target: '_blank', rel: 'noopener', text: t.privacy }))
        : null
    );
    const root = el('div', { class: config.position === 'left' ? 'root left' : 'root', lang: config.locale }, launcher, panel);
    root.style.setProperty('--c', color);
    root.style.setProperty('--on-c', onColor(color));
    shadow.append(el('style', { text: CSS }), root);

    launcher.addEventListener('click', () => setOpen(!S.open));
    panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') setOpen(false);
    });
    input.addEventListener('keydown', (e) => {
      // Enter sends, Shift+Enter breaks the line. Never while an IME is composing
      // Hangul: that Enter only commits the syllable.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        composer.requestSubmit ? composer.requestSubmit() : onSubmit(e);
      }
    });
    input.addEventListener('input', () => {
      input.style.height = 'auto';
      input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
      if (!error.hidden && charCount(input.value) <= config.max_chars) error.hidden = true;
      typingInput(input.value);
    });
    input.addEventListener('paste', (e) => {
      const files = e.clipboardData && e.clipboardData.files;
      if (files && files.length) {
        e.preventDefault();
        sendFiles(files);
      }
    });
    const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files');
    panel.addEventListener('dragover', (e) => {
      if (!hasFiles(e) || composer.hidden) return;
      e.preventDefault();
      panel.classList.add('dropping');
    });
    panel.addEventListener('dragleave', (e) => {
      if (!panel.contains(e.relatedTarget)) panel.classList.remove('dropping');
    });
    panel.addEventListener('drop', (e) => {
      panel.classList.remove('dropping');
      if (!hasFiles(e) || composer.hidden) return;
      e.preventDefault();
      sendFiles(e.dataTransfer.files);
    });
    document.body.append(host);
    return { t, launcher, badge, panel, status, banners, waiting, notice, typing, messages, prechat, prechatError, composer, input, error };
  }

  // ---- open / close, session ---------------------------------------------
  function setOpen(open) {
    S.open = open;
    persist();
    ui.panel.hidden = !open;
    ui.launcher.setAttribute('aria-expanded', String(open));
    if (!open) return;
    reportSeen();
    S.unread = 0;
    ui.badge.hidden = true;
    // Create the visitor only when someone actually opens the chat: page views are not contacts.
    if (!S.visitor && S.config.prechat_form) {
      showPrechat(true);
      ui.prechat.querySelector('input').focus();
      return;
    }
    ensureSession().catch(() => scheduleReconnect());
    scrollToEnd(true);
    ui.input.focus();
  }

  function showPrechat(show) {
    ui.prechat.hidden = !show;
    ui.messages.hidden = show;
    ui.composer.hidden = show;
  }

  async function onPrechat(e) {
    e.preventDefault();
    const form = ui.prechat;
    const name = form.elements.name.value.trim();
    const email = form.elements.email.value.trim();
    ui.prechatError.hidden = true;
    try {
      await startSession({ name, email });
    } catch (err) {
      ui.prechatError.textContent = err.status === 422 ? ui.t.rejected : ui.t.failed;
      ui.prechatError.hidden = false;
      return;
    }
    showPrechat(false);
    ui.input.focus();
  }

  // POST /session: resumes the stored visitor (the server checks the signature)
  // or starts a new one. One call in flight at a time.
  function ensureSession() {
    if (S.ws || S.ready) return Promise.resolve();
    return startSession({});
  }

  function startSession(fields) {
    if (S.sessionPromise) return S.sessionPromise;
    const body = { locale: navigator.language || undefined, ...fields };
    if (S.visitor) body.visitor_token = S.visitor;
    if (S.member) body.member = S.member;
    S.sessionPromise = api('/session', { method: 'POST', body })
      .then((data) => {
        if (data.contact_id !== S.contactId) S.lastSeq = 0; // a new visitor: nothing of theirs seen yet
        if (S.contactId != null && data.contact_id !== S.contactId && ui) {
          // Another person now (a member signed in or out): their history, not the last one's.
          for (const node of Array.from(ui.messages.querySelectorAll('.msg[data-id]'))) node.remove();
          S.nodes.clear();
          S.conversationId = null;
        }
        S.contactId = data.contact_id;
        S.visitor = data.visitor_token;
        if (data.conversation_id !== S.conversationId) {
          S.conversationId = data.conversation_id;
          S.lastSeq = 0;
        }
        persist();
        connect();
        reportPage(true);
        fetchBanner();
      })
      .finally(() => {
        S.sessionPromise = null;
      });
    return S.sessionPromise;
  }

  // ---- socket --------------------------------------------------------------
  // The socket opens with a one-use ticket fetched over HTTP: the visitor token stays in a
  // header, never in a URL (URLs end up in server and proxy logs).
  async function connect() {
    if (S.ws || S.connecting || !S.visitor) return;
    clearTimeout(S.retryTimer);
    S.retryTimer = null;
    S.connecting = true;
    let ticket;
    try {
      ticket = (await api('/socket-ticket', { method: 'POST', visitor: S.visitor })).ticket;
    } catch (e) {
      S.connecting = false;
      if (!S.visitor) ensureSession().catch(() => scheduleReconnect());
      else scheduleReconnect();
      return;
    }
    S.connecting = false;
    if (S.ws) return;
    const q = new URLSearchParams({ ticket, after_seq: String(S.lastSeq) });
    if (S.conversationId) q.set('conversation_id', String(S.conversationId));
    let ws;
    try {
      ws = new WebSocket(`${apiBase.replace(/^http/, 'ws')}/ws?${q}`);
    } catch (e) {
      S.failedSockets++;
      scheduleReconnect();
      return;
    }
    S.ws = ws;
    ws.onmessage = (e) => {
      S.lastFrameAt = Date.now();
      let data;
      try {
        data = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      // One frame, or an array of frames the server sent together.
      for (const frame of Array.isArray(data) ? data : [data]) {
        if (frame && typeof frame === "object") onFrame(frame);
      }
    };
    ws.onclose = () => {
      if (S.ws !== ws) return;
      // Closed before hello: blocked by a proxy or firewall, or refused. Counts toward HTTP fallback.
      if (!S.ready) S.failedSockets++;
      dropSocket();
    };
  }

  // Forget the socket (closed, or silently dead) and come back later.
  function dropSocket() {
    const ws = S.ws;
    S.ws = null;
    S.ready = false;
    clearInterval(S.pingTimer);
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = null;
      try {
        ws.close();
      } catch (e) {
        /* already closed */
      }
    }
    setConnected(false);
    scheduleReconnect();
  }

  // Exponential backoff with jitter, so a restarted server is not hit by every
  // visitor at the same instant.
  function scheduleReconnect() {
    if (S.retryTimer) return;
    // While sockets fail we poll over HTTP on this same timer, so keep its ceiling low then.
    const max = S.failedSockets > 0 ? FALLBACK_POLL_MS : 30000;
    const ceiling = Math.min(max, 1000 * 2 ** Math.min(S.attempt, 5));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    S.attempt++;
    S.retryTimer = setTimeout(async () => {
      S.retryTimer = null;
      if (!S.visitor) {
        ensureSession().catch(() => scheduleReconnect());
        return;
      }
      // The socket cannot even be opened (proxy, firewall): deliver over HTTP meanwhile.
      if (S.failedSockets > 0) await httpSync();
      connect();
    }, delay);
  }

  window.addEventListener('online', () => {
    S.attempt = 0;
    if (!S.ws && S.visitor) connect();
  });

  function setConnected(ok) {
    if (ui) ui.status.hidden = ok;
  }

  function startHeartbeat() {
    clearInterval(S.pingTimer);
    S.pingTimer = setInterval(() => {
      if (!S.ws) return;
      // No frame (not even a pong) for a while: the connection is dead without knowing it.
      if (Date.now() - S.lastFrameAt > STALE_AFTER_MS) return dropSocket();
      S.ws.send(JSON.stringify({ type: 'ping' }));
    }, PING_EVERY_MS);
  }

  function onFrame(frame) {
    switch (frame.type) {
      case 'hello':
        S.ready = true;
        S.attempt = 0;
        S.failedSockets = 0;
        setConnected(true);
        startHeartbeat();
        if (frame.conversation_id) adoptConversation(frame.conversation_id);
        if (frame.conversation_id === S.conversationId) S.status = frame.status || S.status;
        (frame.messages || []).forEach(receive);
        if (frame.conversation_id === S.conversationId) markRead(frame.read_seq || 0);
        updateBars();
        flushOutbox();
        break;
      case 'message':
        receive(frame.message);
        break;
      case 'ack':
        acked(frame.client_id, frame.message);
        break;
      case 'error':
        if (frame.error && frame.error.code === 'rate_limited') throttled(frame.client_id, frame.error.details);
        else rejected(frame.client_id, frame.error || {});
        break;
      case 'resync': // the server's bus reconnected: ask for what we may have missed
        httpFetchMissed();
        fetchBanner();
        break;
      case 'call': // a video or voice call (widget-call.js, loaded now)
        callMod().then((m) => m.frame(frame), () => {});
        break;
      case 'banner': // an announcement started or cleared, a banner campaign came or went
        fetchBanner();
        break;
      case 'typing': // an agent types a reply (never a note), or stopped
      case 'read': // an agent has read up to frame.seq
        if (frame.conversation_id !== S.conversationId) break;
        if (frame.type === 'read') markRead(frame.seq);
        else showTyping(frame.typing !== false);
        break;
      case 'queue': // the queue moved: our place may have changed
        if (frame.conversation_id === S.conversationId && ui && !ui.waiting.hidden) fetchQueue();
        break;
      case 'status': // resolved, reopened, assigned…
        if (frame.conversation_id === S.conversationId) {
          S.status = frame.status;
          updateBars(true);
        }
        break;
      default: // pong; co-browsing frames go to widget-cobrowse.js (loaded when an agent asks)
        if (/^cobrowse/.test(frame.type)) lazy('__sodamCobrowse', 'widget-cobrowse.js').then((m) => m.frame(frame), () => {});
        break;
    }
  }

  // ---- outbox ----------------------------------------------------------------
  function flushOutbox() {
    for (const item of S.outbox) transmit(item);
  }

  function transmit(item) {
    if (S.ws && S.ready) {
      const frame = { type: 'message', client_id: item.client_id, content: item.content };
      if (item.attachments && item.attachments.length) frame.attachments = item.attachments.map((a) => a.id);
      S.ws.send(JSON.stringify(frame));
      watchAck(item.client_id);
    } else if (S.visitor && S.failedSockets > 0) {
      queueHttpSend(item);
    } // else: it stays in the outbox and goes out after the next hello
  }

  // An ack that never comes means the socket died quietly: mark the message and
  // reconnect; the outbox resends it with the same client_id.
  function watchAck(clientId) {
    const p = S.pending.get(clientId);
    if (!p) return;
    clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      if (!S.pending.has(clientId)) return;
      setStatus(p.li, 'failed');
      if (S.ws) dropSocket();
    }, ACK_TIMEOUT_MS);
  }

  async function httpSend(item) {
    try {
      const message = await api('/messages', {
        method: 'POST',
        body: {
          client_id: item.client_id,
          content: item.content,
          ...(item.attachments && item.attachments.length ? { attachments: item.attachments.map((a) => a.id) } : {}),
        },
        visitor: S.visitor,
      });
      acked(item.client_id, message);
    } catch (err) {
      if (err.status === 429) {
        throttled(item.client_id, err.details);
      } else if (err.status && err.status >= 400 && err.status < 500 && err.status !== 401) {
        rejected(item.client_id, { code: err.code });
      } else {
        const p = S.pending.get(item.client_id);
        if (p) setStatus(p.li, 'failed');
      }
    }
  }

  // One HTTP send at a time, in order: parallel POSTs could be stored out of order.
  let httpChain = Promise.resolve();
  function queueHttpSend(item) {
    httpChain = httpChain.then(() => (S.outbox.some((m) => m.client_id === item.client_id) ? httpSend(item) : null));
    return httpChain;
  }

  async function httpSync() {
    for (const item of S.outbox) queueHttpSend(item);
    await httpChain;
    await httpFetchMissed();
  }

  async function httpFetchMissed() {
    if (!S.visitor) return;
    const q = new URLSearchParams({ after_seq: String(S.lastSeq) });
    if (S.conversationId) q.set('conversation_id', String(S.conversationId));
    try {
      const data = await api(`/messages?${q}`, { visitor: S.visitor });
      if (data.conversation_id) adoptConversation(data.conversation_id);
      if (data.conversation_id === S.conversationId && data.status) S.status = data.status;
      data.messages.forEach(receive);
      updateBars();
    } catch (e) {
      /* next reconnect tries again */
    }
  }

  function dropFromOutbox(clientId) {
    S.outbox = S.outbox.filter((m) => m.client_id !== clientId);
    persist();
  }

  // ---- messages ----------------------------------------------------------------
  function adoptConversation(id) {
    // A newer conversation (the old one was resolved and the visitor wrote again).
    if (S.conversationId == null || id > S.conversationId) {
      S.conversationId = id;
      S.lastSeq = 0;
      S.status = 'open';
      S.handoffSeq = S.agentSeq = S.readSeq = 0;
      persist();
      updateBars();
    }
  }

  function acked(clientId, message) {
    dropFromOutbox(clientId);
    if (message) receive(message);
  }

  // Over the rate limit: not stored, so it stays in the outbox and goes again (same
  // client_id) once the server's retry_after has passed.
  function throttled(clientId, details) {
    const p = clientId && S.pending.get(clientId);
    if (!p) return;
    clearTimeout(p.timer);
    setStatus(p.li, 'failed');
    const seconds = Math.max(1, Math.ceil(Number((details || {}).retry_after) || 1));
    showError(ui.t.rate_limited.replace('{seconds}', String(seconds)));
    setTimeout(() => {
      const item = S.outbox.find((m) => m.client_id === clientId);
      if (item) {
        ui.error.hidden = true;
        setStatus(p.li, 'sending');
        transmit(item);
      }
    }, seconds * 1000);
  }

  function rejected(clientId, error) {
    if (!clientId) return; // a frame-level error with nothing of ours to mark
    dropFromOutbox(clientId); // the server said no: resending would only be refused again
    const p = S.pending.get(clientId);
    if (!p) return;
    clearTimeout(p.timer);
    S.pending.delete(clientId);
    setStatus(p.li, 'rejected');
    showError(error.code === 'message_too_long' ? tooLong() : ui.t.rejected);
  }

  function receive(m) {
    if (!m || m.id == null) return;
    if (m.conversation_id === S.conversationId || S.conversationId == null) {
      adoptConversation(m.conversation_id);
      S.lastSeq = Math.max(S.lastSeq, m.seq);
    } else if (m.conversation_id > S.conversationId) {
      adoptConversation(m.conversation_id);
      S.lastSeq = m.seq;
    }
    if (S.nodes.has(m.id)) return; // de-duplicate: hello, live frame, ack and HTTP may all carry it
    const p = m.client_id && S.pending.get(m.client_id);
    let li;
    if (p) {
      // Our own message came back: the "sending" bubble becomes the stored one.
      clearTimeout(p.timer);
      S.pending.delete(m.client_id);
      li = p.li;
      li.remove();
      dropFromOutbox(m.client_id);
    } else {
      li = bubble(m);
      if (m.sender_type !== 'contact' && !S.open) {
        S.unread++;
        ui.badge.textContent = String(S.unread);
        ui.badge.hidden = false;
      }
    }
    if (m.sender_type !== 'contact' && m.payload && m.payload.campaign) {
      S.seenTodo.messages.add(m.id);
      reportSeen();
    }
    li.dataset.id = String(m.id);
    li.dataset.seq = String(m.seq);
    li.dataset.conversation = String(m.conversation_id);
    if (m.sender_type === 'contact') setStatus(li, m.conversation_id === S.conversationId && m.seq <= S.readSeq ? 'read' : 'sent', m.created_at);
    if (m.sender_type === 'agent') showTyping(false);
    S.nodes.set(m.id, li);
    // Measured before the new bubble (and perhaps the waiting bar) takes room.
    const stick = m.sender_type === 'contact' || nearEnd();
    place(li, m);
    if (m.sender_type === 'contact') {
      // The customer has moved on: earlier quick replies no longer apply.
      for (let n = li.previousElementSibling; n; n = n.previousElementSibling) disableReplies(n);
    }
    if (m.conversation_id === S.conversationId) {
      // The bot's handoff, or the first auto-reply of an inbox without the bot: waiting for a person.
      if (m.payload && (m.payload.handoff === true || m.payload.auto_reply === true)) S.handoffSeq = Math.max(S.handoffSeq, m.seq);
      if (m.sender_type === 'agent') S.agentSeq = Math.max(S.agentSeq, m.seq);
      updateBars();
    }
    scrollToEnd(stick);
  }

  // ---- bot extras: article card, quick replies, the waiting bar ----------------
  // Only http(s) links, resolved against the Sodam server (never javascript:, data:, …).
  function safeUrl(url) {
    try {
      const u = new URL(String(url), `${base}/`);
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function articleCard(article) {
    const href = article && safeUrl(article.url);
    if (!href) return null;
    return el(
      'div',
      { class: 'card' },
      article.title ? el('strong', { text: article.title }) : null,
      el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: ui.t.read_article })
    );
  }

  function quickReplies(list) {
    if (!Array.isArray(list) || !list.length) return null;
    const box = el('div', { class: 'quick-replies', role: 'group' });
    for (const q of list) {
      if (!q || typeof q.reply !== 'string' || !q.reply.trim()) continue;
      const button = el('button', { type: 'button', text: q.label || q.reply });
      button.addEventListener('click', () => {
        if (button.disabled) return;
        disableReplies(box);
        button.classList.add('chosen');
        button.setAttribute('aria-pressed', 'true');
        sendText(q.reply);
      });
      box.append(button);
    }
    return box.childElementCount ? box : null;
  }

  function disableReplies(node) {
    for (const b of node.querySelectorAll('.quick-replies button')) b.disabled = true;
  }

  // After a handoff, until a person answers: queue position and estimated wait if known.
  function updateBars(refresh) {
    if (!ui) return;
    const stick = nearEnd(); // a bar appearing must not hide the latest message
    ui.notice.hidden = S.status !== 'resolved';
    const waiting = S.status !== 'resolved' && S.handoffSeq > S.agentSeq;
    if (!waiting) {
      ui.waiting.hidden = true;
      clearInterval(S.queueTimer);
      S.queueTimer = null;
      scrollToEnd(stick);
      return;
    }
    if (ui.waiting.hidden) {
      ui.waiting.textContent = ui.t.handoff_waiting;
      ui.waiting.hidden = false;
    }
    scrollToEnd(stick);
    if (!S.queueTimer) {
      S.queueTimer = setInterval(fetchQueue, QUEUE_POLL_MS);
      refresh = true;
    }
    if (refresh) fetchQueue();
  }

  async function fetchQueue() {
    if (!S.visitor) return;
    try {
      const q = await api('/queue', { visitor: S.visitor });
      if (q.conversation_id !== S.conversationId || ui.waiting.hidden) return;
      let text = ui.t.handoff_waiting;
      if (q.position) {
        text = ui.t.queue_position.replace('{position}', String(q.position));
        const minutes = q.wait_seconds ? Math.max(1, Math.ceil(q.wait_seconds / 60)) : 0;
        // One promise: the same figure as the header and the bot's handoff message.
        if (minutes) text += ` · ${ui.t.queue_wait.replace('{minutes}', String(minutes))}`;
        else if (q.opens_at) text += ` · ${ui.t.reply_time}`;
      }
      ui.waiting.textContent = text;
    } catch (e) {
      /* keep the plain line */
    }
  }

  // Keep (conversation, seq) order; unconfirmed messages stay at the bottom.
  function place(li, m) {
    const key = (node) => [Number(node.dataset.conversation), Number(node.dataset.seq)];
    let before = null;
    for (const node of ui.messages.children) {
      if (node.dataset.status === 'sending' || node.dataset.status === 'failed') {
        before = before || node;
        break;
      }
      if (!node.dataset.id) continue;
      const [c, s] = key(node);
      if (c > m.conversation_id || (c === m.conversation_id && s > m.seq)) {
        before = node;
        break;
      }
    }
    ui.messages.insertBefore(li, before);
  }

  function bubble(m) {
    const kind =
      m.sender_type === 'contact' ? 'mine' : m.sender_type === 'bot' || m.kind === 'bot' ? 'bot' : m.sender_type === 'system' || m.kind === 'system' ? 'system' : 'agent';
    const sender =
      kind === 'agent'
        ? el('span', { class: 'sender' }, avatar(m), el('span', { class: 'sender-name', text: m.sender_name }))
        : kind === 'bot'
          ? el('span', { class: 'sender' }, botIcon(), m.sender_name || ui.t.bot)
          : null;
    const payload = (kind === 'bot' && m.payload) || {};
    const li = el(
      'li',
      { class: `msg ${kind}` },
      sender,
      el('div', { class: 'msg-body', text: m.content }), // textContent, always
      filesBox(m.payload && m.payload.attachments),
      articleCard(payload.article),
      quickReplies(payload.quick_replies),
      kind === 'system' && surveyBox(m.payload && m.payload.survey),
      kind === 'system' ? null : el('span', { class: 'meta', text: time(m.created_at) })
    );
    return li;
  }

  // The agent's public picture (served without credentials: customers see it anyway), else
  // the first letter of the public name.
  function avatar(m) {
    const id = typeof m.sender_avatar === 'string' && /^[A-Za-z0-9_-]{1,40}$/.test(m.sender_avatar) ? m.sender_avatar : null;
    if (id) return el('img', { class: 'avatar', alt: '', src: `${apiBase}/avatars/${id}` });
    // The letter comes from CSS (attr()): not part of the sender's text.
    return el('span', { class: 'avatar avatar-initial', 'aria-hidden': 'true', 'data-initial': Array.from(String(m.sender_name || '·'))[0] });
  }

  function pendingBubble(item) {
    const li = bubble({ sender_type: 'contact', content: item.content, payload: { attachments: item.attachments || [] } });
    S.pending.set(item.client_id, { li, timer: null });
    li.dataset.clientId = item.client_id;
    setStatus(li, 'sending');
    ui.messages.append(li);
    scrollToEnd(true);
  }

  function setStatus(li, status, createdAt) {
    li.dataset.status = status;
    const meta = li.querySelector('.meta');
    const label = { sending: ui.t.sending, sent: ui.t.sent, read: ui.t.read, failed: ui.t.failed, rejected: ui.t.rejected }[status];
    if (meta) meta.textContent = createdAt ? `${time(createdAt)} · ${label}` : label;
    if (createdAt) li.dataset.at = createdAt;
  }

  // "입력 중…" both ways, socket only (never stored): at most one frame per 2 s while typing,
  // "stopped" after 3 s without a key or on send; the indicator hides itself after 6 s.
  let typedAt = 0, typingStop, typingHide;
  function sendTyping(on) {
    if (S.ws && S.ready && S.conversationId) S.ws.send(JSON.stringify({ type: 'typing', conversation_id: S.conversationId, typing: on }));
  }
  function typingInput(value) {
    clearTimeout(typingStop);
    if (!value.trim()) return typingDone();
    if (Date.now() - typedAt > 2000) { typedAt = Date.now(); sendTyping(true); }
    typingStop = setTimeout(typingDone, 3000);
  }
  function typingDone() {
    clearTimeout(typingStop);
    if (typedAt) { typedAt = 0; sendTyping(false); }
  }
  function showTyping(on) {
    clearTimeout(typingHide);
    const stick = nearEnd();
    ui.typing.hidden = !on;
    if (on) typingHide = setTimeout(() => { ui.typing.hidden = true; }, 6000);
    scrollToEnd(stick);
  }
  // An agent has read up to `seq`: the visitor's messages up to it say "읽음".
  function markRead(seq) {
    if (!(seq > S.readSeq)) return;
    S.readSeq = seq;
    for (const li of ui.messages.querySelectorAll('li.mine[data-status="sent"]')) {
      if (+li.dataset.conversation === S.conversationId && +li.dataset.seq <= seq) setStatus(li, 'read', li.dataset.at);
    }
  }

  function time(iso) {
    if (!iso) return '';
    try {
      return new Intl.DateTimeFormat(S.config.locale, { hour: 'numeric', minute: '2-digit' }).format(new Date(iso));
    } catch (e) {
      return '';
    }
  }

  function nearEnd() {
    const list = ui.messages;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  function scrollToEnd(force) {
    if (force || nearEnd()) ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  const tooLong = () => ui.t.too_long.replace('{max}', String(S.config.max_chars));

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = false;
  }

  function onSubmit(e) {
    if (e && e.preventDefault) e.preventDefault();
    const content = ui.input.value;
    if (!content.trim()) return;
    // Refuse over-long text here, before it ever leaves the page.
    if (charCount(content) > S.config.max_chars) return showError(tooLong());
    ui.error.hidden = true;
    typingDone();
    ui.input.value = '';
    ui.input.style.height = '';
    sendText(content);
  }

  // Typed or a quick reply: the same outbox, client_id and delivery path.
  function sendText(content) {
    const item = { client_id: uuid(), content, at: Date.now() };
    S.outbox.push(item);
    persist(); // before sending: a reload right now must not lose it
    pendingBubble(item);
    if (!S.visitor) {
      ensureSession().catch(() => scheduleReconnect()); // the outbox goes out after hello
      return;
    }
    transmit(item);
  }

  // ---- lazy parts --------------------------------------------------------------------------
  // Loaded on first use only: widget-files.js (files), widget-survey.js (a survey card),
  // widget-callback.js (the 전화 예약 form), widget-call.js (video and voice calls),
  // widget-cobrowse.js (an agent asks to co-browse).
  const mods = {};
  function lazy(key, file) {
    if (!mods[key]) {
      mods[key] = new Promise((resolve, reject) => {
        const w = (window[key] = window[key] || { waiting: [] });
        const ctx = { S, ui, el, icon, api, apiBase, uuid, persist, pendingBubble, transmit, startSession, showError, scrollToEnd,
          setOpen, ensureSession, botIcon };
        if (w.factory) return resolve(w.factory(ctx));
        w.waiting.push((factory) => resolve(factory(ctx)));
        const tag = document.createElement('script');
        tag.src = `${base}/static/${file}`;
        tag.async = true;
        tag.onerror = () => {
          mods[key] = null;
          reject(new Error(`${file} did not load`));
        };
        document.head.append(tag);
      });
    }
    return mods[key];
  }
  const loadFiles = () => lazy('__sodamFiles', 'widget-files.js');
  const callMod = () => lazy('__sodamCall', 'widget-call.js');

  function surveyBox(s) {
    if (!s || !s.token) return null;
    const box = el('div', { class: 'survey' });
    lazy('__sodamSurvey', 'widget-survey.js')
      .then((m) => m.fill(box, s))
      .catch(() => {});
    return box;
  }

  function sendFiles(fileList) {
    const files = Array.from(fileList || []);
    if (!files.length || !ui) return;
    loadFiles()
      .then((m) => m.sendFiles(files))
      .catch(() => showError(ui.t.attach_failed));
  }

  function filesBox(list) {
    if (!Array.isArray(list) || !list.length) return null;
    const box = el('div', { class: 'files' });
    loadFiles()
      .then((m) => m.fill(box, list))
      .catch(() => {});
    return box;
  }

  // ---- the host page's API: Sodam("boot" | "shutdown" | "open" | "close", …) --------
  // The page may call it before this script has loaded, through the queue stub
  //   window.Sodam = window.Sodam || function () { (Sodam.q = Sodam.q || []).push(arguments); };
  function memberFrom(p) {
    if (!p || typeof p !== 'object') return null;
    const id = p.memberId != null ? String(p.memberId) : '';
    if (!id) return null;
    const str = (v) => (v == null ? undefined : String(v));
    return {
      member_id: id.slice(0, 200),
      name: str(p.name),
      email: str(p.email),
      phone: str(p.phone),
      attributes: p.attributes && typeof p.attributes === 'object' ? p.attributes : undefined,
      hash: str(p.hash),
    };
  }

  function command(name, params) {
    if (name === 'boot') {
      const member = memberFrom(params);
      const changed = JSON.stringify(member) !== JSON.stringify(S.member);
      S.member = member;
      // Booted after the widget started (a single-page app logging in): who we are changed.
      if (changed && S.config && (S.visitor || S.ws)) {
        dropSocket();
        // No reconnect with the old token: the new session connects as the right person.
        clearTimeout(S.retryTimer);
        S.retryTimer = null;
        S.ready = false;
        startSession({}).catch(() => scheduleReconnect());
      }
    } else if (name === 'shutdown') {
      // The member signed out: forget this browser's visitor (a new one starts next time).
      S.member = null;
      S.visitor = null;
      S.conversationId = null;
      S.outbox = [];
      persist();
      if (S.ws) dropSocket();
      if (ui) {
        for (const node of Array.from(ui.messages.querySelectorAll('.msg:not(.greeting)'))) node.remove();
        S.nodes.clear();
        S.lastSeq = 0;
      }
    } else if (name === 'open') {
      if (ui) setOpen(true);
      else S.open = true;
    } else if (name === 'close') {
      if (ui) setOpen(false);
      else S.open = false;
    }
  }
  const queued = (window.Sodam && Array.isArray(window.Sodam.q) && window.Sodam.q) || [];
  window.Sodam = function (name, params) {
    command(String(name), params);
  };
  for (const args of queued) command(String(args[0]), args[1]);

  // ---- where the visitor is: the page, its title, where they came from ---------------
  // Reported only for a visitor who has opened the chat (page views are not contacts), on
  // each page and on single-page-app navigations (history.pushState/replaceState, back).
  function visitId() {
    if (S.visitId) return S.visitId;
    try {
      S.visitId = sessionStorage.getItem(`${STORE_KEY}:visit`) || uuid();
      sessionStorage.setItem(`${STORE_KEY}:visit`, S.visitId);
    } catch (e) {
      S.visitId = S.visitId || uuid();
    }
    return S.visitId;
  }

  let pageTimer = null;
  function reportPage(now) {
    clearTimeout(pageTimer);
    pageTimer = setTimeout(() => {
      if (!S.visitor) return;
      const url = location.href;
      const key = `${url}\n${document.title}`;
      if (key === S.lastPage) return;
      S.lastPage = key;
      const referrer = document.referrer || '';
      api('/pages', {
        method: 'POST',
        body: { visit_id: visitId(), url: url.slice(0, 2000), title: (document.title || '').slice(0, 300), referrer: referrer.slice(0, 2000) },
        visitor: S.visitor,
      }).catch(() => {
        S.lastPage = null; // try again on the next navigation
      });
    }, now ? 0 : 400);
  }
  for (const method of ['pushState', 'replaceState']) {
    const original = history[method];
    if (typeof original !== 'function') continue;
    history[method] = function () {
      const result = original.apply(this, arguments);
      reportPage(false);
      return result;
    };
  }
  window.addEventListener('popstate', () => reportPage(false));
  window.addEventListener('hashchange', () => reportPage(false));

  // ---- banner (incidents, banner campaigns) and campaign "seen" ----------------------
  async function fetchBanner() {
    if (!ui) return;
    let data;
    try {
      const locale = encodeURIComponent(S.config.locale || navigator.language || '');
      data = await api(`/banner?locale=${locale}`, { visitor: S.visitor || undefined });
    } catch (e) {
      return; // keep what is shown; the next frame or reload tries again
    }
    const items = (data && data.items) || [];
    ui.banners.replaceChildren(
      ...items.map((item) =>
        el('div', {
          class: `banner sev-${/^[a-z]+$/.test(item.severity || '') ? item.severity : 'info'}`,
          'data-kind': item.kind,
          'data-id': String(item.id),
          text: item.text || '',
        })
      )
    );
    for (const item of items) if (item.kind === 'campaign') S.seenTodo.campaigns.add(item.id);
    reportSeen();
  }

  function reportSeen() {
    if (!S.open || !S.visitor || S.seenBusy) return;
    const messages = [...S.seenTodo.messages].slice(0, 50);
    const campaigns = [...S.seenTodo.campaigns].slice(0, 10);
    if (!messages.length && !campaigns.length) return;
    S.seenBusy = true;
    api('/campaigns/seen', { method: 'POST', body: { message_ids: messages, campaign_ids: campaigns }, visitor: S.visitor })
      .then(() => {
        messages.forEach((id) => S.seenTodo.messages.delete(id));
        campaigns.forEach((id) => S.seenTodo.campaigns.delete(id));
      }, () => {})
      .finally(() => { S.seenBusy = false; });
  }

  // ---- start ---------------------------------------------------------------------
  async function start() {
    let config;
    try {
      const locale = encodeURIComponent(navigator.language || '');
      config = await api(`/config?locale=${locale}`);
    } catch (e) {
      return; // unknown inbox or site not allowed: draw nothing rather than a broken launcher
    }
    S.config = config;
    S.seenTodo = { messages: new Set(), campaigns: new Set() };
    ui = build(config);
    fetchBanner();
    // Messages typed before a reload but never acknowledged: show them and resend.
    for (const item of S.outbox) pendingBubble(item);
    // A returning visitor (or one with unsent messages) reconnects at once, so replies arrive live.
    if (S.visitor || S.outbox.length) ensureSession().catch(() => scheduleReconnect());
    if (S.open) setOpen(true);
    if ((config.page_rules || []).length) lazy('__sodamPages', 'widget-pagehelp.js').then((m) => m.start(config.page_rules), () => {});
  }

  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();

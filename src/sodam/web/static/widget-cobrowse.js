/*! Sodam (소담) chat widget — co-browsing (화면 함께 보기) — AGPL-3.0-or-later
 *
 * Loaded by widget.js when an agent asks to see the customer's page. It asks the customer
 * first (a prompt in their language); nothing is recorded before they press 허용 / Allow.
 * Then it loads rrweb's recorder (vendor/rrweb-<version>.min.js) and sends the page's DOM
 * snapshot and mutations on the widget's own socket, in batches. Masking happens here, before
 * anything leaves the browser: password fields, [data-sodam-mask] and the workspace's selectors
 * (inputs and text); the widget itself is never recorded. Either side can stop at any time;
 * closing or leaving the page ends it. The agent can point: a ring shows on this page there.
 * Text only via textContent.
 */
(function () {
  'use strict';

  const ME = document.currentScript && document.currentScript.src;
  const BASE = ME ? new URL('..', ME).href.replace(/\/+$/, '') : '';
  const FLUSH_MS = 300;
  const FLUSH_CHARS = 200000;
  const MASKED = '******';
  const ALWAYS_MASKED = '[data-sodam-mask]';
  // Every kind of field goes through maskInput below, which decides what to hide.
  const INPUT_KINDS = ['color', 'date', 'datetime-local', 'email', 'month', 'number', 'range', 'search', 'tel',
    'text', 'time', 'url', 'week', 'textarea', 'select', 'password'];

  const CSS = `
    .co-ask { position: absolute; inset: 72px 0 0 0; background: #fff; padding: 20px 16px; display: flex; flex-direction: column; gap: 12px; z-index: 3; overflow-y: auto; }
    .co-ask h2 { margin: 0; font-size: 17px; }
    .co-ask p { margin: 0; color: #374151; font-size: 14px; line-height: 1.55; }
    .co-ask .row2 { display: flex; gap: 8px; margin-top: 4px; }
    .co-ask .go { flex: 1; font: inherit; font-weight: 600; border: 0; border-radius: 8px; padding: 11px; color: var(--on-c, #fff); background: var(--c, #3b5bdb); cursor: pointer; }
    .co-ask .no { flex: 1; font: inherit; border: 1px solid #d1d5db; border-radius: 8px; padding: 11px; background: #fff; color: #111827; cursor: pointer; }
    .co-bar { position: fixed; top: 10px; left: 8px; right: 8px; margin: 0 auto; width: fit-content; z-index: 2147483647; display: flex; align-items: center; gap: 10px;
      box-sizing: border-box; background: #1f2937; color: #fff; border-radius: 999px; padding: 8px 8px 8px 14px;
      font: 14px/1.3 system-ui, -apple-system, 'Apple SD Gothic Neo', 'Malgun Gothic', sans-serif; box-shadow: 0 4px 16px rgba(0,0,0,.25); }
    .co-bar .dot { width: 9px; height: 9px; border-radius: 50%; background: #ef4444; flex: none; animation: co-blink 1.4s infinite; }
    .co-bar button { font: inherit; font-weight: 600; border: 0; border-radius: 999px; padding: 6px 12px; background: #fff; color: #b91c1c; cursor: pointer; flex: none; }
    .co-note { position: absolute; left: 12px; right: 12px; bottom: 84px; z-index: 3; background: #f3f4f6; color: #374151; border-radius: 8px; padding: 10px 12px; font-size: 13px; }
    @keyframes co-blink { 50% { opacity: .35; } }
  `;

  let recorderLoad = null;
  function loadRecorder(file) {
    if (window.rrweb && window.rrweb.record) return Promise.resolve(window.rrweb);
    if (!recorderLoad) {
      recorderLoad = new Promise((resolve, reject) => {
        const tag = document.createElement('script');
        tag.src = `${BASE}/static/${file}`;
        tag.async = true;
        tag.onload = () => (window.rrweb && window.rrweb.record ? resolve(window.rrweb) : reject(new Error('no recorder')));
        tag.onerror = () => {
          recorderLoad = null;
          reject(new Error(`${file} did not load`));
        };
        document.head.append(tag);
      });
    }
    return recorderLoad;
  }

  // A selector the browser cannot parse would make rrweb's check fail *open* (unmasked):
  // refuse to share instead.
  function validSelector(sel) {
    try {
      document.createDocumentFragment().querySelector(sel);
      return true;
    } catch (e) {
      return false;
    }
  }

  function factory(ctx) {
    const { S, el, api } = ctx;
    let styled = false;
    let asking = null; // { sid, box }
    let live = null; // { sid, stop, buf, chars, timer, pausedUntil, bar, t }
    let info = {}; // sid -> GET /cobrowse/{sid} answer (strings, recorder, selectors)

    const shadow = () => ctx.ui && ctx.ui.panel && ctx.ui.panel.getRootNode();
    function style() {
      if (styled || !shadow()) return;
      shadow().append(el('style', { class: 'rr-block', text: CSS }));
      styled = true;
    }
    function send(frame) {
      if (S.ws && S.ready) S.ws.send(JSON.stringify(frame));
    }
    function note(text) {
      const panel = ctx.ui && ctx.ui.panel;
      if (!panel || !text) return;
      const n = el('div', { class: 'co-note', role: 'status', id: 'sodam-cobrowse-note', text });
      const old = panel.querySelector('#sodam-cobrowse-note');
      if (old) old.remove();
      panel.append(n);
      setTimeout(() => n.remove(), 6000);
    }

    async function ask(sid) {
      if ((asking && asking.sid === sid) || (live && live.sid === sid)) return;
      const lang = S.config && S.config.locale;
      const data = await api(`/cobrowse/${sid}?locale=${encodeURIComponent(lang || navigator.language || '')}`, { visitor: S.visitor });
      if (data.status !== 'requested') return;
      info[sid] = data;
      style();
      closeAsk();
      const t = data.strings;
      const answer = (accept) => {
        send({ type: accept ? 'cobrowse.accept' : 'cobrowse.decline', session_id: sid });
        closeAsk();
      };
      const box = el(
        'div',
        { class: 'co-ask', id: 'sodam-cobrowse-ask', role: 'alertdialog', 'aria-labelledby': 'sodam-cobrowse-title' },
        el('h2', { id: 'sodam-cobrowse-title', text: t.title }),
        el('p', { text: t.body }),
        el('div', { class: 'row2' },
          el('button', { type: 'button', class: 'no', id: 'sodam-cobrowse-decline', text: t.decline, onclick: () => answer(false) }),
          el('button', { type: 'button', class: 'go', id: 'sodam-cobrowse-allow', text: t.allow, onclick: () => answer(true) }))
      );
      if (!S.open) ctx.setOpen(true);
      ctx.ui.panel.append(box);
      asking = { sid, box };
      box.querySelector('#sodam-cobrowse-allow').focus();
    }

    function closeAsk() {
      if (asking) asking.box.remove();
      asking = null;
    }

    async function start(frame) {
      const sid = frame.session_id;
      const data = info[sid] || {};
      const t = data.strings || {};
      const extra = (frame.mask_selectors || []).filter((s) => typeof s === 'string' && s.trim());
      if (!extra.every(validSelector)) {
        send({ type: 'cobrowse.stop', session_id: sid, reason: 'bad_selector' });
        return note(t.failed);
      }
      const maskSel = [ALWAYS_MASKED, ...extra].join(', ');
      let rrweb;
      try {
        rrweb = await loadRecorder(data.recorder || 'vendor/rrweb.min.js');
      } catch (e) {
        send({ type: 'cobrowse.stop', session_id: sid, reason: 'recorder_failed' });
        return note(t.failed);
      }
      const masked = (node) => {
        if (!node || node.nodeType !== 1) return false;
        if ((node.type || '').toLowerCase() === 'password' || node.hasAttribute('data-rr-is-password')) return true;
        try {
          return !!node.closest(maskSel);
        } catch (e) {
          return true; // cannot tell: hide it
        }
      };
      // The widget is never recorded: its host is blocked, and so is everything directly in its
      // shadow root (rrweb follows open shadow roots, where the host's block does not reach).
      const root = shadow();
      if (root) for (const child of root.children) child.classList.add('rr-block');
      live = { sid, buf: [], chars: 0, timer: null, pausedUntil: 0, t, stop: null, bar: null };
      const session = live;
      const maskInputOptions = {};
      for (const k of INPUT_KINDS) maskInputOptions[k] = true;
      session.stop = rrweb.record({
        emit(event) {
          if (live !== session) return;
          queue(session, event);
        },
        maskInputOptions,
        maskInputFn: (text, node) => (masked(node) ? MASKED : text),
        maskTextSelector: maskSel,
        blockSelector: '#sodam-widget, sodam-widget, [data-sodam-block]',
        recordCanvas: false,
        collectFonts: false,
        inlineImages: false,
        sampling: { mousemove: 100, scroll: 150, input: 'last' },
      });
      showBar(session);
    }

    function queue(session, event) {
      if (Date.now() < session.pausedUntil) return; // over the limit: a full snapshot follows
      const text = JSON.stringify(event);
      session.buf.push(event);
      session.chars += text.length;
      if (event.type === 2 || session.chars > FLUSH_CHARS) return flush(session);
      if (!session.timer) session.timer = setTimeout(() => flush(session), FLUSH_MS);
    }

    function flush(session) {
      clearTimeout(session.timer);
      session.timer = null;
      if (!session.buf.length || live !== session) return;
      send({ type: 'cobrowse.events', session_id: session.sid, events: session.buf });
      session.buf = [];
      session.chars = 0;
    }

    function showBar(session) {
      const root = shadow();
      if (!root) return;
      style();
      const bar = el('div', { class: 'co-bar rr-block', id: 'sodam-cobrowse-bar', role: 'status' },
        el('span', { class: 'dot', 'aria-hidden': 'true' }),
        el('span', { text: session.t.sharing }),
        el('button', { type: 'button', id: 'sodam-cobrowse-stop', text: session.t.stop, onclick: () => {
          const sid = session.sid;
          teardown(session.t.ended); // stop recording first: nothing more leaves the page
          send({ type: 'cobrowse.stop', session_id: sid, reason: 'stopped' });
        } }));
      root.append(bar);
      session.bar = bar;
    }

    function teardown(message) {
      const session = live;
      if (!session) return;
      live = null;
      clearTimeout(session.timer);
      try {
        if (session.stop) session.stop();
      } catch (e) { /* already stopped */ }
      if (session.bar) session.bar.remove();
      const ring = document.getElementById('sodam-cobrowse-pointer');
      if (ring) ring.remove();
      note(message);
    }

    // The agent points here (document pixels): a ring for a few seconds, where the customer looks.
    function point(x, y) {
      let ring = document.getElementById('sodam-cobrowse-pointer');
      if (!ring) {
        ring = document.createElement('sodam-pointer');
        ring.id = 'sodam-cobrowse-pointer';
        ring.setAttribute('aria-hidden', 'true');
        ring.style.cssText = 'position:absolute;z-index:2147483646;width:36px;height:36px;margin:-18px 0 0 -18px;'
          + 'border:4px solid #f59f00;border-radius:50%;box-shadow:0 0 0 6px rgba(245,159,0,.3);pointer-events:none;'
          + 'display:block;box-sizing:border-box;transition:left .15s,top .15s;';
        document.body.append(ring);
      }
      ring.style.left = `${x}px`;
      ring.style.top = `${y}px`;
      clearTimeout(point.timer);
      point.timer = setTimeout(() => ring.remove(), 4000);
    }

    function frame(f) {
      const sid = f.session_id;
      switch (f.type) {
        case 'cobrowse':
          if (f.state === 'requested') return ask(sid).catch(() => {});
          if (asking && asking.sid === sid) closeAsk();
          if (live && live.sid === sid && f.state !== 'active') teardown(live.t.ended);
          break;
        case 'cobrowse.ready':
          return start(f);
        case 'cobrowse.snapshot':
          if (live && live.sid === sid && window.rrweb) window.rrweb.record.takeFullSnapshot(true);
          break;
        case 'cobrowse.pointer':
          if (live && live.sid === sid && Number.isFinite(f.x) && Number.isFinite(f.y)) point(f.x, f.y);
          break;
        case 'cobrowse.error': {
          const code = f.error && f.error.code;
          if (!live || live.sid !== sid) break;
          if (code === 'rate_limited') {
            const wait = Math.min(30, Number((f.error.details || {}).retry_after) || 1) * 1000;
            const session = live;
            session.pausedUntil = Date.now() + wait;
            session.buf = [];
            session.chars = 0;
            setTimeout(() => {
              if (live === session && window.rrweb) window.rrweb.record.takeFullSnapshot(true);
            }, wait + 50);
          } else if (code === 'cobrowse_batch_too_large' || code === 'cobrowse_not_active') {
            teardown(live.t.failed);
          }
          break;
        }
        default:
          break;
      }
      return undefined;
    }

    return { frame };
  }

  const w = (window.__sodamCobrowse = window.__sodamCobrowse || { waiting: [] });
  w.factory = factory;
  for (const resolve of w.waiting.splice(0)) resolve(factory);
})();

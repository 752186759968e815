/*! Sodam (소담) chat widget — page rules (도움말 제안) — AGPL-3.0-or-later
 *
 * Loaded by widget.js when the inbox has page rules (they come in GET /config). Decided here,
 * in the visitor's browser: the address (glob / prefix / contains / regex, matched like
 * sodam/pagehelp/patterns.py: a pattern starting with "/" sees the path, and the query only
 * when it holds a "?"), the time on this page, and exit intent —
 *   desktop (a fine pointer): the pointer leaves through the top of the window;
 *   touch screens: a fast scroll back up (40 % of the screen within 400 ms) after reading at
 *   least one screen down the page (the usual "heading for the address bar / back" gesture).
 * A rule that fires asks the server first (POST …/page-rules/{id}/events, kind "shown"): the
 * server keeps the frequency cap too and hands back the suggested articles. Then the widget
 * opens with the suggestion, or shows a small bubble by the launcher. At most one suggestion
 * per page view. The cap is also kept here (localStorage), so a capped rule costs no request.
 * Reports: shown, clicked_article, opened_chat (a chat opened after a suggestion, in this
 * browser within a day: it links the anonymous visitor key to the contact). Text only via
 * textContent; links only http(s).
 */
(function () {
  'use strict';

  const CSS = `
    .ph-bubble { position: fixed; bottom: 88px; right: 20px; z-index: 2147483646; width: min(320px, calc(100vw - 40px));
      background: #fff; border-radius: 14px; box-shadow: 0 8px 28px rgba(0,0,0,.22); padding: 12px 14px 10px;
      display: flex; flex-direction: column; gap: 6px; border-top: 4px solid var(--c); }
    .left .ph-bubble { right: auto; left: 20px; }
    .ph-label { font-size: 12px; color: #6b7280; font-weight: 600; }
    .ph-text { white-space: pre-wrap; overflow-wrap: anywhere; cursor: pointer; }
    .ph-links { display: flex; flex-direction: column; gap: 4px; margin: 0; padding: 0; list-style: none; }
    .ph-links a { color: #1c47c4; font-weight: 600; font-size: 13px; overflow-wrap: anywhere; }
    .ph-actions { display: flex; gap: 8px; justify-content: flex-end; margin-top: 2px; }
    .ph-actions button { border: 0; border-radius: 8px; padding: 6px 12px; cursor: pointer; font: inherit; font-size: 13px; }
    .ph-chat { background: var(--c); color: var(--on-c); font-weight: 600; }
    .ph-dismiss { background: #f1f3f5; color: #1f2328; }
    .ph-close { position: absolute; top: 6px; right: 8px; border: 0; background: transparent; font-size: 18px; line-height: 1; cursor: pointer; color: #6b7280; }
    .suggest .msg-body { background: #fff; border: 1px solid var(--c); }
    .suggest .ph-chat { margin-top: 6px; border: 0; border-radius: 8px; padding: 6px 12px; cursor: pointer; font: inherit; }
    .ph-bubble a:focus-visible, .ph-bubble button:focus-visible { outline: 3px solid #91a7ff; outline-offset: 2px; }
  `;
  const DAY_MS = 24 * 3600 * 1000;
  const SCROLL_WINDOW_MS = 400;

  function factory(ctx) {
    const { S, ui, el, api, apiBase, setOpen, ensureSession, botIcon, scrollToEnd } = ctx;
    // Beside widget.js's own `sodam:{inbox}` entry.
    const KEY = `sodam:${decodeURIComponent(apiBase.split('/').pop())}:pagehelp`;
    const mem = load();
    let rules = [];
    let timers = [];
    let armed = []; // exit-intent rules whose time on the page has passed
    let shownHere = null; // {rule, articles}: this page view's suggestion
    let bubble = null;
    let styled = false;
    let pageUrl = null;

    function load() {
      try {
        const v = JSON.parse(localStorage.getItem(KEY)) || {};
        return { key: typeof v.key === 'string' ? v.key : null, shown: v.shown || {}, opened: v.opened || {} };
      } catch (e) {
        return { key: null, shown: {}, opened: {} };
      }
    }
    function save() {
      try {
        localStorage.setItem(KEY, JSON.stringify(mem));
      } catch (e) {
        /* storage blocked: the server's cap still holds */
      }
    }
    function visitorKey() {
      if (!mem.key) {
        mem.key = ctx.uuid().replace(/-/g, '');
        save();
      }
      return mem.key;
    }
    function style() {
      if (styled) return;
      styled = true;
      ui.panel.getRootNode().append(el('style', { text: CSS }));
    }

    // ---- matching: the same decision as sodam/pagehelp/patterns.py ----------------------
    function target(url, pattern) {
      url = url.split('#')[0];
      if (pattern.startsWith('/') || pattern.startsWith('^/')) {
        const k = url.indexOf('://');
        const rest = k >= 0 ? url.slice(k + 3) : url;
        const slash = rest.indexOf('/');
        url = slash >= 0 ? rest.slice(slash) : '/';
        const asksQuery = pattern.startsWith('^') ? pattern.includes('\\?') : pattern.includes('?');
        if (!asksQuery) url = url.split('?')[0];
      }
      return url.slice(0, 1000);
    }
    const escape = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    function matches(rule, url) {
      const p = String(rule.pattern || '');
      const s = target(url, p);
      try {
        if (rule.match === 'prefix') return s.startsWith(p);
        if (rule.match === 'contains') return s.includes(p);
        if (rule.match === 'glob') return new RegExp(`^${p.split('*').map(escape).join('.*')}$`, 's').test(s);
        if (rule.match === 'regex') return new RegExp(p).test(s);
      } catch (e) {
        return false;
      }
      return false;
    }
    function capped(rule) {
      const at = mem.shown[rule.id];
      return typeof at === 'number' && Date.now() - at < Math.max(1, rule.cap_hours) * 3600 * 1000;
    }

    // ---- when ---------------------------------------------------------------------------
    const here = () => location.href.split('#')[0];
    function evaluate() {
      if (here() === pageUrl) return; // a #fragment is the same page
      pageUrl = here();
      for (const t of timers) clearTimeout(t);
      timers = [];
      armed = [];
      shownHere = null;
      hideBubble();
      for (const rule of rules) {
        if (!matches(rule, pageUrl) || capped(rule)) continue;
        const ready = () => (rule.exit_intent ? armed.push(rule) : fire(rule));
        const wait = Math.max(0, Number(rule.seconds) || 0) * 1000;
        if (wait) timers.push(setTimeout(ready, wait));
        else ready();
      }
    }
    function exitIntent() {
      const rule = armed.find((r) => !capped(r));
      if (rule) {
        armed = [];
        fire(rule);
      }
    }
    document.addEventListener('mouseout', (e) => {
      if (!e.relatedTarget && e.clientY <= 0) exitIntent();
    });
    const touch = window.matchMedia && window.matchMedia('(pointer: coarse)').matches;
    if (touch) {
      let deepest = 0;
      const samples = [];
      window.addEventListener(
        'scroll',
        () => {
          const y = window.scrollY;
          const now = Date.now();
          deepest = Math.max(deepest, y);
          samples.push([now, y]);
          while (samples.length && now - samples[0][0] > SCROLL_WINDOW_MS) samples.shift();
          const top = Math.max(...samples.map((s) => s[1]));
          if (deepest > window.innerHeight && top - y > 0.4 * window.innerHeight) exitIntent();
        },
        { passive: true }
      );
    }

    // ---- firing and showing -----------------------------------------------------------
    function report(rule, kind, extra) {
      return api(`/page-rules/${rule.id}/events`, {
        method: 'POST',
        body: { visitor_key: visitorKey(), kind, locale: S.config.locale, ...(extra || {}) },
        visitor: S.visitor || undefined,
      });
    }

    async function fire(rule) {
      if (shownHere || capped(rule) || here() !== pageUrl) return;
      shownHere = { rule, articles: [] };
      let answer;
      try {
        answer = await report(rule, 'shown', { page_title: (document.title || '').slice(0, 300) });
      } catch (e) {
        shownHere = null;
        return;
      }
      mem.shown[rule.id] = Date.now(); // shown now, or the server says it was shown lately
      save();
      if (!answer.show || here() !== pageUrl) {
        shownHere = null;
        return;
      }
      shownHere.articles = Array.isArray(answer.articles) ? answer.articles : [];
      if (!rule.message && !shownHere.articles.length) return; // nothing to say after all
      style();
      if (rule.display === 'open' && !S.open) {
        openQuietly();
        inPanel(rule, shownHere.articles);
      } else if (S.open) {
        inPanel(rule, shownHere.articles);
      } else {
        showBubble(rule, shownHere.articles);
      }
    }

    function links(rule, articles) {
      const list = el('ul', { class: 'ph-links' });
      for (const a of articles) {
        const href = safe(a.url);
        if (!href) continue;
        const link = el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: a.title || href });
        link.addEventListener('click', () => {
          report(rule, 'clicked_article', { article_id: a.id }).catch(() => {});
        });
        list.append(el('li', {}, link));
      }
      return list.childElementCount ? list : null;
    }
    function safe(url) {
      try {
        const u = new URL(String(url));
        return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
      } catch (e) {
        return null;
      }
    }
    function chatButton(rule) {
      return el('button', {
        type: 'button',
        class: 'ph-chat',
        text: ui.t.suggest_chat,
        onclick: () => openChat(rule),
      });
    }

    // Opened by the rule, not by the visitor: no visitor (contact) is created for a page view
    // and the open state is not remembered for the next page; a returning visitor reconnects.
    function openQuietly() {
      if (S.visitor) return setOpen(true);
      S.open = true;
      ui.panel.hidden = false;
      ui.launcher.setAttribute('aria-expanded', 'true');
      ui.prechat.hidden = true;
      ui.messages.hidden = false;
      ui.composer.hidden = !!S.config.prechat_form; // the suggestion's button leads to the form
    }

    function inPanel(rule, articles) {
      const needsForm = !S.visitor && S.config.prechat_form;
      const li = el(
        'li',
        { class: 'msg bot suggest', id: 'sodam-suggestion', 'data-rule': String(rule.id) },
        el('span', { class: 'sender' }, botIcon(), ui.t.suggest_label),
        rule.message ? el('div', { class: 'msg-body', text: rule.message }) : null,
        links(rule, articles),
        needsForm ? chatButton(rule) : null
      );
      ui.messages.append(li);
      scrollToEnd(true);
    }

    function showBubble(rule, articles) {
      hideBubble();
      const text = rule.message ? el('div', { class: 'ph-text', text: rule.message, onclick: () => openChat(rule) }) : null;
      bubble = el(
        'div',
        { class: 'ph-bubble', id: 'sodam-suggest-bubble', role: 'dialog', 'aria-label': ui.t.suggest_label, 'data-rule': String(rule.id) },
        el('span', { class: 'ph-label', text: ui.t.suggest_label }),
        text,
        links(rule, articles),
        el(
          'div',
          { class: 'ph-actions' },
          el('button', { type: 'button', class: 'ph-dismiss', text: ui.t.suggest_dismiss, onclick: hideBubble }),
          chatButton(rule)
        )
      );
      ui.launcher.parentNode.append(bubble);
    }
    function hideBubble() {
      if (bubble) bubble.remove();
      bubble = null;
    }

    function openChat(rule) {
      hideBubble();
      const suggestion = ui.messages.querySelector('#sodam-suggestion');
      if (suggestion) suggestion.querySelectorAll('.ph-chat').forEach((b) => b.remove());
      if (!S.open) {
        setOpen(true);
        if (shownHere && !ui.messages.querySelector('#sodam-suggestion')) inPanel(rule, shownHere.articles);
      } else {
        setOpen(true); // the quiet panel becomes the real one (pre-chat form, session)
      }
      ensureSession().catch(() => {});
    }

    // A chat after a suggestion (this browser, within a day): one opened_chat per rule and
    // showing, sent once the visitor has a token so the anonymous key is linked to them.
    function chatted() {
      if (!S.visitor) return;
      for (const rule of rules) {
        const at = mem.shown[rule.id];
        if (typeof at !== 'number' || Date.now() - at > DAY_MS || mem.opened[rule.id] === at) continue;
        mem.opened[rule.id] = at;
        save();
        report(rule, 'opened_chat').catch(() => {
          delete mem.opened[rule.id];
          save();
        });
      }
    }
    // After the visitor writes (or fills the pre-chat form), once their session exists.
    const afterSession = () => setTimeout(() => ensureSession().then(chatted, () => {}), 0);
    ui.composer.addEventListener('submit', afterSession);
    ui.prechat.addEventListener('submit', afterSession);
    ui.launcher.addEventListener('click', hideBubble);

    // Single-page apps: a navigation is a new page (widget.js reports pages the same way).
    for (const method of ['pushState', 'replaceState']) {
      const original = history[method];
      if (typeof original !== 'function') continue;
      history[method] = function () {
        const result = original.apply(this, arguments);
        setTimeout(evaluate, 0);
        return result;
      };
    }
    window.addEventListener('popstate', () => setTimeout(evaluate, 0));
    window.addEventListener('hashchange', () => setTimeout(evaluate, 0));

    function start(list) {
      rules = list.filter((r) => r && typeof r.id === 'number');
      evaluate();
    }
    return { start, matches };
  }

  const w = (window.__sodamPages = window.__sodamPages || { waiting: [] });
  w.factory = factory;
  for (const resolve of w.waiting.splice(0)) resolve(factory);
})();

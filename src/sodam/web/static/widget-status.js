/*! Sodam (소담) chat widget — 진행 상황 (status) — AGPL-3.0-or-later
 *
 * Loaded by widget.js the first time the customer presses 진행 상황 in the header: asks where
 * their conversation stands (GET …/status: read only, nothing stored) and shows the answer as a
 * bot bubble. Typing "진행 상황 알려주세요" instead goes through the message path and the
 * server answers it (docs/pagehelp.md). Text only via textContent.
 */
(function () {
  'use strict';

  function factory(ctx) {
    const { S, ui, el, api, setOpen, botIcon, scrollToEnd, showError } = ctx;

    function bubble(text) {
      const li = el(
        'li',
        { class: 'msg bot status-reply' },
        el('span', { class: 'sender' }, botIcon(), ui.t.bot),
        el('div', { class: 'msg-body', text })
      );
      ui.messages.append(li);
      scrollToEnd(true);
    }

    async function ask() {
      if (!S.open) setOpen(true);
      if (!S.visitor) return bubble(ui.t.status_none); // no visitor yet: nothing can be open
      try {
        const locale = encodeURIComponent(S.config.locale || '');
        bubble((await api(`/status?locale=${locale}`, { visitor: S.visitor })).text);
      } catch (e) {
        showError(ui.t.failed);
      }
    }

    return { ask };
  }

  const w = (window.__sodamStatus = window.__sodamStatus || { waiting: [] });
  w.factory = factory;
  for (const resolve of w.waiting.splice(0)) resolve(factory);
})();

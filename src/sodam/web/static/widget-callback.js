/*! Sodam (소담) chat widget — 전화 예약 (callback) form — AGPL-3.0-or-later
 *
 * Loaded by widget.js the first time the customer presses 전화 예약 in the header (the inbox
 * books callbacks for a phone line). The form asks the server for the slots it offers (from
 * the line's business hours, holidays and staffed capacity) in the customer's language, then
 * books one; the confirmation also arrives as a message in the chat. Text only via textContent.
 */
(function () {
  'use strict';

  const CSS = `
    .cb-form { position: absolute; inset: 72px 0 0 0; background: #fff; padding: 16px; overflow-y: auto; display: flex; flex-direction: column; gap: 10px; z-index: 2; }
    .cb-form h2 { margin: 0; font-size: 16px; }
    .cb-form p { margin: 0; color: #4b5563; font-size: 14px; }
    .cb-form label { display: flex; flex-direction: column; gap: 4px; font-size: 13px; color: #374151; }
    .cb-form input, .cb-form select, .cb-form textarea { font: inherit; font-size: 15px; padding: 8px; border: 1px solid #d1d5db; border-radius: 8px; box-sizing: border-box; width: 100%; }
    .cb-form .row2 { display: flex; gap: 8px; }
    .cb-form .go { flex: 1; font: inherit; font-weight: 600; border: 0; border-radius: 8px; padding: 10px; color: #fff; background: var(--c, #3b5bdb); cursor: pointer; }
    .cb-form .go[disabled] { opacity: .5; cursor: default; }
    .cb-form .cancel { font: inherit; border: 1px solid #d1d5db; border-radius: 8px; padding: 10px 14px; background: #fff; cursor: pointer; }
    .cb-form .err { color: #c92a2a; font-size: 13px; }
    .cb-form .done { font-weight: 600; color: #1e7b34; }
  `;

  function factory(ctx) {
    const { S, el, api } = ctx;
    let form = null;
    let styled = false;

    function close() {
      if (form) form.remove();
      form = null;
    }

    async function open() {
      const panel = ctx.ui && ctx.ui.panel;
      if (!panel) return;
      if (!styled) {
        panel.getRootNode().append(el('style', { text: CSS }));
        styled = true;
      }
      close();
      if (!S.visitor) await ctx.startSession({});
      const lang = (navigator.language || 'ko').startsWith('en') ? 'en' : 'ko';
      const data = await api(`/callbacks/slots?locale=${lang}`, { visitor: S.visitor });
      const t = data.strings;
      const err = el('p', { class: 'err', role: 'alert', hidden: true });
      const phone = el('input', { name: 'phone', type: 'tel', required: true, autocomplete: 'tel', maxlength: '40', value: data.phone || '', placeholder: '010-1234-5678' });
      const slot = el('select', { name: 'slot', id: 'sodam-cb-slot', required: true });
      for (const s of data.slots.slice(0, 200)) slot.append(el('option', { value: s.start, text: s.label }));
      const note = el('textarea', { name: 'note', rows: '2', maxlength: '500' });
      const go = el('button', { type: 'submit', class: 'go', id: 'sodam-cb-submit', text: t.submit });
      form = el(
        'form',
        { class: 'cb-form', id: 'sodam-callback-form', 'aria-label': t.title },
        el('h2', { text: t.title }),
        el('p', { text: data.slots.length ? t.intro : t.none }),
        el('label', {}, t.phone, phone),
        el('label', {}, t.slot, slot),
        el('label', {}, t.note, note),
        err,
        el('div', { class: 'row2' }, el('button', { type: 'button', class: 'cancel', text: t.cancel, onclick: close }), go)
      );
      if (!data.slots.length) go.disabled = true;
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        go.disabled = true;
        err.hidden = true;
        try {
          const booked = await api(`/callbacks?locale=${lang}`, {
            method: 'POST',
            visitor: S.visitor,
            body: { slot_at: slot.value, phone: phone.value, note: note.value },
          });
          form.replaceChildren(
            el('h2', { text: t.title }),
            el('p', { class: 'done', id: 'sodam-cb-done', role: 'status', text: `${t.booked} ✓` }),
            el('p', { text: booked.message }),
            el('div', { class: 'row2' }, el('button', { type: 'button', class: 'go', text: t.cancel, onclick: close }))
          );
        } catch (ex) {
          err.textContent = ex.code === 'slot_unavailable' ? t.taken : ex.code === 'invalid_phone' ? t.bad_phone : t.failed;
          err.hidden = false;
          go.disabled = false;
        }
      });
      panel.append(form);
      phone.focus();
    }

    return { open, close };
  }

  const w = (window.__sodamCallback = window.__sodamCallback || { waiting: [] });
  w.factory = factory;
  for (const resolve of w.waiting.splice(0)) resolve(factory);
})();

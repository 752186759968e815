/*! Sodam (소담) chat widget — survey card — AGPL-3.0-or-later
 *
 * Loaded by widget.js the first time a survey is shown in a conversation (a system message
 * whose payload carries {survey: {token, kind}}). A CSAT survey is answered right here:
 * 1–5 stars and an optional comment, then a thank-you; other surveys open their page
 * (/s/{token}). The card asks the server for the questions in the customer's language, with
 * the visitor token in a header. Text is only ever set with textContent.
 */
(function () {
  'use strict';

  const CSS = `
    .system:has(.survey) { align-self: stretch; }
    .system:has(.survey) .msg-body { color: #1f2937; font-size: 14px; text-align: center; }
    .survey { margin: 4px 8px 8px; padding: 10px 12px; border: 1px solid #e5e7eb; border-radius: 12px; background: #fff; text-align: center; }
    .survey .stars { display: flex; justify-content: center; gap: 4px; }
    .survey .star { font-size: 30px; line-height: 1; background: none; border: 0; padding: 2px 4px; cursor: pointer; color: #d1d5db; }
    .survey .star.on { color: #f2b01e; }
    .survey .star:focus-visible { outline: 2px solid var(--sodam-color, #2f6f4f); border-radius: 6px; }
    .survey textarea { box-sizing: border-box; width: 100%; margin-top: 8px; font: inherit; font-size: 14px; padding: 6px 8px; border: 1px solid #d1d5db; border-radius: 8px; resize: vertical; }
    .survey .go { margin-top: 8px; font: inherit; font-weight: 600; border: 0; border-radius: 8px; padding: 8px 16px; color: #fff; background: var(--sodam-color, #2f6f4f); cursor: pointer; }
    .survey .go[disabled] { opacity: .5; cursor: default; }
    .survey .done { margin: 4px 0; font-weight: 600; }
    .survey .err { color: #c92a2a; font-size: 12px; margin-top: 6px; }
    .survey .link { background: none; border: 0; color: #4b5563; text-decoration: underline; cursor: pointer; font: inherit; font-size: 12px; }
  `;

  function factory(ctx) {
    const { S, el, api, apiBase } = ctx;
    const base = apiBase.split('/widget/v1/')[0];
    let styled = false;

    function style(box) {
      if (styled) return;
      const root = ctx.ui && ctx.ui.panel && ctx.ui.panel.getRootNode();
      if (root && root.append) {
        root.append(el('style', { text: CSS }));
        styled = true;
      }
    }

    // The card grows once its questions arrive: a list that was at its end follows it, so the
    // customer sees the stars rather than half a card under the "상담이 종료되었습니다" bar.
    function show(box, ...parts) {
      const list = ctx.ui && ctx.ui.messages;
      const atEnd = list && list.scrollHeight - list.scrollTop - list.clientHeight < 80;
      box.replaceChildren(...parts);
      if (atEnd) list.scrollTop = list.scrollHeight;
    }

    async function fill(box, s) {
      style(box);
      let data;
      try {
        data = await api(`/surveys/${encodeURIComponent(s.token)}`, { visitor: S.visitor });
      } catch (err) {
        // The 410's message is in the customer's language (survey_expired).
        if (err.status === 410) show(box, el('p', { class: 'done', text: err.message }));
        else box.remove();
        return;
      }
      const t = data.strings;
      const first = data.questions[0];
      if (!first || first.type !== 'csat') {
        show(
          box,
          el('a', { class: 'go', href: `${base}${data.url}`, target: '_blank', rel: 'noopener', role: 'button', text: t.open })
        );
        return;
      }
      const comment = data.questions.find((q) => q.type === 'text');
      const answered = data.answer;
      if (answered) thanks(box, s, data, answered[first.id]);
      else form(box, s, data, first, comment, null);
    }

    function thanks(box, s, data, score) {
      const t = data.strings;
      const shown = el('div', { class: 'stars', 'aria-label': `${t.stars} ${score}/5` });
      for (let v = 1; v <= 5; v++) shown.append(el('span', { class: `star${v <= score ? ' on' : ''}`, 'aria-hidden': 'true', text: '★' }));
      const again = el('button', { type: 'button', class: 'link', text: t.change });
      again.addEventListener('click', () => {
        const first = data.questions[0];
        form(box, s, data, first, data.questions.find((q) => q.type === 'text'), score);
      });
      show(box, shown, el('p', { class: 'done', role: 'status', text: t.thanks }), again);
    }

    function form(box, s, data, first, comment, previous) {
      const t = data.strings;
      let score = previous || 0;
      const stars = el('div', { class: 'stars', role: 'radiogroup', 'aria-label': t.stars });
      const buttons = [];
      const send = el('button', { type: 'button', class: 'go', text: t.submit, disabled: !score });
      function paint() {
        buttons.forEach((b, i) => {
          b.classList.toggle('on', i < score);
          b.setAttribute('aria-checked', String(i + 1 === score));
        });
        send.disabled = !score;
      }
      for (let v = 1; v <= 5; v++) {
        const b = el('button', { type: 'button', class: 'star', role: 'radio', 'aria-label': `${v}/5`, 'data-score': String(v), text: '★' });
        b.addEventListener('click', () => {
          score = v;
          paint();
        });
        buttons.push(b);
        stars.append(b);
      }
      const text = comment ? el('textarea', { rows: '2', maxlength: '2000', placeholder: comment.text || t.comment, 'aria-label': t.comment }) : null;
      const error = el('p', { class: 'err', role: 'alert', hidden: true });
      send.addEventListener('click', async () => {
        if (!score) return;
        send.disabled = true;
        const answers = { [first.id]: score };
        if (text && text.value.trim()) answers[comment.id] = text.value.trim();
        try {
          await api(`/surveys/${encodeURIComponent(s.token)}`, { method: 'POST', body: { answers }, visitor: S.visitor });
          thanks(box, s, data, score);
        } catch (err) {
          error.textContent = err.status === 410 ? t.expired : t.failed;
          error.hidden = false;
          send.disabled = false;
        }
      });
      show(box, ...[stars, text, send, error].filter(Boolean));
      paint();
    }

    return { fill };
  }

  const w = (window.__sodamSurvey = window.__sodamSurvey || { waiting: [] });
  w.factory = factory;
  for (const resolve of w.waiting.splice(0)) resolve(factory);
})();

/*! Sodam (소담) chat widget — files — AGPL-3.0-or-later
 *
 * Loaded by widget.js the first time a file is sent or shown. Files are uploaded first
 * (POST /attachments, visitor token in a header), then sent as a message that names them:
 * the outbox, client_id and resend rules are those of text. Files are read back with the
 * token in a header and shown from blob: URLs, so no credential is ever put in a URL.
 * File names are hostile input: textContent only.
 */
(function () {
  'use strict';

  function factory(ctx) {
    const { S, el, icon, apiBase, uuid, persist, pendingBubble, transmit, startSession, showError, scrollToEnd } = ctx;
    const ui = ctx.ui;
    const DOC = 'M14 2H6c-1.1 0-2 .9-2 2v16c0 1.1.9 2 2 2h12c1.1 0 2-.9 2-2V8l-6-6zm-1 7V3.5L18.5 9H13z';
    const docIcon = () => icon(DOC, '18', 'doc-icon');
    const BLOCKED = /\.(exe|msi|bat|cmd|com|scr|dll|ps1|vbs|js|jar|apk|sh|app|dmg|html?|svg)$/i;
    const blobs = new Map(); // attachment id -> Promise<blob: URL>

    function fileSize(n) {
      n = Number(n) || 0;
      if (n >= 1048576) return `${(n / 1048576).toFixed(1)} MB`;
      if (n >= 1024) return `${Math.round(n / 1024)} KB`;
      return `${n} B`;
    }

    function tooBig(maxBytes) {
      return ui.t.attach_too_large.replace('{mb}', String(Math.max(1, Math.round(maxBytes / 1048576))));
    }

    function uploadError(err) {
      if (err.code === 'attachment_too_large' || err.status === 413) return tooBig((err.details || {}).max_bytes || (S.config.attachments || {}).max_bytes || 0);
      if (err.code === 'attachment_type_blocked') return ui.t.attach_blocked;
      if (err.code === 'attachment_type_not_allowed' || err.status === 415) return ui.t.attach_type;
      if (err.status === 429) return ui.t.rate_limited.replace('{seconds}', String(Math.ceil(Number((err.details || {}).retry_after) || 1)));
      return ui.t.attach_failed;
    }

    async function uploadOne(file, retried) {
      const data = new FormData();
      data.append('file', file, file.name || 'file');
      const res = await fetch(`${apiBase}/attachments`, {
        method: 'POST',
        headers: { 'X-Sodam-Visitor': S.visitor },
        body: data,
        credentials: 'omit',
      });
      const body = await res.json().catch(() => ({}));
      const error = body.error || {};
      if (res.status === 401 && error.code === 'visitor_token_expired' && !retried) {
        S.ready = false;
        await startSession({});
        return uploadOne(file, true);
      }
      if (!res.ok) {
        const err = new Error(error.message || `HTTP ${res.status}`);
        err.status = res.status;
        err.code = error.code;
        err.details = error.details || {};
        throw err;
      }
      return body;
    }

    async function sendFiles(fileList) {
      const files = Array.from(fileList || []).slice(0, 10);
      if (!files.length || !ui) return;
      const limits = S.config.attachments || {};
      for (const f of files) {
        if (BLOCKED.test(f.name || '')) return showError(ui.t.attach_blocked);
        if (limits.max_bytes && f.size > limits.max_bytes) return showError(tooBig(limits.max_bytes));
      }
      ui.error.hidden = true;
      const note = el('li', { class: 'msg mine uploading', 'data-status': 'sending' },
        el('div', { class: 'msg-body', text: files.map((f) => f.name).join(', ') }),
        el('span', { class: 'meta', text: ui.t.uploading }));
      ui.messages.append(note);
      scrollToEnd(true);
      try {
        if (!S.visitor) await startSession({});
        const uploaded = [];
        for (const f of files) uploaded.push(await uploadOne(f));
        note.remove();
        const item = { client_id: uuid(), content: '', attachments: uploaded, at: Date.now() };
        S.outbox.push(item);
        persist();
        pendingBubble(item);
        transmit(item);
      } catch (err) {
        note.remove();
        showError(uploadError(err));
      }
    }

    function fetchBlob(a, download) {
      const key = `${a.id}${download ? ':d' : ''}`;
      if (!blobs.has(key)) {
        const q = download ? '?download=true' : '';
        const p = fetch(`${apiBase}/attachments/${encodeURIComponent(a.id)}${q}`, {
          headers: { 'X-Sodam-Visitor': S.visitor || '' },
          credentials: 'omit',
        }).then(async (res) => {
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          const bytes = await res.arrayBuffer();
          // A download is always plain bytes: never something the host page could render.
          const type = download ? 'application/octet-stream' : res.headers.get('content-type') || '';
          if (!download && !/^image\/(png|jpeg|gif|webp)$/.test(type)) throw new Error('not an image');
          return URL.createObjectURL(new Blob([bytes], { type }));
        });
        p.catch(() => blobs.delete(key));
        blobs.set(key, p);
      }
      return blobs.get(key);
    }

    function download(a) {
      fetchBlob(a, true)
        .then((url) => {
          const link = el('a', { href: url, download: a.name || 'file', hidden: true });
          ui.panel.append(link);
          link.click();
          link.remove();
        })
        .catch(() => showError(ui.t.attach_failed));
    }

    // The previews and cards of a message's files, into the box its bubble holds for them.
    function fill(box, list) {
      for (const a of list) {
        if (!a || typeof a.id !== 'string') continue;
        const name = String(a.name || 'file');
        if (a.kind === 'image') {
          const img = el('img', { alt: name });
          const button = el('button', { type: 'button', class: 'file-image', title: `${ui.t.download}: ${name}`, 'aria-label': `${ui.t.download}: ${name}`, onclick: () => download(a) }, img);
          fetchBlob(a, false)
            .then((url) => {
              img.src = url;
            })
            .catch(() => {
              img.alt = name;
            });
          box.append(button);
        } else {
          box.append(
            el('button', { type: 'button', class: 'file-card', title: ui.t.download, onclick: () => download(a) },
              docIcon(),
              el('span', { class: 'file-name', text: name }),
              el('span', { class: 'file-size', text: fileSize(a.size) }))
          );
        }
      }
    }

    return { sendFiles, fill };
  }

  const w = (window.__sodamFiles = window.__sodamFiles || { waiting: [] });
  w.factory = factory;
  for (const resolve of w.waiting.splice(0)) resolve(factory);
})();

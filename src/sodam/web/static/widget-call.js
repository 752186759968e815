/*! Sodam (소담) chat widget — video and voice calls — AGPL-3.0-or-later
 *
 * Loaded by widget.js only when a call frame arrives (an agent calls) or the customer presses
 * the header's 통화 button (when the inbox lets customers ask). WebRTC between this page and
 * the agent's console, signalled over the widget's own socket ({"type": "call", ...} frames):
 * the agent always makes the offer once the call is answered; this side answers. No third
 * party: the ICE servers come from the Sodam server (none needed on a LAN). Text only via
 * textContent; nothing here is sent anywhere but the Sodam socket.
 */
(function () {
  'use strict';

  const CSS = `
    .call { position: absolute; inset: 0; z-index: 5; display: flex; flex-direction: column; background: #101418; color: #fff; font-size: 14px; }
    .call.light { background: #fff; color: #1f2328; padding: 16px; gap: 10px; overflow-y: auto; }
    .call h2 { margin: 0; font-size: 16px; }
    .call p { margin: 0; }
    .call .top { padding: 14px 16px 8px; display: flex; flex-direction: column; gap: 2px; }
    .call .who { font-weight: 700; font-size: 16px; }
    .call .state { font-size: 13px; opacity: .85; }
    .call .stage { position: relative; flex: 1; min-height: 0; display: flex; align-items: center; justify-content: center; }
    .call .remote { width: 100%; height: 100%; object-fit: contain; background: #000; }
    .call .local { position: absolute; right: 10px; bottom: 10px; width: 28%; max-width: 120px; aspect-ratio: 3/4; object-fit: cover; border-radius: 10px; border: 2px solid rgba(255,255,255,.7); background: #222; transform: scaleX(-1); }
    .call .face { width: 96px; height: 96px; border-radius: 50%; background: var(--c, #3b5bdb); display: flex; align-items: center; justify-content: center; font-size: 40px; }
    .call .flags { position: absolute; left: 10px; top: 10px; display: flex; flex-direction: column; gap: 4px; }
    .call .flag { background: rgba(0,0,0,.6); border-radius: 6px; padding: 3px 8px; font-size: 12px; }
    .call .bar { display: flex; justify-content: center; gap: 12px; padding: 14px 10px 18px; flex-wrap: wrap; }
    .call .bar button, .call .ask button { font: inherit; font-size: 14px; border: 0; border-radius: 24px; padding: 11px 16px; cursor: pointer; background: #343a40; color: #fff; min-width: 44px; }
    .call .bar button[aria-pressed=true] { background: #f1f3f5; color: #1f2328; }
    .call .bar .hang, .call .ask .no { background: #e03131; }
    .call .ask { display: flex; gap: 12px; justify-content: center; padding: 18px; }
    .call .ask .yes { background: #2f9e44; }
    .call.light button { font: inherit; border-radius: 8px; padding: 10px 12px; cursor: pointer; border: 1px solid #d1d5db; background: #fff; color: #1f2328; }
    .call.light .go { border: 0; color: #fff; background: var(--c, #3b5bdb); font-weight: 600; }
    .call.light select { font: inherit; font-size: 15px; padding: 8px; border: 1px solid #d1d5db; border-radius: 8px; width: 100%; }
    .call.light .row { display: flex; gap: 8px; flex-wrap: wrap; }
    .call.light .row > * { flex: 1; }
    .call .note { font-size: 13px; color: #4b5563; }
    .call .err { color: #c92a2a; font-size: 13px; }
  `;

  function factory(ctx) {
    const { S, el, api } = ctx;
    const lang = (S.config && S.config.locale) || 'ko';
    let cfg = null;
    let styled = false;
    let view = null;
    const c = { call: null, pc: null, local: null, queue: Promise.resolve(), early: [], remoteSet: false, timer: null, flags: {} };
    const w = window.__sodamCall;

    async function config() {
      if (!cfg) cfg = await api(`/web-calls/config?locale=${lang}`, { visitor: S.visitor });
      return cfg;
    }
    function send(frame) {
      if (S.ws && S.ready) S.ws.send(JSON.stringify({ type: 'call', ...frame }));
    }
    function panel() {
      const p = ctx.ui && ctx.ui.panel;
      if (p && !styled) {
        p.getRootNode().append(el('style', { text: CSS }));
        styled = true;
      }
      return p;
    }
    function show(node) {
      if (view) view.remove();
      view = node;
      const p = panel();
      if (p && node) p.append(node);
      return node;
    }
    function company() {
      return (S.config && S.config.inbox && S.config.inbox.company_name) || '';
    }
    function kindText(kind) {
      return cfg.strings[kind === 'voice' ? 'voice' : 'video'];
    }

    // ---- media and the peer connection -------------------------------------------------------
    async function media(kind) {
      c.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: kind === 'video' });
      return c.local;
    }
    function stopMedia() {
      if (c.local) c.local.getTracks().forEach((t) => t.stop());
      c.local = null;
    }
    function makePc() {
      const pc = new RTCPeerConnection({ iceServers: cfg.ice_servers || [] });
      c.pc = pc;
      w.pc = pc; // what a test reads (getStats)
      c.remoteSet = false;
      if (c.local) c.local.getTracks().forEach((t) => pc.addTrack(t, c.local));
      pc.onicecandidate = (e) => {
        if (e.candidate && c.call) send({ action: 'signal', call_id: c.call.id, data: { candidate: e.candidate.toJSON() } });
      };
      pc.ontrack = (e) => {
        const remote = view && view.querySelector('.remote');
        if (remote && remote.srcObject !== e.streams[0]) remote.srcObject = e.streams[0];
      };
      pc.onconnectionstatechange = () => {
        if (pc !== c.pc) return;
        if (pc.connectionState === 'connected') connected();
        else if (pc.connectionState === 'failed' && c.call) send({ action: 'end', call_id: c.call.id, reason: 'failed' });
      };
      for (const data of c.early.splice(0)) signal(data);
    }
    function signal(data) {
      if (!c.pc) {
        c.early.push(data); // the offer can overtake our own getUserMedia
        return;
      }
      const pc = c.pc;
      c.queue = c.queue.then(async () => {
        if (pc !== c.pc) return;
        if (data.sdp) {
          await pc.setRemoteDescription(data.sdp);
          c.remoteSet = true;
          if (data.sdp.type === 'offer') {
            const answer = await pc.createAnswer();
            await pc.setLocalDescription(answer);
            send({ action: 'signal', call_id: c.call.id, data: { sdp: { type: answer.type, sdp: answer.sdp } } });
          }
          for (const cand of c.pendingIce || []) await pc.addIceCandidate(cand).catch(() => {});
          c.pendingIce = [];
        } else if (data.candidate) {
          if (!c.remoteSet) (c.pendingIce = c.pendingIce || []).push(data.candidate);
          else await pc.addIceCandidate(data.candidate).catch(() => {});
        }
      }).catch(() => {});
    }
    function teardown() {
      clearInterval(c.timer);
      if (c.pc) c.pc.close();
      c.pc = null;
      w.pc = null;
      c.early = [];
      stopMedia();
    }

    // ---- screens ----------------------------------------------------------------------------
    function callView(kind, stateText) {
      const t = cfg.strings;
      const video = kind === 'video';
      const remote = video
        ? el('video', { class: 'remote', autoplay: true, playsinline: true })
        : el('audio', { class: 'remote', autoplay: true });
      const local = video ? el('video', { class: 'local', autoplay: true, playsinline: true, muted: true }) : null;
      if (local) {
        local.muted = true;
        local.srcObject = c.local;
      }
      const mute = el('button', { type: 'button', id: 'sodam-call-mute', 'aria-pressed': 'false', text: t.mute });
      mute.onclick = () => toggle('audio', mute, t.mute, t.unmute);
      const cam = video ? el('button', { type: 'button', id: 'sodam-call-camera', 'aria-pressed': 'false', text: t.camera_off }) : null;
      if (cam) cam.onclick = () => toggle('video', cam, t.camera_off, t.camera_on);
      const hang = el('button', { type: 'button', class: 'hang', id: 'sodam-call-end', text: t.end });
      hang.onclick = () => c.call && send({ action: 'end', call_id: c.call.id });
      const name = (c.call && c.call.agent_name) || t.agent;
      return el(
        'div',
        { class: 'call', id: 'sodam-call-view', role: 'dialog', 'aria-label': kindText(kind) },
        el('div', { class: 'top' }, el('span', { class: 'who', text: name }), el('span', { class: 'state', id: 'sodam-call-state', role: 'status', text: stateText })),
        el('div', { class: 'stage' }, video ? null : el('div', { class: 'face', text: name.slice(0, 1) }), remote, local, el('div', { class: 'flags', id: 'sodam-call-flags' })),
        el('div', { class: 'bar' }, mute, cam, hang)
      );
    }
    function setState(text) {
      const s = view && view.querySelector('#sodam-call-state');
      if (s) s.textContent = text;
    }
    function toggle(kind, button, offText, onText) {
      if (!c.local) return;
      const tracks = kind === 'audio' ? c.local.getAudioTracks() : c.local.getVideoTracks();
      const off = button.getAttribute('aria-pressed') !== 'true';
      tracks.forEach((tr) => (tr.enabled = !off));
      button.setAttribute('aria-pressed', String(off));
      button.textContent = off ? onText : offText;
      c.flags[kind] = off;
      if (c.call) send({ action: 'media', call_id: c.call.id, muted: !!c.flags.audio, camera: !c.flags.video, screen: false });
    }
    function connected() {
      const started = Date.now();
      clearInterval(c.timer);
      const tick = () => {
        const s = Math.floor((Date.now() - started) / 1000);
        setState(`${cfg.strings.connected} · ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`);
        if (s && s % 20 === 0 && c.call) send({ action: 'alive', call_id: c.call.id });
      };
      tick();
      c.timer = setInterval(tick, 1000);
    }
    function finished(text) {
      teardown();
      c.call = null;
      const t = cfg.strings;
      show(
        el('div', { class: 'call light', id: 'sodam-call-done', role: 'status' },
          el('p', { text }),
          el('div', { class: 'row' }, el('button', { type: 'button', class: 'go', text: t.close, onclick: () => show(null) })))
      );
      setTimeout(() => view && view.id === 'sodam-call-done' && show(null), 6000);
    }

    function prompt(call) {
      const t = cfg.strings;
      const name = call.agent_name || t.agent;
      const yes = el('button', { type: 'button', class: 'yes', id: 'sodam-call-accept', text: t.accept });
      const no = el('button', { type: 'button', class: 'no', id: 'sodam-call-decline', text: t.decline });
      yes.onclick = async () => {
        yes.disabled = no.disabled = true;
        try {
          await media(call.kind);
        } catch (e) {
          send({ action: 'decline', call_id: call.id });
          finished(t.no_media);
          return;
        }
        show(callView(call.kind, t.connecting));
        makePc();
        send({ action: 'accept', call_id: call.id });
      };
      no.onclick = () => {
        send({ action: 'decline', call_id: call.id });
        show(null);
        c.call = null;
      };
      show(
        el('div', { class: 'call', id: 'sodam-call-prompt', role: 'alertdialog', 'aria-label': kindText(call.kind) },
          el('div', { class: 'top' },
            el('span', { class: 'who', text: company() }),
            el('span', { class: 'state', id: 'sodam-call-incoming', text: t[call.kind === 'voice' ? 'incoming_voice' : 'incoming_video'].replace('{name}', name) })),
          el('div', { class: 'stage' }, el('div', { class: 'face', text: name.slice(0, 1) })),
          el('div', { class: 'ask' }, no, yes))
      );
      yes.focus();
    }

    // ---- frames from the server ---------------------------------------------------------------
    async function frame(f) {
      await config();
      const t = cfg.strings;
      const call = f.call;
      const mine = c.call && ((call && call.id === c.call.id) || f.call_id === c.call.id);
      switch (f.action) {
        case 'invite':
          if (c.call || call.conversation_id !== S.conversationId) return; // busy, or another conversation
          c.call = call;
          if (!S.open) ctx.setOpen(true);
          prompt(call);
          break;
        case 'requested': // our own request, echoed: wait for an agent
          if (c.call && c.call.id !== call.id) return;
          c.call = call;
          if (!c.local) return; // another tab asked
          show(callView(call.kind, t.waiting));
          break;
        case 'accepted':
          if (!mine) return;
          c.call = call;
          if (!c.local) { // another tab of ours took it
            c.call = null;
            show(null);
            return;
          }
          if (!c.pc) {
            show(callView(call.kind, t.connecting));
            makePc();
          }
          break;
        case 'ended':
          if (!mine) return;
          if (!c.local && !c.pc && view && view.id !== 'sodam-call-prompt') return;
          finished(call.outcome === 'declined' ? t.declined : call.outcome === 'missed' ? t.missed : call.outcome === 'failed' ? t.failed : t.ended);
          break;
        case 'signal':
          if (mine && f.data) signal(f.data);
          break;
        case 'media':
          if (mine) flags(f);
          break;
        case 'error':
          if (f.for === 'request' || f.for === 'accept') finished(t.failed);
          break;
        default:
          break;
      }
    }
    function flags(f) {
      const box = view && view.querySelector('#sodam-call-flags');
      if (!box) return;
      const t = cfg.strings;
      box.replaceChildren(
        ...[f.muted && t.agent_muted, f.camera === false && t.agent_camera_off, f.screen && t.agent_sharing]
          .filter(Boolean)
          .map((text) => el('span', { class: 'flag', text }))
      );
    }

    // ---- the customer asks for a call, now or at a booked time --------------------------------
    async function open() {
      if (!S.visitor) await ctx.ensureSession();
      await config();
      if (c.call) return;
      const t = cfg.strings;
      const err = el('p', { class: 'err', role: 'alert', hidden: true });
      const now = (kind) => async () => {
        try {
          await media(kind);
        } catch (e) {
          err.textContent = t.no_media;
          err.hidden = false;
          return;
        }
        show(callView(kind, t.waiting));
        send({ action: 'request', kind });
      };
      const slot = el('select', { id: 'sodam-call-slot', 'aria-label': t.slot });
      const book = el('button', { type: 'button', class: 'go', id: 'sodam-call-book', text: t.book, disabled: true });
      const box = show(
        el('div', { class: 'call light', id: 'sodam-call-ask', role: 'dialog', 'aria-label': t.title },
          el('h2', { text: t.title }),
          el('p', { class: 'note', text: t.intro }),
          el('div', { class: 'row' },
            el('button', { type: 'button', class: 'go', id: 'sodam-call-now-video', text: t.request_video, onclick: now('video') }),
            el('button', { type: 'button', class: 'go', id: 'sodam-call-now-voice', text: t.request_voice, onclick: now('voice') })),
          el('h2', { text: t.slot }),
          slot,
          el('div', { class: 'row' }, book, el('button', { type: 'button', text: t.cancel, onclick: () => show(null) })),
          err)
      );
      try {
        const data = await api(`/web-calls/slots?locale=${lang}`, { visitor: S.visitor });
        for (const s of data.slots.slice(0, 200)) slot.append(el('option', { value: s.start, text: s.label }));
        book.disabled = !data.slots.length;
        if (!data.slots.length) slot.replaceWith(el('p', { class: 'note', text: t.none }));
      } catch (e) {
        slot.remove();
      }
      book.onclick = async () => {
        book.disabled = true;
        try {
          const booked = await api(`/web-calls?locale=${lang}`, { method: 'POST', visitor: S.visitor, body: { kind: 'video', scheduled_at: slot.value } });
          box.replaceChildren(el('h2', { text: t.booked }), el('p', { id: 'sodam-call-booked', text: booked.message }),
            el('div', { class: 'row' }, el('button', { type: 'button', class: 'go', text: t.close, onclick: () => show(null) })));
        } catch (e) {
          err.textContent = e.code === 'slot_unavailable' ? t.taken : t.failed;
          err.hidden = false;
          book.disabled = false;
        }
      };
    }

    // Leaving the page ends the call (the agent would otherwise talk to silence).
    window.addEventListener('pagehide', () => {
      if (c.call && (c.pc || c.local)) send({ action: 'end', call_id: c.call.id });
    });

    return { frame, open };
  }

  const w = (window.__sodamCall = window.__sodamCall || { waiting: [] });
  w.factory = factory;
  for (const resolve of w.waiting.splice(0)) resolve(factory);
})();

/* Sodam console — the co-browsing mirror (화면 함께 보기), docs/cobrowse.md.
 *
 * Opens /api/v1/cobrowse/sessions/{id}/stream (session cookie), inflates each batch of the
 * customer's page events and replays them live with rrweb's Replayer: its iframe is sandboxed
 * (no scripts) and covered by a layer that only turns a click into a pointer on the customer's
 * page — never a click or a key there.
 */
(function () {
  'use strict';
  const page = document.getElementById('cobrowse-page');
  if (!page || !window.rrweb) return;
  const sid = page.dataset.sessionId;
  const t = JSON.parse(page.dataset.strings || '{}');
  const box = document.getElementById('cobrowse-mirror');
  const stage = document.getElementById('cobrowse-stage');
  const layer = document.getElementById('cobrowse-layer');
  const state = document.getElementById('cobrowse-state');
  const stop = document.getElementById('cobrowse-stop');
  let replayer = null;
  let ws = null;
  let over = false;
  let chain = Promise.resolve();
  let scale = 1;
  let size = { width: 1280, height: 800 };

  function show(s, by) {
    page.dataset.state = s;
    let text = t[s] || s;
    if (s === 'ended' && by && t[`by_${by}`]) text += ` · ${t[`by_${by}`]}`;
    state.textContent = text;
    state.className = `pill cobrowse-state state-${s}`;
    if (s !== 'requested' && s !== 'active') {
      over = true;
      if (stop) stop.disabled = true;
      if (ws) ws.close();
    }
  }

  function fit() {
    if (!replayer) return;
    const wrapper = box.querySelector('.replayer-wrapper');
    if (!wrapper) return;
    scale = Math.min(1, box.clientWidth / size.width);
    wrapper.style.transformOrigin = '0 0';
    wrapper.style.transform = `scale(${scale})`;
    stage.style.height = `${Math.ceil(size.height * scale)}px`;
  }

  async function inflate(b64) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
    return JSON.parse(await new Response(stream).text());
  }

  function add(event) {
    if (!replayer) {
      if (event.type !== 4 && event.type !== 2) return; // wait for a Meta + FullSnapshot
      replayer = new window.rrweb.Replayer([], {
        root: box,
        liveMode: true,
        mouseTail: false,
        triggerFocus: false,
        UNSAFE_replayCanvas: false,
        showWarning: false,
      });
      replayer.on('resize', (dim) => {
        size = dim;
        fit();
      });
      replayer.startLive(event.timestamp - 500);
      page.classList.add('has-mirror');
    }
    if (event.type === 4 && event.data) size = { width: event.data.width, height: event.data.height };
    replayer.addEvent(event);
    if (event.type === 4) requestAnimationFrame(fit);
  }

  function onFrame(frame) {
    if (frame.type === 'state') show(frame.state, frame.ended_by);
    else if (frame.type === 'events') {
      chain = chain.then(() => inflate(frame.data)).then((events) => events.forEach(add)).catch(() => {});
    }
  }

  function connect() {
    if (over) return;
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    ws = new WebSocket(`${proto}://${location.host}/api/v1/cobrowse/sessions/${sid}/stream`);
    ws.onmessage = (m) => {
      const data = JSON.parse(m.data);
      (Array.isArray(data) ? data : [data]).forEach(onFrame);
    };
    ws.onclose = () => {
      if (!over) setTimeout(connect, 1500);
    };
  }

  // A click on the mirror points at that spot of the customer's page (document pixels).
  layer.addEventListener('click', (e) => {
    if (!ws || ws.readyState !== 1 || !replayer) return;
    const rect = layer.getBoundingClientRect();
    const frameWin = replayer.iframe && replayer.iframe.contentWindow;
    const sx = frameWin ? frameWin.scrollX || 0 : 0;
    const sy = frameWin ? frameWin.scrollY || 0 : 0;
    const x = Math.round((e.clientX - rect.left) / scale + sx);
    const y = Math.round((e.clientY - rect.top) / scale + sy);
    ws.send(JSON.stringify({ type: 'pointer', x, y }));
    const dot = document.getElementById('cobrowse-dot');
    dot.style.left = `${e.clientX - rect.left}px`;
    dot.style.top = `${e.clientY - rect.top}px`;
    dot.hidden = false;
    clearTimeout(dot.timer);
    dot.timer = setTimeout(() => (dot.hidden = true), 1500);
  });

  if (stop) {
    stop.addEventListener('click', (e) => {
      if (!ws || ws.readyState !== 1) return; // the form posts instead
      e.preventDefault();
      ws.send(JSON.stringify({ type: 'stop' }));
    });
  }
  window.addEventListener('resize', fit);
  show(page.dataset.state, page.dataset.endedBy);
  connect();
})();

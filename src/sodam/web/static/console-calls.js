/* Browser calls in the console (calls/views.py, templates/calls/_panel.html).
   The call bar of a widget conversation starts a video or voice call (or a booked one) and
   answers the customer's request; the call shows in a floating window that stays while the
   agent moves between conversations. WebRTC with the customer's widget, signalled over the
   console's own socket ("sodam:send" out, "sodam:frame" in; {"type": "call", ...} frames).
   The agent always makes the offer, once the call is answered. Mute, camera off and screen
   share (getDisplayMedia + replaceTrack) are the agent's; the customer sees their state.
   Text only via textContent. */
(function () {
  "use strict";
  var cfg = null;
  var cfgLoading = null;
  var c = { call: null, pc: null, local: null, cam: null, screen: null, queue: Promise.resolve(), pendingIce: [], remoteSet: false, timer: null, pendingKind: null };
  var win = null;

  function config() {
    if (cfg) return Promise.resolve(cfg);
    if (!cfgLoading) {
      cfgLoading = fetch("/console/calls/config", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
        .then(function (data) { cfg = data; return cfg; })
        .catch(function (e) { cfgLoading = null; throw e; });
    }
    return cfgLoading;
  }
  function send(frame) {
    frame.type = "call";
    document.dispatchEvent(new CustomEvent("sodam:send", { detail: frame }));
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function kindText(kind) { return cfg.strings[kind === "voice" ? "voice" : "video"]; }
  function panel() { return document.getElementById("call-panel"); }
  function panelConversation() {
    var p = panel();
    return p ? Number(p.getAttribute("data-conversation-id")) : null;
  }
  function contactName() {
    var conv = document.getElementById("conversation");
    return (conv && conv.getAttribute("data-contact-name")) || "";
  }

  // ---- the floating call window ---------------------------------------------------------------
  function button(id, text, onclick, cls) {
    var b = el("button", cls || "", text);
    b.type = "button";
    b.id = id;
    b.onclick = onclick;
    return b;
  }
  function openWindow(kind, name) {
    closeWindow();
    var s = cfg.strings;
    win = el("section", "call-window call-" + kind);
    win.id = "call-window";
    win.setAttribute("role", "dialog");
    win.setAttribute("aria-label", kindText(kind));
    var head = el("header", "call-head");
    head.appendChild(el("strong", "call-who", name || s.customer));
    head.appendChild(el("span", "call-kind muted", kindText(kind)));
    var state = el("span", "call-state", s.ringing);
    state.id = "call-state";
    state.setAttribute("role", "status");
    head.appendChild(state);
    win.appendChild(head);
    var stage = el("div", "call-stage");
    var remote = el(kind === "video" ? "video" : "audio", "call-remote");
    remote.id = "call-remote";
    remote.autoplay = true;
    remote.setAttribute("playsinline", "");
    stage.appendChild(remote);
    if (kind === "video") {
      var local = el("video", "call-local");
      local.id = "call-local";
      local.autoplay = true;
      local.muted = true;
      local.setAttribute("playsinline", "");
      local.srcObject = c.local;
      stage.appendChild(local);
    } else {
      stage.appendChild(el("div", "call-face", (name || s.customer).slice(0, 1)));
    }
    var flags = el("div", "call-flags");
    flags.id = "call-flags";
    stage.appendChild(flags);
    win.appendChild(stage);
    var bar = el("div", "call-bar");
    var mute = button("call-mute", s.mute, function () { toggle("audio", mute, s.mute, s.unmute); });
    mute.setAttribute("aria-pressed", "false");
    bar.appendChild(mute);
    if (kind === "video") {
      var cam = button("call-camera", s.camera_off, function () { toggle("video", cam, s.camera_off, s.camera_on); });
      cam.setAttribute("aria-pressed", "false");
      bar.appendChild(cam);
      var share = button("call-share", s.share, function () { toggleShare(share); });
      share.setAttribute("aria-pressed", "false");
      bar.appendChild(share);
    }
    bar.appendChild(button("call-end", s.end, hangUp, "call-hang"));
    win.appendChild(bar);
    document.body.appendChild(win);
  }
  function closeWindow() {
    if (win) win.remove();
    win = null;
  }
  function setState(text) {
    var st = document.getElementById("call-state");
    if (st) st.textContent = text;
  }
  function notice(text) {
    // The outcome stays in the window a few seconds, then the window goes.
    if (!win) return;
    setState(text);
    var bar = win.querySelector(".call-bar");
    if (bar) bar.textContent = "";
    var w = win;
    setTimeout(function () { if (win === w) closeWindow(); }, 4000);
  }

  // ---- media -----------------------------------------------------------------------------------
  function media(kind) {
    return navigator.mediaDevices.getUserMedia({ audio: true, video: kind === "video" }).then(function (stream) {
      c.local = stream;
      c.cam = stream.getVideoTracks()[0] || null;
      return stream;
    });
  }
  function mediaState() {
    if (!c.call || !c.local) return;
    var audio = c.local.getAudioTracks()[0];
    send({
      action: "media", call_id: c.call.id,
      muted: !!(audio && !audio.enabled),
      camera: !!(c.cam && c.cam.enabled),
      screen: !!c.screen
    });
  }
  function toggle(kind, btn, offText, onText) {
    if (!c.local) return;
    var tracks = kind === "audio" ? c.local.getAudioTracks() : c.local.getVideoTracks();
    var off = btn.getAttribute("aria-pressed") !== "true";
    tracks.forEach(function (t) { t.enabled = !off; }); // the sender's track: silence / black frames
    btn.setAttribute("aria-pressed", String(off));
    btn.textContent = off ? onText : offText;
    mediaState();
  }
  function videoSender() {
    if (!c.pc) return null;
    return c.pc.getSenders().filter(function (s) { return s.track && s.track.kind === "video"; })[0] || null;
  }
  function toggleShare(btn) {
    var s = cfg.strings;
    var sender = videoSender();
    if (!sender) return;
    if (c.screen) { stopShare(btn); return; }
    navigator.mediaDevices.getDisplayMedia({ video: true, audio: false }).then(function (stream) {
      var track = stream.getVideoTracks()[0];
      c.screen = track;
      track.onended = function () { stopShare(btn); };
      return sender.replaceTrack(track).then(function () {
        var local = document.getElementById("call-local");
        if (local) { local.srcObject = stream; local.classList.add("call-local-screen"); }
        btn.setAttribute("aria-pressed", "true");
        btn.textContent = s.stop_share;
        mediaState();
      });
    }).catch(function () { /* the agent cancelled the picker */ });
  }
  function stopShare(btn) {
    var s = cfg.strings;
    var sender = videoSender();
    if (c.screen) c.screen.stop();
    c.screen = null;
    if (sender) sender.replaceTrack(c.cam);
    var local = document.getElementById("call-local");
    if (local) { local.srcObject = c.local; local.classList.remove("call-local-screen"); }
    if (btn) { btn.setAttribute("aria-pressed", "false"); btn.textContent = s.share; }
    mediaState();
  }

  // ---- the peer connection: the agent offers -----------------------------------------------------
  function makePc() {
    var pc = new RTCPeerConnection({ iceServers: cfg.ice_servers || [] });
    c.pc = pc;
    c.remoteSet = false;
    c.pendingIce = [];
    if (c.local) c.local.getTracks().forEach(function (t) { pc.addTrack(t, c.local); });
    pc.onicecandidate = function (e) {
      if (e.candidate && c.call) send({ action: "signal", call_id: c.call.id, data: { candidate: e.candidate.toJSON() } });
    };
    pc.ontrack = function (e) {
      var remote = document.getElementById("call-remote");
      if (remote && remote.srcObject !== e.streams[0]) remote.srcObject = e.streams[0];
    };
    pc.onconnectionstatechange = function () {
      if (pc !== c.pc) return;
      if (pc.connectionState === "connected") connected();
      else if (pc.connectionState === "failed" && c.call) send({ action: "end", call_id: c.call.id, reason: "failed" });
    };
    return pc.createOffer().then(function (offer) {
      return pc.setLocalDescription(offer).then(function () {
        send({ action: "signal", call_id: c.call.id, data: { sdp: { type: offer.type, sdp: offer.sdp } } });
      });
    });
  }
  function signal(data) {
    var pc = c.pc;
    if (!pc) return;
    c.queue = c.queue.then(function () {
      if (pc !== c.pc) return null;
      if (data.sdp) {
        return pc.setRemoteDescription(data.sdp).then(function () {
          c.remoteSet = true;
          var waiting = c.pendingIce.splice(0);
          return Promise.all(waiting.map(function (cand) { return pc.addIceCandidate(cand).catch(function () {}); }));
        });
      }
      if (data.candidate) {
        if (!c.remoteSet) { c.pendingIce.push(data.candidate); return null; }
        return pc.addIceCandidate(data.candidate).catch(function () {});
      }
      return null;
    }).catch(function () {});
  }
  function connected() {
    var started = Date.now();
    clearInterval(c.timer);
    function tick() {
      var secs = Math.floor((Date.now() - started) / 1000);
      setState(cfg.strings.connected + " · " + Math.floor(secs / 60) + ":" + String(secs % 60).padStart(2, "0"));
      if (secs && secs % 20 === 0 && c.call) send({ action: "alive", call_id: c.call.id });
    }
    tick();
    c.timer = setInterval(tick, 1000);
  }
  function teardown() {
    clearInterval(c.timer);
    if (c.pc) c.pc.close();
    c.pc = null;
    if (c.screen) c.screen.stop();
    c.screen = null;
    if (c.local) c.local.getTracks().forEach(function (t) { t.stop(); });
    c.local = null;
    c.cam = null;
    c.call = null;
    c.pendingKind = null;
  }
  function hangUp() {
    if (c.call) send({ action: "end", call_id: c.call.id });
    else { teardown(); closeWindow(); }
  }

  // ---- starting and answering ----------------------------------------------------------------------
  function start(kind, callId) {
    var conv = panelConversation();
    if (!conv) return;
    config().then(function () {
      if (c.call || c.pendingKind) { alert(cfg.strings.busy); return; }
      c.pendingKind = kind;
      return media(kind).then(function () {
        openWindow(kind, contactName());
        var frame = { action: "invite", conversation_id: conv, kind: kind };
        if (callId) frame.call_id = callId;
        send(frame);
      }, function () {
        c.pendingKind = null;
        alert(cfg.strings.no_media);
      });
    });
  }
  function accept(call) {
    config().then(function () {
      if (c.call || c.pendingKind) { alert(cfg.strings.busy); return; }
      c.pendingKind = call.kind;
      return media(call.kind).then(function () {
        openWindow(call.kind, contactName());
        setState(cfg.strings.connecting);
        c.call = call;
        send({ action: "accept", call_id: call.id });
      }, function () {
        c.pendingKind = null;
        alert(cfg.strings.no_media);
      });
    });
  }
  function showRequest(call) {
    var box = document.getElementById("call-request");
    if (!box || panelConversation() !== call.conversation_id) return;
    document.getElementById("call-request-text").textContent = cfg.strings[call.kind === "voice" ? "requested_voice" : "requested_video"];
    box.hidden = false;
    box.setAttribute("data-call-id", String(call.id));
    document.getElementById("call-request-accept").onclick = function () { box.hidden = true; accept(call); };
    document.getElementById("call-request-decline").onclick = function () { box.hidden = true; send({ action: "decline", call_id: call.id }); };
  }
  function hideRequest(callId) {
    var box = document.getElementById("call-request");
    if (box && Number(box.getAttribute("data-call-id")) === callId) box.hidden = true;
  }

  // ---- frames ------------------------------------------------------------------------------------
  function onFrame(f) {
    var s = cfg.strings;
    var call = f.call;
    var mine = c.call && ((call && call.id === c.call.id) || f.call_id === c.call.id);
    switch (f.action) {
      case "invite": // ours: it rings at the customer's
        if (call.agent_id === cfg.agent_id && c.pendingKind && !c.call) { c.call = call; setState(s.ringing); }
        break;
      case "requested":
        showRequest(call);
        break;
      case "accepted":
        hideRequest(call.id);
        if (call.agent_id !== cfg.agent_id || !c.call || call.id !== c.call.id) return;
        c.call = call;
        setState(s.connecting);
        if (!c.pc) makePc().catch(function () { send({ action: "end", call_id: call.id, reason: "failed" }); });
        break;
      case "ended":
        hideRequest(call.id);
        if (!mine) return;
        teardown();
        notice(call.outcome === "declined" ? s.declined : call.outcome === "missed" ? s.missed : call.outcome === "failed" ? s.failed : s.ended);
        break;
      case "due": // a booked call's time is near: its 지금 걸기 stands out where it is shown
        var item = document.querySelector('#call-booked li[data-call-id="' + call.id + '"]');
        if (item) {
          item.setAttribute("role", "alert");
          var badge = item.querySelector(".badge");
          if (badge) badge.textContent = s.due;
          var go = item.querySelector(".call-start-booked");
          if (go) go.classList.add("primary");
        }
        break;
      case "signal":
        if (mine && f.data) signal(f.data);
        break;
      case "media":
        if (!mine) return;
        var flags = document.getElementById("call-flags");
        if (flags) {
          flags.textContent = "";
          if (f.muted) flags.appendChild(el("span", "call-flag", s.customer_muted));
        }
        break;
      case "error":
        if (f.for === "invite" || f.for === "accept") {
          teardown();
          notice((f.error && f.error.message) || s.failed);
        }
        break;
      default:
        break;
    }
  }
  document.addEventListener("sodam:frame", function (ev) {
    var f = ev.detail;
    if (!f || f.type !== "call") return;
    config().then(function () { onFrame(f); }, function () {});
  });
  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (!t || !t.closest) return;
    var startBtn = t.closest(".call-start");
    if (startBtn) { start(startBtn.getAttribute("data-kind")); return; }
    var booked = t.closest(".call-start-booked");
    if (booked) start(booked.getAttribute("data-kind"), Number(booked.getAttribute("data-call-id")));
  });
  // A request still ringing when the conversation (and its call bar) loads.
  document.addEventListener("htmx:load", function () {
    var p = panel();
    if (!p) return;
    var live = null;
    try { live = JSON.parse(p.getAttribute("data-live") || "null"); } catch (e) { live = null; }
    if (live && live.status === "ringing" && live.initiator === "contact" && !live.agent_id) {
      config().then(function () { showRequest(live); });
    }
  });
  window.addEventListener("pagehide", function () { if (c.call && c.local) send({ action: "end", call_id: c.call.id }); });
  // What a test reads: the peer connection and the local stream.
  window.SodamCall = { state: c };
})();

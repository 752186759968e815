/* Sodam console: KakaoTalk answers' delivery state on messages shown live (the server renders
 * the same for messages already on the page: templates/kakao/_message.html), refreshed every
 * few seconds while an answer is still being sent. Text only (textContent). */
(function () {
  "use strict";
  function strings() {
    var c = document.getElementById("conversation");
    try { return JSON.parse((c && c.getAttribute("data-kakao-strings")) || "{}"); } catch (e) { return {}; }
  }
  function label(d) {
    var s = strings();
    return String(s[d.status] || d.status || "")
      .replace("{attempts}", String(d.attempts || 1)).replace("{error}", String(d.error || "-"))
      .replace("{parts}", String(d.parts || 1));
  }
  document.addEventListener("sodam:message-shown", function (event) {
    var el = event.detail.el, m = event.detail.message;
    var c = document.getElementById("conversation");
    if (!c || !c.hasAttribute("data-kakao-strings")) return;
    var via = m.payload && m.payload.via && m.payload.via.channel;
    var channel = via || c.getAttribute("data-own-channel");
    if (channel !== "kakao" || m.kind === "note" || (m.sender_type !== "agent" && m.sender_type !== "bot")) return;
    var state = document.createElement("div");
    state.className = "mail-delivery kakao-delivery mail-sending";
    state.setAttribute("data-delivery", "sending");
    state.textContent = label({ status: "sending" });
    el.appendChild(state);
    watch();
  });
  var timer = null;
  function pending() {
    return document.querySelectorAll('#messages .kakao-delivery[data-delivery="sending"], #messages .kakao-delivery[data-delivery="retrying"]');
  }
  function watch() {
    if (timer === null && pending().length) timer = setTimeout(poll, 2000);
  }
  function poll() {
    timer = null;
    var c = document.getElementById("conversation");
    if (!c || !pending().length) return;
    var id = Number(c.getAttribute("data-conversation-id"));
    fetch("/console/kakao/conversations/" + id + "/deliveries", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        pending().forEach(function (node) {
          var msg = node.closest(".msg");
          var d = msg && data.deliveries[msg.getAttribute("data-message-id")];
          if (!d || !d.status || d.status === node.getAttribute("data-delivery")) return;
          node.setAttribute("data-delivery", d.status);
          node.className = "mail-delivery kakao-delivery mail-" + d.status;
          node.textContent = label(d);
          if (d.error) node.title = String(d.error);
        });
      })
      .catch(function () { /* the next poll tries again */ })
      .then(watch);
  }
  document.addEventListener("DOMContentLoaded", watch);
  document.body && document.body.addEventListener("htmx:afterSettle", watch);
})();

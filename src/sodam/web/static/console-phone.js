/* Sodam console: phone cards (a callback task's 전화 예약 badge and outcome buttons, a
 * voicemail's player, a caller's number) on messages that arrive live. The server renders the
 * card (templates/voice/_message.html, the same as for messages already on the page); this
 * asks for it by message id and puts it under the message. */
(function () {
  "use strict";
  document.addEventListener("sodam:message-shown", function (event) {
    var el = event.detail.el, m = event.detail.message;
    var p = m && m.payload;
    if (!p || !(p.callback || p.voicemail || p.call)) return;
    var c = document.getElementById("conversation");
    var id = c && Number(c.getAttribute("data-conversation-id"));
    if (!id || Number(m.conversation_id) !== id || el.querySelector(".phone-card")) return;
    fetch("/console/conversations/" + id + "/phone-card?message=" + Number(m.id), {
      headers: { Accept: "text/html" }, credentials: "same-origin"
    })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        if (!html.trim() || el.querySelector(".phone-card")) return;
        // Our own server's template (Jinja-escaped), parsed inertly and moved in.
        var doc = new DOMParser().parseFromString(html, "text/html");
        Array.prototype.slice.call(doc.body.children).forEach(function (node) { el.appendChild(node); });
      })
      .catch(function () { /* the card shows on the next page load */ });
  });
})();

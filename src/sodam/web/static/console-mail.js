/* Sodam console: e-mail extras on messages that arrive live (the server renders the same for
 * messages already on the page: templates/mail/_message.html). Mail text is untrusted:
 * textContent only; the original HTML is only ever shown in a sandboxed frame on its own page. */
(function () {
  "use strict";
  document.addEventListener("sodam:message-shown", function (event) {
    var el = event.detail.el, m = event.detail.message;
    var c = document.getElementById("conversation");
    if (!c || c.getAttribute("data-channel") !== "email") return;
    var strings = {};
    try { strings = JSON.parse(c.getAttribute("data-mail-strings") || "{}"); } catch (e) { /* defaults */ }
    var mail = (m.payload && m.payload.mail) || {};
    if (mail.robot) {
      var robot = document.createElement("div");
      robot.className = "mail-robot";
      robot.textContent = "⚙ " + (strings.robot || "");
      el.appendChild(robot);
    }
    if (mail.quote) {
      var details = document.createElement("details");
      details.className = "mail-quote";
      var summary = document.createElement("summary");
      summary.textContent = strings.quote || "…";
      var pre = document.createElement("pre");
      pre.textContent = String(mail.quote);
      details.appendChild(summary);
      details.appendChild(pre);
      el.appendChild(details);
    }
    if (mail.direction === "in") {
      var link = document.createElement("a");
      link.className = "mail-original-link";
      link.href = "/console/conversations/" + Number(m.conversation_id) + "/original?message=" + Number(m.id);
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = strings.original || "";
      el.appendChild(link);
    }
    if ((m.sender_type === "agent" || m.sender_type === "bot") && (m.kind === "text" || m.kind === "bot")) {
      var state = document.createElement("div");
      state.className = "mail-delivery mail-sending";
      state.setAttribute("data-delivery", "sending");
      state.textContent = "✉ " + (strings.sending || "");
      el.appendChild(state);
      watch();
    }
  });

  // Answers still being sent: ask for their state every few seconds until none is left.
  var timer = null;
  function pending() {
    return document.querySelectorAll('#messages .mail-delivery[data-delivery="sending"], #messages .mail-delivery[data-delivery="retrying"]');
  }
  function watch() {
    if (timer === null && pending().length) timer = setTimeout(poll, 3000);
  }
  function poll() {
    timer = null;
    var c = document.getElementById("conversation");
    if (!c || c.getAttribute("data-channel") !== "email" || !pending().length) return;
    var strings = {};
    try { strings = JSON.parse(c.getAttribute("data-mail-strings") || "{}"); } catch (e) { /* defaults */ }
    var id = Number(c.getAttribute("data-conversation-id"));
    fetch("/console/conversations/" + id + "/deliveries", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        pending().forEach(function (node) {
          var msg = node.closest(".msg");
          var d = msg && data.deliveries[msg.getAttribute("data-message-id")];
          if (!d || !d.status || d.status === node.getAttribute("data-delivery")) return;
          node.setAttribute("data-delivery", d.status);
          node.className = "mail-delivery mail-" + d.status;
          var label = String(strings[d.status] || d.status)
            .replace("{attempts}", String(d.attempts || 1)).replace("{error}", String(d.error || "-"));
          node.textContent = "✉ " + label;
          if (d.error) node.title = String(d.error);
        });
      })
      .catch(function () { /* the next poll tries again */ })
      .then(watch);
  }
  document.addEventListener("DOMContentLoaded", watch);
  document.body && document.body.addEventListener("htmx:afterSettle", watch);
})();

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
    }
  });
})();

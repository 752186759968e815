/* Sodam console: `p` steps the open conversation's priority up (none → low → … → urgent → none);
 * the snooze menu closes on Esc or a click elsewhere. */
(function () {
  "use strict";
  var body = document.body;
  if (!body || !body.classList.contains("console")) return;
  function typingIn(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }
  // A key can come between htmx swapping the header in and wiring it up (its settle step):
  // htmx.process (idempotent) wires the button before it is clicked.
  function stepPriority() {
    var button = document.getElementById("priority-next");
    if (!button) return;
    if (window.htmx) window.htmx.process(button);
    button.click();
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    var help = document.getElementById("shortcuts");
    if (typingIn(ev.target) || (help && help.open)) return;
    if (ev.key === "p") {
      if (!document.getElementById("priority-next")) return;
      ev.preventDefault();
      stepPriority();
    } else if (ev.key === "Escape") {
      var menu = document.getElementById("snooze-menu");
      if (menu && menu.open) { menu.open = false; ev.preventDefault(); }
    }
  });
  document.addEventListener("click", function (ev) {
    var menu = document.getElementById("snooze-menu");
    if (menu && menu.open && !menu.contains(ev.target)) menu.open = false;
  });
  // A customer's message reopens a snoozed (or resolved) conversation on the server: show it.
  document.addEventListener("sodam:message-shown", function (ev) {
    var m = ev.detail.message;
    var actions = document.getElementById("status-actions");
    if (!m || m.sender_type !== "contact" || !actions) return;
    var status = actions.getAttribute("data-status");
    if (status !== "snoozed" && status !== "resolved") return;
    document.dispatchEvent(new CustomEvent("sodam:refresh-actions"));
  });
})();

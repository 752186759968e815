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
  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    var help = document.getElementById("shortcuts");
    if (typingIn(ev.target) || (help && help.open)) return;
    if (ev.key === "p") {
      var button = document.getElementById("priority-next");
      if (!button || document.querySelector("#conversation-actions.htmx-request, #conversation-actions .htmx-request")) return;
      ev.preventDefault();
      button.click();
    } else if (ev.key === "Escape") {
      var menu = document.getElementById("snooze-menu");
      if (menu && menu.open) { menu.open = false; ev.preventDefault(); }
    }
  });
  document.addEventListener("click", function (ev) {
    var menu = document.getElementById("snooze-menu");
    if (menu && menu.open && !menu.contains(ev.target)) menu.open = false;
  });
})();

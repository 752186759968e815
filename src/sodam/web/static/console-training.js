/* Training sandbox: the practice screen. The server decides which customer messages are due
   (GET …/feed); this file asks again when the next one is due, shows the trainee's replies
   and sends them to the practice's own endpoint (never a conversation). */
(function () {
  "use strict";
  var root = document.getElementById("practice");
  if (!root) return;
  var list = document.getElementById("messages");
  var typing = document.getElementById("customer-typing");
  var progress = document.getElementById("practice-progress");
  var form = document.getElementById("practice-form");
  var box = document.getElementById("practice-box");
  var errorLine = document.getElementById("practice-error");
  var article = document.getElementById("practice-article");
  var timer = null;

  function csrf() {
    var input = document.querySelector("#practice-form input[name=csrf_token], input[name=csrf_token]");
    return input ? input.value : "";
  }

  function seconds(ms) {
    var s = ms / 1000;
    if (s < 60) return Math.round(s) + "s";
    var m = Math.floor(s / 60), r = Math.floor(s % 60);
    return m + "m " + (r < 10 ? "0" : "") + r + "s";
  }

  function bubble(item) {
    var div = document.createElement("div");
    div.className = "msg " + (item.role === "customer" ? "msg-incoming" : "msg-outgoing");
    div.dataset.role = item.role;
    var meta = document.createElement("div");
    meta.className = "msg-meta";
    var who = document.createElement("span");
    who.className = "msg-sender";
    who.textContent = item.role === "customer" ? root.dataset.customerName : root.dataset.you;
    var at = document.createElement("span");
    at.className = "msg-offset";
    at.textContent = " +" + seconds(item.at_ms);
    meta.appendChild(who);
    meta.appendChild(at);
    var body = document.createElement("div");
    body.className = "msg-body";
    body.textContent = item.text;  // text only: never parsed as HTML
    div.appendChild(meta);
    div.appendChild(body);
    return div;
  }

  function render(state) {
    var nodes = state.items.map(bubble);
    Array.prototype.slice.call(list.querySelectorAll(".msg[data-role]")).forEach(function (n) { n.remove(); });
    nodes.forEach(function (n) { list.insertBefore(n, typing || null); });
    if (typing) typing.hidden = state.next_due_ms === null || state.finished;
    if (progress && progress.dataset.template) {
      progress.textContent = progress.dataset.template
        .replace("{shown}", state.customer_shown).replace("{total}", state.customer_total);
    }
    list.scrollTop = list.scrollHeight;
  }

  function schedule(ms) {
    if (timer) clearTimeout(timer);
    if (ms === null || ms === undefined || root.dataset.finished === "true") return;
    timer = setTimeout(poll, Math.max(150, Math.min(ms + 50, 5000)));
  }

  function poll() {
    fetch(root.dataset.feedUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
      .then(function (state) { render(state); schedule(state.next_due_ms); })
      .catch(function () { schedule(3000); });
  }

  if (article && box) {
    article.addEventListener("change", function () {
      var option = article.selectedOptions[0];
      if (!option || !option.value) return;
      var text = option.dataset.title + "\n" + option.value;
      box.value = box.value ? box.value.replace(/\s*$/, "") + "\n" + text : text;
      article.value = "";
      box.focus();
    });
  }

  function send(event) {
    if (event) event.preventDefault();
    var content = box.value.trim();
    if (!content) return;
    errorLine.hidden = true;
    fetch(root.dataset.replyUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ content: content })
    }).then(function (r) {
      if (!r.ok) return r.json().then(function (b) { return Promise.reject(b); });
      box.value = "";
      poll();
    }).catch(function (body) {
      errorLine.textContent = (body && body.error && body.error.message) || root.dataset.error;
      errorLine.hidden = false;
    });
  }

  if (form) {
    form.addEventListener("submit", send);
    box.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) send(e);
    });
  }
  var first = root.dataset.nextDue;
  schedule(first === "" ? null : parseInt(first, 10));
})();

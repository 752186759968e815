/* Sodam console: files in the reply box (button, drag and drop, paste) and files in messages.
 * Each file is uploaded at once to /console/conversations/{id}/attachments; the reply names the
 * uploaded ids in its hidden `attachments` field, so a file is part of the message (same
 * client_id idempotency as text). File names are untrusted: textContent only. */
(function () {
  "use strict";
  var body = document.body;
  if (!body || !body.classList.contains("console")) return;
  var uploads = []; // {id, name, li, done}

  function csrf() {
    try { return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  }
  function attr(name) {
    var b = document.getElementById("reply-attach");
    return b ? b.getAttribute(name) || "" : "";
  }
  function size(n) {
    if (n >= 1048576) return (n / 1048576).toFixed(1) + " MB";
    if (n >= 1024) return Math.round(n / 1024) + " KB";
    return n + " B";
  }
  function errorOf(text) {
    try { var p = JSON.parse(text); if (p && p.error && p.error.message) return p.error.message; } catch (e) { /* not JSON */ }
    return attr("data-failed");
  }
  function showError(text) {
    var el = document.getElementById("reply-error");
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }
  function syncField() {
    var field = document.getElementById("reply-attachments");
    var list = document.getElementById("reply-files");
    var ids = uploads.filter(function (u) { return u.id; }).map(function (u) { return u.id; });
    if (field) field.value = ids.join(",");
    if (list) list.hidden = uploads.length === 0;
  }
  function busy() { return uploads.some(function (u) { return !u.done; }); }
  function remove(u) {
    uploads = uploads.filter(function (x) { return x !== u; });
    if (u.li && u.li.parentNode) u.li.parentNode.removeChild(u.li);
    syncField();
  }
  function clearAll() {
    uploads.slice().forEach(remove);
  }

  function upload(file) {
    var input = document.getElementById("reply-file-input");
    var list = document.getElementById("reply-files");
    if (!input || !list || !file) return;
    var u = { id: null, name: file.name || "file", done: false };
    var li = document.createElement("li");
    li.className = "reply-file uploading";
    var name = document.createElement("span");
    name.className = "att-name";
    name.textContent = u.name;
    var state = document.createElement("span");
    state.className = "att-size";
    state.textContent = attr("data-uploading");
    var x = document.createElement("button");
    x.type = "button";
    x.className = "reply-file-remove";
    x.setAttribute("aria-label", attr("data-remove") + " " + u.name);
    x.textContent = "×";
    x.addEventListener("click", function () { remove(u); });
    li.appendChild(name); li.appendChild(state); li.appendChild(x);
    u.li = li;
    list.appendChild(li);
    uploads.push(u);
    syncField();
    showError("");
    var data = new FormData();
    data.append("file", file, u.name);
    fetch(input.getAttribute("data-upload-url"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf() }
    })
      .then(function (r) {
        return r.text().then(function (text) {
          if (!r.ok) throw new Error(errorOf(text));
          var a = JSON.parse(text);
          u.id = a.id;
          li.classList.remove("uploading");
          li.setAttribute("data-attachment-id", a.id);
          state.textContent = size(a.size);
        });
      })
      .catch(function (err) {
        remove(u);
        showError(err && err.message ? err.message : attr("data-failed"));
      })
      .then(function () { u.done = true; syncField(); });
  }
  function uploadAll(files) {
    Array.prototype.forEach.call(files || [], upload);
  }

  document.addEventListener("click", function (ev) {
    if (ev.target && ev.target.id === "reply-attach") {
      var input = document.getElementById("reply-file-input");
      if (input) input.click();
    }
  });
  document.addEventListener("change", function (ev) {
    if (ev.target && ev.target.id === "reply-file-input") {
      uploadAll(ev.target.files);
      ev.target.value = "";
    }
  });
  document.addEventListener("paste", function (ev) {
    if (!ev.target || ev.target.id !== "reply-box" || !ev.clipboardData) return;
    var files = ev.clipboardData.files;
    if (files && files.length) { ev.preventDefault(); uploadAll(files); }
  });
  function inForm(ev) { return ev.target && ev.target.closest && ev.target.closest("#reply-form"); }
  document.addEventListener("dragover", function (ev) {
    var form = inForm(ev);
    if (!form || !ev.dataTransfer || Array.prototype.indexOf.call(ev.dataTransfer.types || [], "Files") < 0) return;
    ev.preventDefault();
    form.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (ev) {
    var form = inForm(ev);
    if (form && !form.contains(ev.relatedTarget)) form.classList.remove("drop-target");
  });
  document.addEventListener("drop", function (ev) {
    var form = inForm(ev);
    if (!form || !ev.dataTransfer || !ev.dataTransfer.files.length) return;
    ev.preventDefault();
    form.classList.remove("drop-target");
    uploadAll(ev.dataTransfer.files);
  });
  // While a file is still uploading, the reply waits (it would go without it).
  function hold(ev) {
    if (!busy()) return;
    ev.preventDefault();
    ev.stopPropagation();
    showError(attr("data-wait"));
  }
  document.addEventListener("submit", function (ev) { if (ev.target && ev.target.id === "reply-form") hold(ev); }, true);
  document.addEventListener("keydown", function (ev) {
    if (ev.target && ev.target.id === "reply-box" && ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) hold(ev);
  }, true);
  document.addEventListener("sodam:reply-sent", clearAll);
  document.addEventListener("htmx:afterSwap", function (ev) {
    if (ev.detail.target && ev.detail.target.id === "conversation-area") uploads = [];
  });

  // ---- files in live messages (the server renders them on page load) ----------------
  function card(a) {
    var url = "/console/attachments/" + encodeURIComponent(a.id);
    if (a.kind === "image") {
      var link = document.createElement("a");
      link.className = "att-image";
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.title = a.name;
      var img = document.createElement("img");
      img.src = url;
      img.alt = a.name;
      img.loading = "lazy";
      link.appendChild(img);
      return link;
    }
    var file = document.createElement("a");
    file.className = "att-file";
    file.href = url + "?download=true";
    file.setAttribute("download", a.name);
    var ns = "http://www.w3.org/2000/svg";
    var icon = document.createElementNS(ns, "svg");
    icon.setAttribute("class", "att-icon"); icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("width", "18"); icon.setAttribute("height", "18"); icon.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M14 2H6c-1.1 0-2 .9-2 2v16c0 1.1.9 2 2 2h12c1.1 0 2-.9 2-2V8l-6-6zm-1 7V3.5L18.5 9H13z");
    icon.appendChild(path);
    var name = document.createElement("span"); name.className = "att-name"; name.textContent = a.name;
    var sz = document.createElement("span"); sz.className = "att-size"; sz.textContent = size(Number(a.size) || 0);
    file.appendChild(icon); file.appendChild(name); file.appendChild(sz);
    return file;
  }
  document.addEventListener("sodam:message-shown", function (ev) {
    var m = ev.detail.message;
    var files = m && m.payload && Array.isArray(m.payload.attachments) ? m.payload.attachments : [];
    if (!files.length) return;
    var box = document.createElement("div");
    box.className = "attachments";
    files.forEach(function (a) { if (a && typeof a.id === "string") box.appendChild(card(a)); });
    ev.detail.el.appendChild(box);
  });
})();

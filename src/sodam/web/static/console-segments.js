// The segment builder (console/segments/edit.html): rows of conditions written into the form's
// JSON filter (the textarea stays the source of truth and works without this script), and a
// live count from POST /console/segments/preview as the conditions change.
(function () {
  "use strict";
  var builder = document.getElementById("segment-builder");
  var textarea = document.getElementById("segment-filter");
  if (!builder || !textarea) return;

  function data(name) { try { return JSON.parse(builder.getAttribute("data-" + name) || "{}"); } catch (e) { return {}; } }
  var FIELDS = data("fields"), FIELD_LABELS = data("field-labels"), OP_LABELS = data("op-labels");
  var CHANNELS = data("channels"), SENTIMENTS = data("sentiments"), S = data("strings");
  var rows = document.getElementById("segment-rows");
  var mode = document.getElementById("segment-mode");
  var live = document.getElementById("segment-live-count");
  var liveError = document.getElementById("segment-live-error");
  var LISTS = { language: 1, channel: 1, tag: 1 };
  var NUMBERS = { csat: 1, nps: 1, ces: 1, conversations: 1 };

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }
  function options(select, values, labels, current) {
    select.textContent = "";
    values.forEach(function (v) {
      var o = el("option", { value: String(v), text: labels ? (labels[v] || v) : String(v) });
      if (String(v) === String(current)) o.selected = true;
      select.appendChild(o);
    });
  }

  // What kind of value input a field and operator take.
  function valueKind(field, op) {
    if (op === "set" || op === "not_set") return "none";
    if (field === "open_conversation") return "bool";
    if (field === "sentiment") return op === "is" ? "sentiment" : "score";
    if (field === "churn_risk") return "risk";
    if (field === "channel") return "channel";
    if (op === "in" || op === "not_in" || LISTS[field]) return "list";
    if (op === "before" || op === "after") return "date";
    if (NUMBERS[field] || op === "within_days" || op === "not_within_days") return "int";
    if (op === "gt" || op === "gte" || op === "lt" || op === "lte") return "number";
    return "text";
  }

  function valueInput(kind, value) {
    var input;
    if (kind === "bool") {
      input = el("select", { "class": "seg-value", "aria-label": S.value });
      options(input, ["true", "false"], { "true": S.yes, "false": S.no }, String(value === undefined ? true : value));
    } else if (kind === "sentiment") {
      input = el("select", { "class": "seg-value", "aria-label": S.value });
      options(input, Object.keys(SENTIMENTS), SENTIMENTS, value || "negative");
    } else if (kind === "channel") {
      input = el("select", { "class": "seg-value", "aria-label": S.value });
      options(input, CHANNELS, null, Array.isArray(value) ? value[0] : CHANNELS[0]);
    } else {
      var type = { date: "date", "int": "number", number: "number", score: "number", risk: "number" }[kind] || "text";
      input = el("input", { "class": "seg-value", type: type, "aria-label": S.value });
      if (kind === "score") { input.step = "0.1"; input.min = "-1"; input.max = "1"; }
      if (kind === "risk") { input.step = "0.05"; input.min = "0"; input.max = "1"; }
      if (kind === "number") input.step = "any";
      if (kind === "list") input.placeholder = S.list;
      if (value !== undefined && value !== null) input.value = Array.isArray(value) ? value.join(", ") : String(value).slice(0, kind === "date" ? 10 : 200);
    }
    return input;
  }

  function readValue(kind, input) {
    var raw = input.value;
    if (kind === "bool") return raw === "true";
    if (kind === "channel") return [raw];
    if (kind === "list") return raw.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    if (kind === "int") return raw === "" ? null : parseInt(raw, 10);
    if (kind === "number" || kind === "score" || kind === "risk") return raw === "" ? null : Number(raw);
    if (kind === "text") {
      // An attribute's "equals" keeps numbers and true/false typed, as the API would get them.
      if (/^-?\d+(\.\d+)?$/.test(raw.trim())) return Number(raw.trim());
      if (raw === "true" || raw === "false") return raw === "true";
    }
    return raw;
  }

  function addRow(cond) {
    cond = cond || { field: "tier", op: "eq", value: "" };
    var li = el("li", { "class": "segment-row" });
    var field = el("select", { "class": "seg-field", "aria-label": S.value });
    options(field, Object.keys(FIELDS), FIELD_LABELS, cond.field);
    var key = el("input", { "class": "seg-key", type: "text", placeholder: S.key, "aria-label": S.key, maxlength: "64" });
    key.value = cond.key || "";
    var op = el("select", { "class": "seg-op" });
    var days = el("input", { "class": "seg-days", type: "number", min: "1", max: "3650", "aria-label": S.days, placeholder: S.days });
    days.value = cond.days || 30;
    var slot = el("span", { "class": "seg-value-slot" });
    var remove = el("button", { type: "button", "class": "seg-remove", "aria-label": S.remove, text: "×" });
    li.appendChild(field); li.appendChild(key); li.appendChild(op); li.appendChild(slot); li.appendChild(days); li.appendChild(remove);

    function refresh(keepValue) {
      var f = field.value;
      var ops = FIELDS[f] || [];
      options(op, ops, OP_LABELS, ops.indexOf(op.value) >= 0 ? op.value : (ops.indexOf(cond.op) >= 0 ? cond.op : ops[0]));
      key.hidden = f !== "attribute";
      days.hidden = f !== "conversations";
      var kind = valueKind(f, op.value);
      li.setAttribute("data-kind", kind);
      slot.textContent = "";
      if (kind !== "none") slot.appendChild(valueInput(kind, keepValue ? cond.value : undefined));
    }
    field.addEventListener("change", function () { refresh(false); sync(); });
    op.addEventListener("change", function () {
      var before = li.getAttribute("data-kind");
      var kind = valueKind(field.value, op.value);
      if (kind !== before) { li.setAttribute("data-kind", kind); slot.textContent = ""; if (kind !== "none") slot.appendChild(valueInput(kind)); }
      sync();
    });
    li.addEventListener("input", sync);
    li.addEventListener("change", sync);
    remove.addEventListener("click", function () { li.remove(); sync(); });
    refresh(true);
    rows.appendChild(li);
  }

  function build() {
    var items = [];
    rows.querySelectorAll(".segment-row").forEach(function (li) {
      var f = li.querySelector(".seg-field").value, op = li.querySelector(".seg-op").value;
      var cond = { field: f, op: op };
      if (f === "attribute") cond.key = li.querySelector(".seg-key").value.trim();
      var kind = li.getAttribute("data-kind");
      var input = li.querySelector(".seg-value");
      if (kind !== "none" && input) cond.value = readValue(kind, input);
      if (f === "conversations") cond.days = parseInt(li.querySelector(".seg-days").value, 10);
      items.push(cond);
    });
    var out = {};
    out[mode.value] = items;
    return out;
  }

  var timer = null, seq = 0;
  function preview() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var mine = ++seq;
      var body = new FormData();
      body.append("filter", textarea.value);
      live.textContent = "…";
      fetch("/console/segments/preview", {
        method: "POST", body: body, credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": csrf() }
      }).then(function (r) { return r.json(); }).then(function (res) {
        if (mine !== seq) return;  // an older answer arriving late
        if (res.error) {
          live.textContent = "—";
          var d = res.error.details || {};
          liveError.textContent = d.path ? d.path + ": " + d.reason : res.error.message;
          liveError.hidden = false;
        } else {
          live.textContent = res.count.toLocaleString() + " " + S.people;
          live.setAttribute("data-count", String(res.count));
          liveError.hidden = true;
        }
      }).catch(function () { if (mine === seq) live.textContent = "—"; });
    }, 250);
  }

  function sync() {
    textarea.value = JSON.stringify(build());
    preview();
  }

  // Start from the stored filter: one flat group becomes rows; nested groups stay in JSON.
  var start;
  try { start = JSON.parse(textarea.value || "{}"); } catch (e) { start = null; }
  var group = start && (start.all || start.any);
  var flat = Array.isArray(group) && group.every(function (c) { return c && typeof c === "object" && "field" in c; });
  if (flat) {
    mode.value = start.any ? "any" : "all";
    group.forEach(addRow);
    builder.hidden = false;
    mode.addEventListener("change", sync);
    document.getElementById("segment-add").addEventListener("click", function () { addRow(); sync(); });
  } else {
    document.getElementById("segment-json").open = true;
    var note = el("p", { "class": "muted", text: S.nested });
    builder.parentNode.insertBefore(note, builder);
  }
  textarea.addEventListener("input", preview);
  preview();
})();

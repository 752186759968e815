// The automation rule builder (automations/edit.html): the trigger's settings shown for the
// chosen trigger, conditions as rows (field → operator → a value input fitting the field) and
// steps as ordered cards. Every change is written as JSON into the form's two text areas
// (under 고급), which the form posts and the server validates; without this script the text
// areas are the editor. A refused save names the bad part's JSON path (steps[0].text.en):
// the field at that path is marked and its reason shown beside it.
(function () {
  "use strict";
  var form = document.getElementById("automation-form");
  if (!form) return;
  var CAT;
  try { CAT = JSON.parse(form.getAttribute("data-catalog") || "{}"); } catch (e) { return; }
  var L = CAT.labels || {}, S = L.s || {};
  var condArea = document.getElementById("automation-conditions");
  var stepArea = document.getElementById("automation-steps");
  var condBuilder = document.getElementById("condition-builder");
  var stepBuilder = document.getElementById("step-builder");
  var condRows = document.getElementById("condition-rows");
  var stepCards = document.getElementById("step-cards");
  var advanced = document.getElementById("automation-advanced");
  var note = document.getElementById("builder-note");
  var CHOICES = { "contact.language": 1, "conversation.channel": 1, "conversation.priority": 1, "conversation.inbox": 1, "time.weekday": 1 };
  var NUMERIC_OPS = { gt: 1, gte: 1, lt: 1, lte: 1 };
  var uid = 0;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] === undefined || attrs[k] === null) return;
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function labelled(text, control) {
    var id = control.id || ("ab-" + (++uid));
    control.id = id;
    return el("div", { "class": "b-field" }, [el("label", { "for": id, text: text }), control]);
  }
  // A select of [value, label] pairs; a stored value no longer offered stays, shown as "#value".
  function select(pairs, current, attrs) {
    var s = el("select", attrs || {});
    var found = false;
    pairs.forEach(function (p) {
      var o = el("option", { value: String(p[0]), text: p[1] });
      if (current !== undefined && current !== null && String(p[0]) === String(current)) { o.selected = true; found = true; }
      s.appendChild(o);
    });
    if (!found && current !== undefined && current !== null && current !== "") {
      var extra = el("option", { value: String(current), text: "#" + current });
      extra.selected = true;
      s.appendChild(extra);
    }
    return s;
  }
  function byId(list) { return list.map(function (x) { return [x.id, x.name]; }); }
  function intOrNull(raw) { return raw === "" || raw === undefined ? null : (/^\d+$/.test(String(raw)) ? parseInt(raw, 10) : raw); }

  // -- conditions ---------------------------------------------------------------------------
  function attrDefs(field) {
    if (field === "contact.attribute") return CAT.contact_attributes || [];
    if (field === "company.attribute") return CAT.company_attributes || [];
    return [];
  }
  function choicePairs(field, value) {
    var pairs;
    if (field === "contact.language") pairs = CAT.languages.map(function (v) { return [v, L.languages[v] || v]; });
    else if (field === "conversation.channel") pairs = CAT.channels.map(function (v) { return [v, L.channels[v] || v]; });
    else if (field === "conversation.priority") pairs = CAT.priorities.map(function (v) { return [v, L.priorities[v] || v]; });
    else if (field === "conversation.inbox") pairs = byId(CAT.inboxes || []);
    else pairs = L.weekdays.map(function (label, i) { return [i, label]; });
    (Array.isArray(value) ? value : []).forEach(function (v) {
      if (!pairs.some(function (p) { return String(p[0]) === String(v); })) pairs.push([v, String(v)]);
    });
    return pairs;
  }
  // What kind of value input a field, operator (and attribute definition) take.
  function valueKind(field, op, def) {
    if (op === "set" || op === "not_set") return "none";
    if (CHOICES[field]) return "choices";
    if (field === "company.plan") return "list";
    if (field === "segment") return "segment";
    if (field === "contact.resolved_conversations") return "int";
    if (field === "time.business_hours") return "bool";
    if (NUMERIC_OPS[op]) return "number";
    if (op === "contains") return "text";
    if (def) {
      if (def.type === "number" || def.type === "money") return "number";
      if (def.type === "boolean") return "bool";
      if (def.type === "date") return "date";
      if (def.type === "list" && def.options && def.options.length) return "options";
      return "text";
    }
    if (field === "contact.attribute" || field === "company.attribute" || field === "event.property") return "auto";
    return "text";
  }
  function valueInput(kind, field, value, def) {
    var input;
    if (kind === "choices") {
      input = el("div", { "class": "b-choices", role: "group", "aria-label": S.value });
      var chosen = (Array.isArray(value) ? value : []).map(String);
      choicePairs(field, value).forEach(function (p) {
        var box = el("input", { type: "checkbox", value: String(p[0]) });
        box.checked = chosen.indexOf(String(p[0])) >= 0;
        input.appendChild(el("label", { "class": "b-chip" }, [box, document.createTextNode(" " + p[1])]));
      });
      return input;
    }
    if (kind === "bool") return select([["true", S.yes], ["false", S.no]], value === false || value === "false" ? "false" : "true", { "aria-label": S.value });
    if (kind === "segment") return select([["", S.choose]].concat(byId(CAT.segments || [])), value, { "aria-label": S.value });
    if (kind === "options") return select(def.options.map(function (o) { return [o, o]; }), value, { "aria-label": S.value });
    var type = { "int": "number", number: "number", date: "date" }[kind] || "text";
    input = el("input", { type: type, "aria-label": S.value, maxlength: type === "text" ? "500" : null });
    if (kind === "number") input.step = "any";
    if (kind === "int") input.min = "0";
    if (kind === "list") input.placeholder = S.list_hint;
    if (value !== undefined && value !== null) input.value = Array.isArray(value) ? value.join(", ") : String(value);
    return input;
  }
  function readValue(kind, input) {
    if (kind === "choices") {
      var out = [];
      input.querySelectorAll("input:checked").forEach(function (b) { out.push(/^\d+$/.test(b.value) && b.closest("[data-field]").getAttribute("data-field") !== "contact.language" ? parseInt(b.value, 10) : b.value); });
      return out;
    }
    var raw = input.value;
    if (kind === "bool") return raw === "true";
    if (kind === "segment") return intOrNull(raw);
    if (kind === "list") return raw.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    if (kind === "int") return raw === "" ? null : (/^-?\d+$/.test(raw) ? parseInt(raw, 10) : raw);
    if (kind === "number") return raw === "" ? null : (isNaN(Number(raw)) ? raw : Number(raw));
    if (kind === "auto") {
      // "equals" on a free attribute keeps numbers and true/false typed, as the API would get them.
      var t = raw.trim();
      if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
      if (t === "true" || t === "false") return t === "true";
    }
    return raw;
  }

  function addCondition(cond) {
    cond = cond || { field: "contact.language", op: "in", value: [] };
    var li = el("li", { "class": "condition-row" });
    var fields = Object.keys(CAT.conditions);
    var field = select(fields.map(function (f) { return [f, L.fields[f] || f]; }), cond.field, { "class": "c-field", "data-part": "field", "aria-label": S.key });
    var keySlot = el("span", { "class": "c-key-slot" });
    var op = el("select", { "class": "c-op", "data-part": "op", "aria-label": S.value });
    var slot = el("span", { "class": "c-value-slot" });
    var remove = el("button", { type: "button", "class": "c-remove icon-button", "aria-label": S.remove, title: S.remove, text: "×" });
    li.appendChild(field); li.appendChild(keySlot); li.appendChild(op); li.appendChild(slot); li.appendChild(remove);
    var state = { key: cond.key, value: cond.value, op: cond.op };

    function def() {
      var key = currentKey();
      return attrDefs(field.value).filter(function (d) { return d.key === key; })[0] || null;
    }
    function currentKey() {
      var s = keySlot.querySelector("select"), t = keySlot.querySelector("input");
      if (s && s.value !== "__other") return s.value;
      return t ? t.value.trim() : "";
    }
    function renderKey() {
      keySlot.textContent = "";
      var f = field.value;
      if ((CAT.keyed || []).indexOf(f) < 0) return;
      var defs = attrDefs(f);
      var text = el("input", { type: "text", "class": "c-key", "data-part": "key", maxlength: "64", placeholder: S.key, "aria-label": S.key });
      if (defs.length) {
        var known = defs.some(function (d) { return d.key === state.key; });
        var pairs = defs.map(function (d) { return [d.key, d.label]; }).concat([["__other", S.other_key]]);
        var pick = select(pairs, known || !state.key ? (state.key || defs[0].key) : "__other", { "class": "c-key", "data-part": "key", "aria-label": S.key });
        keySlot.appendChild(pick);
        text.hidden = pick.value !== "__other";
        if (!known && state.key) text.value = state.key;
        pick.addEventListener("change", function () { text.hidden = pick.value !== "__other"; state.key = currentKey(); renderValue(false); });
      } else if (state.key) {
        text.value = state.key;
      }
      keySlot.appendChild(text);
    }
    function renderOps() {
      var ops = CAT.conditions[field.value] || [];
      var pick = ops.indexOf(op.value) >= 0 ? op.value : (ops.indexOf(state.op) >= 0 ? state.op : ops[0]);
      op.textContent = "";
      ops.forEach(function (o) {
        var opt = el("option", { value: o, text: L.ops[o] || o });
        if (o === pick) opt.selected = true;
        op.appendChild(opt);
      });
    }
    function renderValue(keep) {
      var d = def();
      var kind = valueKind(field.value, op.value, d);
      li.setAttribute("data-kind", kind);
      li.setAttribute("data-field", field.value);
      slot.textContent = "";
      if (kind === "none") return;
      var input = valueInput(kind, field.value, keep ? state.value : undefined, d);
      input.classList.add("c-value");
      input.setAttribute("data-part", "value");
      slot.appendChild(input);
    }
    li._read = function () {
      var c = { field: field.value, op: op.value };
      if ((CAT.keyed || []).indexOf(c.field) >= 0) c.key = currentKey();
      var kind = li.getAttribute("data-kind");
      var input = slot.querySelector(".c-value");
      if (kind !== "none" && input) c.value = readValue(kind, input);
      return c;
    };
    field.addEventListener("change", function () { state.key = undefined; renderKey(); renderOps(); renderValue(false); sync(); });
    op.addEventListener("change", function () {
      var before = li.getAttribute("data-kind");
      if (valueKind(field.value, op.value, def()) !== before) {
        state.value = slot.querySelector(".c-value") ? readValue(before, slot.querySelector(".c-value")) : undefined;
        renderValue(typeof state.value !== "object" || Array.isArray(state.value));
      }
      sync();
    });
    keySlot.addEventListener("input", function () { state.key = currentKey(); });
    remove.addEventListener("click", function () { li.remove(); sync(); });
    renderKey(); renderOps(); renderValue(true);
    condRows.appendChild(li);
    return li;
  }

  // -- steps --------------------------------------------------------------------------------
  var PLACEHOLDER_TARGETS = "textarea, input[data-part^='subject']";
  function textPair(prefix, value, multiline, labels) {
    var wrap = el("div", { "class": "b-pair" });
    ["ko", "en"].forEach(function (lang) {
      var input = multiline
        ? el("textarea", { rows: "3", maxlength: "4000", "data-part": prefix + "." + lang, lang: lang })
        : el("input", { type: "text", maxlength: "4000", "data-part": prefix + "." + lang, lang: lang });
      input.value = (value && value[lang]) || "";
      if (multiline) input.rows = Math.min(10, Math.max(3, Math.ceil(input.value.length / 45) + 1));
      wrap.appendChild(labelled(labels[lang], input));
    });
    return wrap;
  }
  function placeholderBar(card) {
    var bar = el("div", { "class": "b-placeholders" }, [el("span", { "class": "muted", text: S.insert })]);
    (CAT.placeholders || []).forEach(function (p) {
      var chip = el("button", { type: "button", "class": "b-placeholder", text: p });
      chip.addEventListener("mousedown", function (e) { e.preventDefault(); });  // keep the caret where it was
      chip.addEventListener("click", function () {
        var target = card._lastText || card.querySelector("textarea");
        if (!target) return;
        var start = target.selectionStart == null ? target.value.length : target.selectionStart;
        var end = target.selectionEnd == null ? start : target.selectionEnd;
        target.value = target.value.slice(0, start) + p + target.value.slice(end);
        target.focus();
        target.setSelectionRange(start + p.length, start + p.length);
        target.dispatchEvent(new Event("input", { bubbles: true }));
      });
      bar.appendChild(chip);
    });
    return bar;
  }
  function stepBody(type, step, card) {
    var body = el("div", { "class": "step-body" });
    var inboxes = CAT.inboxes || [];
    if (type === "message") {
      body.appendChild(labelled(S.inbox, select([["", S.inbox_auto]].concat(byId(inboxes.filter(function (i) { return i.channel !== "email" && i.channel !== "phone"; }))), step.inbox_id, { "data-part": "inbox_id" })));
      body.appendChild(textPair("text", step.text, true, { ko: S.text_ko, en: S.text_en }));
      body.appendChild(placeholderBar(card));
    } else if (type === "email") {
      body.appendChild(labelled(S.email_inbox, select([["", S.choose]].concat(byId(inboxes.filter(function (i) { return i.channel === "email"; }))), step.inbox_id, { "data-part": "inbox_id" })));
      body.appendChild(textPair("subject", step.subject, false, { ko: S.subject_ko, en: S.subject_en }));
      body.appendChild(textPair("text", step.text, true, { ko: S.text_ko, en: S.text_en }));
      body.appendChild(placeholderBar(card));
    } else if (type === "tag") {
      var tag = el("input", { type: "text", maxlength: "60", "data-part": "tag" });
      tag.value = step.tag || "";
      body.appendChild(labelled(S.tag, tag));
    } else if (type === "assign") {
      var row = el("div", { "class": "b-pair" });
      row.appendChild(labelled(S.team, select([["", S.nobody]].concat(byId(CAT.teams || [])), step.team_id, { "data-part": "team_id" })));
      row.appendChild(labelled(S.agent, select([["", S.nobody]].concat(byId(CAT.agents || [])), step.agent_id, { "data-part": "agent_id" })));
      body.appendChild(row);
    } else if (type === "priority") {
      body.appendChild(labelled(S.priority, select(CAT.priorities.map(function (p) { return [p, L.priorities[p] || p]; }), step.priority || "high", { "data-part": "priority" })));
    } else if (type === "escalate") {
      body.appendChild(textPair("note", step.note, true, { ko: S.note_ko, en: S.note_en }));
    } else if (type === "survey") {
      body.appendChild(labelled(S.survey, select([["", S.choose]].concat(byId(CAT.surveys || [])), step.survey_id, { "data-part": "survey_id" })));
    } else if (type === "webhook") {
      body.appendChild(labelled(S.webhook, select([["", S.choose]].concat(byId(CAT.webhooks || [])), step.subscription_id, { "data-part": "subscription_id" })));
    } else {  // wait: N hours or N days (both stored: shown as hours)
      var unit = step.hours && !step.days ? "hours" : (step.hours ? "hours" : "days");
      var amount = unit === "days" ? (step.days || 1) : (step.hours || 0) + (step.days || 0) * 24;
      var n = el("input", { type: "number", min: "1", "class": "wait-amount", "data-part": unit });
      n.value = String(amount);
      var u = select([["hours", S.hours], ["days", S.days]], unit, { "class": "wait-unit", "aria-label": S.wait_for });
      u.addEventListener("change", function () { n.setAttribute("data-part", u.value); });
      body.appendChild(el("div", { "class": "b-wait" }, [labelled(S.wait_for, n), u]));
    }
    return body;
  }
  function readStep(card) {
    var type = card.querySelector(".s-type").value;
    var out = { type: type };
    function part(name) { var x = card.querySelector("[data-part='" + name + "']"); return x ? x.value : ""; }
    function pair(name) { return { ko: part(name + ".ko"), en: part(name + ".en") }; }
    if (type === "message") {
      out.text = pair("text");
      if (part("inbox_id")) out.inbox_id = intOrNull(part("inbox_id"));
    } else if (type === "email") {
      out.inbox_id = intOrNull(part("inbox_id"));
      out.subject = pair("subject");
      out.text = pair("text");
    } else if (type === "tag") {
      out.tag = part("tag");
    } else if (type === "assign") {
      if (part("team_id")) out.team_id = intOrNull(part("team_id"));
      if (part("agent_id")) out.agent_id = intOrNull(part("agent_id"));
    } else if (type === "priority") {
      out.priority = part("priority");
    } else if (type === "escalate") {
      var n = pair("note");
      if (n.ko.trim() || n.en.trim()) out.note = n;
    } else if (type === "survey") {
      out.survey_id = intOrNull(part("survey_id"));
    } else if (type === "webhook") {
      out.subscription_id = intOrNull(part("subscription_id"));
    } else {
      var unit = card.querySelector(".wait-unit").value;
      out[unit] = intOrNull(card.querySelector(".wait-amount").value.trim());
    }
    return out;
  }
  function renumber() {
    var cards = stepCards.querySelectorAll(".step-card");
    cards.forEach(function (card, i) {
      card.querySelector(".s-number").textContent = S.step_n.replace("{n}", String(i + 1));
      card.querySelector(".s-up").disabled = i === 0;
      card.querySelector(".s-down").disabled = i === cards.length - 1;
    });
    document.getElementById("condition-empty").hidden = condRows.children.length > 0;
  }
  function addStep(step) {
    step = step || { type: "message", text: { ko: "", en: "" } };
    var card = el("li", { "class": "step-card" });
    var type = select(CAT.steps.map(function (t) { return [t, L.steps[t] || t]; }), step.type, { "class": "s-type", "data-part": "type", "aria-label": S.choose });
    var up = el("button", { type: "button", "class": "s-up icon-button", "aria-label": S.up, title: S.up, text: "↑" });
    var down = el("button", { type: "button", "class": "s-down icon-button", "aria-label": S.down, title: S.down, text: "↓" });
    var remove = el("button", { type: "button", "class": "s-remove icon-button", "aria-label": S.remove, title: S.remove, text: "×" });
    var head = el("div", { "class": "step-head" }, [el("span", { "class": "s-number" }), type, el("span", { "class": "step-tools" }, [up, down, remove])]);
    card.appendChild(head);
    var body = stepBody(step.type, step, card);
    card.appendChild(body);
    card.addEventListener("focusin", function (e) { if (e.target.matches(PLACEHOLDER_TARGETS)) card._lastText = e.target; });
    type.addEventListener("change", function () {
      var old = readStep(card);
      old.type = type.value;
      card._lastText = null;
      var fresh = stepBody(type.value, old, card);
      card.replaceChild(fresh, card.querySelector(".step-body"));
      sync();
    });
    up.addEventListener("click", function () { if (card.previousElementSibling) { stepCards.insertBefore(card, card.previousElementSibling); up.focus(); sync(); } });
    down.addEventListener("click", function () { if (card.nextElementSibling) { stepCards.insertBefore(card.nextElementSibling, card); down.focus(); sync(); } });
    remove.addEventListener("click", function () { card.remove(); sync(); });
    stepCards.appendChild(card);
    return card;
  }

  // -- the JSON the form posts ----------------------------------------------------------------
  var live = true;
  var source = "builder";  // what was edited last: the builder, or the JSON under 고급 (posted as typed)
  function sync() {
    renumber();
    if (!live) return;
    source = "builder";
    var conds = [], steps = [];
    condRows.querySelectorAll(".condition-row").forEach(function (li) { conds.push(li._read()); });
    stepCards.querySelectorAll(".step-card").forEach(function (card) { steps.push(readStep(card)); });
    condArea.value = JSON.stringify(conds, null, 2);
    stepArea.value = JSON.stringify(steps, null, 2);
    clearError();
  }
  function parse(area) {
    try { var v = JSON.parse(area.value || "[]"); return Array.isArray(v) ? v : null; } catch (e) { return null; }
  }
  function representable(conds, steps) {
    return conds.every(function (c) { return c && typeof c === "object" && CAT.conditions[c.field]; }) &&
      steps.every(function (s) { return s && typeof s === "object" && CAT.steps.indexOf(s.type) >= 0; });
  }
  // Build the rows and cards from the text areas; what the builder cannot show stays in JSON.
  function load() {
    var conds = parse(condArea), steps = parse(stepArea);
    condRows.textContent = ""; stepCards.textContent = "";
    if (conds === null || steps === null || !representable(conds, steps)) {
      live = false;
      condBuilder.hidden = true; stepBuilder.hidden = true;
      note.hidden = false; advanced.open = true;
      return false;
    }
    live = true;
    conds.forEach(addCondition);
    steps.forEach(addStep);
    condBuilder.hidden = false; stepBuilder.hidden = false;
    note.hidden = true;
    renumber();
    return true;
  }

  // -- the server's refusal, at its field ----------------------------------------------------
  function clearError() {
    form.querySelectorAll("[aria-invalid='true']").forEach(function (x) { x.removeAttribute("aria-invalid"); });
    form.querySelectorAll(".is-invalid").forEach(function (x) { x.classList.remove("is-invalid"); });
    var old = document.getElementById("field-error");
    if (old) old.remove();
  }
  function findTarget(path) {
    var m = /^(conditions|steps)\[(\d+)\](?:\.(.+))?$/.exec(path);
    if (m) {
      var list = m[1] === "conditions" ? condRows.querySelectorAll(".condition-row") : stepCards.querySelectorAll(".step-card");
      var box = list[parseInt(m[2], 10)];
      if (!box) return null;
      var rest = m[3] || "";
      while (rest) {
        var hit = box.querySelector("[data-part='" + rest + "']");
        if (hit && !hit.hidden) return hit;
        if (/\[\d+\]$/.test(rest)) rest = rest.replace(/\[\d+\]$/, "");
        else if (rest.indexOf(".") >= 0) rest = rest.slice(0, rest.lastIndexOf("."));
        else rest = "";
      }
      return box;
    }
    var plain = form.querySelector("[data-path='" + path.split("[")[0] + "']");
    return plain && !plain.closest("[hidden]") ? plain : null;
  }
  function showError(path, reason) {
    var target = findTarget(path);
    if (!target) { advanced.open = true; return; }
    if (target.matches("li")) target.classList.add("is-invalid"); else target.setAttribute("aria-invalid", "true");
    var msg = el("p", { "class": "form-error field-error", id: "field-error", role: "alert", "data-path": path, text: S.fix_field + " (" + path + ": " + reason + ")" });
    var field = target.closest(".b-field");
    if (field) field.appendChild(msg);  // inside its own cell, under the field
    else {
      var anchor = target.matches("li") ? target.querySelector(".step-head") || target.firstChild : target;
      anchor.parentNode.insertBefore(msg, anchor.nextSibling);
    }
    if (target.id) target.setAttribute("aria-describedby", "field-error");
    if (target.focus) target.focus({ preventScroll: true });
    target.scrollIntoView({ block: "center" });
  }

  // -- the trigger's settings -----------------------------------------------------------------
  var trigger = document.getElementById("automation-trigger");
  function showTriggerFields() {
    form.querySelectorAll("[data-triggers]").forEach(function (label) {
      var on = label.getAttribute("data-triggers").split(" ").indexOf(trigger.value) >= 0;
      label.hidden = !on;
      label.querySelectorAll("input, select").forEach(function (x) { x.disabled = !on; });
    });
    document.getElementById("trigger-help").hidden = true;
  }
  trigger.addEventListener("change", showTriggerFields);
  showTriggerFields();

  condBuilder.addEventListener("input", sync);
  condBuilder.addEventListener("change", sync);
  stepBuilder.addEventListener("input", function (e) { if (!e.target.matches(".s-type")) sync(); });
  document.getElementById("condition-add").addEventListener("click", function () {
    var li = addCondition();
    sync();
    li.querySelector(".c-field").focus();
  });
  document.getElementById("step-add").addEventListener("click", function () {
    var type = document.getElementById("step-add-type").value;
    var starter = { type: type };
    if (type === "wait") starter.days = 1;
    if (type === "priority") starter.priority = "high";
    var card = addStep(starter);
    sync();
    card.querySelector(".s-type").focus();
  });
  // Edited by hand under 고급: the builder follows when it can show what was written, and the
  // JSON is posted as typed (until the builder is touched again).
  [condArea, stepArea].forEach(function (area) {
    area.addEventListener("input", function () { source = "json"; });
    area.addEventListener("change", function () { source = "json"; load(); });
  });
  form.addEventListener("submit", function () { if (live && source === "builder") sync(); });

  var ok = load();
  if (ok) advanced.open = false;
  var errorPath = form.getAttribute("data-error-path");
  if (errorPath) {
    var detail = document.getElementById("automation-error-detail");
    var text = detail ? detail.textContent : "";
    var reason = text.indexOf(errorPath + ": ") === 0 ? text.slice(errorPath.length + 2) : text;
    showError(errorPath, reason);
  }
})();

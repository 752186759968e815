"""The rule language: triggers, conditions and steps, validated strictly and compiled once.

A rule is `{trigger_type, trigger_config, conditions: [...], steps: [...]}`. Validation says
where: the first problem raises a 422 `invalid_rule` whose details carry the JSON path
(`steps[2].text.ko`) and the reason. Compiling turns the conditions into plain Python
predicates over an `EvalContext` (no parsing, no I/O per event); the few conditions that need
the database (segment membership, resolved conversations) are kept apart as `db_checks` and
asked only after every in-memory condition passed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sodam.core.errors import Invalid

# -- triggers ------------------------------------------------------------------------------
# type -> {config key: (kind, required)}
TRIGGERS: dict[str, dict[str, tuple[str, bool]]] = {
    "conversation.created": {},
    "conversation.resolved": {},
    "conversation.reopened": {},
    "message.received": {},
    "survey.answered": {},
    "contact.created": {},
    "contact.attribute_changed": {"key": ("key", False)},
    "contact.inactive": {"days": ("days", True)},
    "contact.age": {"days": ("days", True)},
    "conversation.nth": {"count": ("count", True), "days": ("days", True)},
    "page.visited": {"url_contains": ("text", True)},
    "event.custom": {"name": ("event_name", True)},
    "segment.member": {"segment_id": ("id", True)},
}
# Triggers read from the state of contacts by the periodic sweep (and so by the dry run).
STATE_TRIGGERS = ("contact.inactive", "contact.age", "segment.member")
# The outbox event type each trigger listens to.
EVENT_OF_TRIGGER = {
    "conversation.nth": "conversation.created",
    "event.custom": "custom",
}

# -- conditions ----------------------------------------------------------------------------
VALUE_OPS = ("eq", "ne", "contains", "gt", "gte", "lt", "lte", "set", "not_set")
CONDITIONS: dict[str, tuple[str, ...]] = {
    "contact.language": ("in", "not_in"),
    "contact.attribute": VALUE_OPS,
    "contact.tag": ("has", "has_not"),
    "company.name": ("eq", "ne", "contains", "set", "not_set"),
    "company.plan": ("in", "not_in", "set", "not_set"),
    "company.attribute": VALUE_OPS,
    "segment": ("in", "not_in"),
    "contact.resolved_conversations": ("gte", "lte"),
    "conversation.channel": ("in", "not_in"),
    "conversation.inbox": ("in", "not_in"),
    "conversation.priority": ("in", "not_in"),
    "conversation.tag": ("has", "has_not"),
    "time.weekday": ("in", "not_in"),
    "time.business_hours": ("is",),
    "event.property": VALUE_OPS,
}
KEYED = ("contact.attribute", "company.attribute", "event.property")
DB_CONDITIONS = ("segment", "contact.resolved_conversations")
CHANNELS = ("web_widget", "email", "api", "phone")
PRIORITIES = ("none", "low", "medium", "high", "urgent")

# -- steps ---------------------------------------------------------------------------------
STEPS = ("message", "email", "tag", "assign", "priority", "escalate", "survey", "webhook", "wait")
MESSAGE_STEPS = ("message", "email")
LANGUAGES = ("ko", "en")
MAX_STEPS = 20
MAX_CONDITIONS = 30
MAX_TEXT = 4000
MAX_WAIT_HOURS = 24 * 365
KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}$")
EVENT_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,99}$")


def _fail(path: str, reason: str) -> Invalid:
    return Invalid(f"{path}: {reason}", code="invalid_rule", details={"path": path, "reason": reason})


def _int(value: Any, path: str, lo: int, hi: int) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise _fail(path, f"must be a whole number from {lo} to {hi}")
    return value


def _text(value: Any, path: str, *, max_len: int = 200) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise _fail(path, f"must be text of 1 to {max_len} characters")
    return value.strip()


def _only(obj: Any, allowed: tuple[str, ...] | set[str], path: str) -> dict:
    if not isinstance(obj, dict):
        raise _fail(path, "must be an object")
    for key in obj:
        if key not in allowed:
            raise _fail(f"{path}.{key}" if path else key, "unknown field")
    return obj


def check_trigger(trigger_type: Any, config: Any) -> dict[str, Any]:
    """The trigger's config, checked (422 invalid_rule)."""
    if trigger_type not in TRIGGERS:
        raise _fail("trigger_type", "unknown trigger: one of " + ", ".join(TRIGGERS))
    spec = TRIGGERS[trigger_type]
    config = _only(config if config is not None else {}, tuple(spec), "trigger_config")
    out: dict[str, Any] = {}
    for key, (kind, required) in spec.items():
        path = f"trigger_config.{key}"
        if key not in config:
            if required:
                raise _fail(path, "is required")
            continue
        value = config[key]
        if kind == "days":
            out[key] = _int(value, path, 1, 3650)
        elif kind == "count":
            out[key] = _int(value, path, 1, 1000)
        elif kind == "id":
            out[key] = _int(value, path, 1, 2**62)
        elif kind == "key":
            if not isinstance(value, str) or not KEY_RE.match(value):
                raise _fail(path, "must be an attribute key")
            out[key] = value
        elif kind == "event_name":
            if not isinstance(value, str) or not EVENT_NAME_RE.match(value):
                raise _fail(path, "must be an event name such as order.shipped")
            out[key] = value
        else:
            out[key] = _text(value, path, max_len=500)
    return out


def _check_condition(cond: Any, path: str) -> dict[str, Any]:
    cond = _only(cond, ("field", "op", "value", "key"), path)
    f = cond.get("field")
    if f not in CONDITIONS:
        raise _fail(f"{path}.field", "unknown field: one of " + ", ".join(CONDITIONS))
    op = cond.get("op")
    if op not in CONDITIONS[f]:
        raise _fail(f"{path}.op", "one of " + ", ".join(CONDITIONS[f]))
    out: dict[str, Any] = {"field": f, "op": op}
    if f in KEYED:
        key = cond.get("key")
        if not isinstance(key, str) or not KEY_RE.match(key):
            raise _fail(f"{path}.key", "must be an attribute or property key")
        out["key"] = key
    elif "key" in cond:
        raise _fail(f"{path}.key", "not used by this field")
    value = cond.get("value")
    vpath = f"{path}.value"
    if op in ("set", "not_set"):
        if value is not None:
            raise _fail(vpath, "takes no value")
        return out
    if f in ("contact.language", "company.plan", "conversation.channel", "conversation.priority"):
        if not isinstance(value, list) or not value or len(value) > 50:
            raise _fail(vpath, "must be a list of 1 to 50 values")
        for i, v in enumerate(value):
            _text(v, f"{vpath}[{i}]", max_len=60)
            if f == "conversation.channel" and v not in CHANNELS:
                raise _fail(f"{vpath}[{i}]", "one of " + ", ".join(CHANNELS))
            if f == "conversation.priority" and v not in PRIORITIES:
                raise _fail(f"{vpath}[{i}]", "one of " + ", ".join(PRIORITIES))
    elif f in ("conversation.inbox", "time.weekday"):
        if not isinstance(value, list) or not value or len(value) > 50:
            raise _fail(vpath, "must be a list of 1 to 50 values")
        hi = 6 if f == "time.weekday" else 2**62
        lo = 0 if f == "time.weekday" else 1
        for i, v in enumerate(value):
            _int(v, f"{vpath}[{i}]", lo, hi)
    elif f == "segment":
        _int(value, vpath, 1, 2**62)
    elif f == "contact.resolved_conversations":
        _int(value, vpath, 0, 100000)
    elif f == "time.business_hours":
        if type(value) is not bool:
            raise _fail(vpath, "must be true or false")
    elif f in ("contact.tag", "conversation.tag"):
        _text(value, vpath, max_len=60)
    elif op in ("gt", "gte", "lt", "lte"):
        if type(value) not in (int, float) or value != value:
            raise _fail(vpath, "must be a number")
    elif op == "contains":
        _text(value, vpath, max_len=500)
    else:  # eq / ne on a value
        if not isinstance(value, str | int | float | bool) or (isinstance(value, str) and len(value) > 500):
            raise _fail(vpath, "must be text, a number or true/false")
    out["value"] = value
    return out


def check_conditions(conditions: Any) -> list[dict[str, Any]]:
    if conditions is None:
        return []
    if not isinstance(conditions, list):
        raise _fail("conditions", "must be a list")
    if len(conditions) > MAX_CONDITIONS:
        raise _fail("conditions", f"at most {MAX_CONDITIONS}")
    return [_check_condition(c, f"conditions[{i}]") for i, c in enumerate(conditions)]


def _check_i18n(value: Any, path: str) -> dict[str, str]:
    value = _only(value, LANGUAGES, path)
    out = {}
    for lang in LANGUAGES:
        if lang not in value:
            raise _fail(f"{path}.{lang}", "is required (Korean and English)")
        out[lang] = _text(value[lang], f"{path}.{lang}", max_len=MAX_TEXT)
    return out


STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "message": ("type", "text", "inbox_id"),
    "email": ("type", "text", "subject", "inbox_id"),
    "tag": ("type", "tag"),
    "assign": ("type", "team_id", "agent_id"),
    "priority": ("type", "priority"),
    "escalate": ("type", "note"),
    "survey": ("type", "survey_id"),
    "webhook": ("type", "subscription_id"),
    "wait": ("type", "hours", "days"),
}


def _check_step(step: Any, path: str) -> dict[str, Any]:
    if not isinstance(step, dict):
        raise _fail(path, "must be an object")
    kind = step.get("type")
    if kind not in STEPS:
        raise _fail(f"{path}.type", "one of " + ", ".join(STEPS))
    step = _only(step, STEP_FIELDS[kind], path)
    out: dict[str, Any] = {"type": kind}
    if kind in ("message", "email"):
        out["text"] = _check_i18n(step.get("text"), f"{path}.text")
        if kind == "email":
            out["subject"] = _check_i18n(step.get("subject"), f"{path}.subject")
            out["inbox_id"] = _int(step.get("inbox_id"), f"{path}.inbox_id", 1, 2**62)
        elif step.get("inbox_id") is not None:
            out["inbox_id"] = _int(step.get("inbox_id"), f"{path}.inbox_id", 1, 2**62)
    elif kind == "tag":
        out["tag"] = _text(step.get("tag"), f"{path}.tag", max_len=60)
    elif kind == "assign":
        if step.get("team_id") is None and step.get("agent_id") is None:
            raise _fail(path, "needs team_id or agent_id")
        for key in ("team_id", "agent_id"):
            if step.get(key) is not None:
                out[key] = _int(step[key], f"{path}.{key}", 1, 2**62)
    elif kind == "priority":
        if step.get("priority") not in PRIORITIES:
            raise _fail(f"{path}.priority", "one of " + ", ".join(PRIORITIES))
        out["priority"] = step["priority"]
    elif kind == "escalate":
        if step.get("note") is not None:
            out["note"] = _check_i18n(step["note"], f"{path}.note")
    elif kind == "survey":
        out["survey_id"] = _int(step.get("survey_id"), f"{path}.survey_id", 1, 2**62)
    elif kind == "webhook":
        out["subscription_id"] = _int(step.get("subscription_id"), f"{path}.subscription_id", 1, 2**62)
    else:  # wait
        hours = step.get("hours", 0)
        days = step.get("days", 0)
        _int(hours, f"{path}.hours", 0, MAX_WAIT_HOURS)
        _int(days, f"{path}.days", 0, 365)
        if hours == 0 and days == 0:
            raise _fail(path, "a wait needs hours or days")
        if hours:
            out["hours"] = hours
        if days:
            out["days"] = days
    return out


def check_steps(steps: Any) -> list[dict[str, Any]]:
    if not isinstance(steps, list) or not steps:
        raise _fail("steps", "must be a list of 1 or more steps")
    if len(steps) > MAX_STEPS:
        raise _fail("steps", f"at most {MAX_STEPS}")
    out = [_check_step(s, f"steps[{i}]") for i, s in enumerate(steps)]
    if all(s["type"] == "wait" for s in out):
        raise _fail("steps", "needs at least one action besides waits")
    return out


def wait_seconds(step: dict[str, Any]) -> int:
    return int(step.get("hours", 0)) * 3600 + int(step.get("days", 0)) * 86400


# -- compiling -----------------------------------------------------------------------------
@dataclass
class EvalContext:
    """What a rule is evaluated against: plain dicts, loaded once per batch."""

    event: dict[str, Any]  # {"type", "name", "data"}
    contact: dict[str, Any]  # {"language", "attributes", ...}
    company: dict[str, Any] | None
    conversation: dict[str, Any] | None  # {"channel", "inbox_id", "priority", "tags"}
    now: datetime
    tz: ZoneInfo
    business_open: Callable[[], bool] | None = None


def _num(v: Any) -> float | None:
    if type(v) in (int, float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _value_predicate(op: str, expected: Any) -> Callable[[Any], bool]:
    if op == "set":
        return lambda v: v is not None and v != "" and v != []
    if op == "not_set":
        return lambda v: v is None or v == "" or v == []
    if op == "contains":
        needle = str(expected).lower()
        return lambda v: (
            v is not None and needle in (" ".join(map(str, v)) if isinstance(v, list) else str(v)).lower()
        )
    if op in ("gt", "gte", "lt", "lte"):
        x = float(expected)
        compare = {
            "gt": lambda n: n > x,
            "gte": lambda n: n >= x,
            "lt": lambda n: n < x,
            "lte": lambda n: n <= x,
        }[op]

        def numeric(v: Any) -> bool:
            n = _num(v)
            return n is not None and compare(n)

        return numeric
    text = str(expected).lower() if isinstance(expected, str) else expected

    def equal(v: Any) -> bool:
        if isinstance(v, str) and isinstance(text, str):
            return v.lower() == text
        if isinstance(v, bool) or isinstance(text, bool):
            return v is text
        if _num(v) is not None and _num(text) is not None:
            return _num(v) == _num(text)
        return v == text

    return equal if op == "eq" else (lambda v: not equal(v))


def _compile(cond: dict[str, Any]) -> Callable[[EvalContext], bool]:
    f, op, value = cond["field"], cond["op"], cond.get("value")
    if f == "contact.language":
        wanted = frozenset(v.lower()[:2] for v in value)
        if op == "in":
            return lambda c: (c.contact.get("language") or "")[:2].lower() in wanted
        return lambda c: (c.contact.get("language") or "")[:2].lower() not in wanted
    if f == "contact.attribute":
        key, pred = cond["key"], _value_predicate(op, value)
        return lambda c: pred(c.contact.get("attributes", {}).get(key))
    if f == "contact.tag":
        tag = value.lower()

        def has_tag(c: EvalContext) -> bool:
            tags = c.contact.get("attributes", {}).get("tags") or []
            return isinstance(tags, list) and tag in (str(t).lower() for t in tags)

        return has_tag if op == "has" else (lambda c: not has_tag(c))
    if f == "company.name":
        pred = _value_predicate(op, value)
        return lambda c: pred((c.company or {}).get("name") or c.contact.get("company"))
    if f == "company.plan":
        if op in ("set", "not_set"):
            pred = _value_predicate(op, None)
            return lambda c: pred((c.company or {}).get("plan"))
        plans = frozenset(v.lower() for v in value)
        if op == "in":
            return lambda c: ((c.company or {}).get("plan") or "").lower() in plans
        return lambda c: ((c.company or {}).get("plan") or "").lower() not in plans
    if f == "company.attribute":
        key, pred = cond["key"], _value_predicate(op, value)
        return lambda c: pred(((c.company or {}).get("attributes") or {}).get(key))
    if f in ("conversation.channel", "conversation.inbox", "conversation.priority"):
        attr = f.split(".")[1]
        attr = "inbox_id" if attr == "inbox" else attr
        members = frozenset(value)
        if op == "in":
            return lambda c: c.conversation is not None and c.conversation.get(attr) in members
        return lambda c: c.conversation is None or c.conversation.get(attr) not in members
    if f == "conversation.tag":
        tag = value.lower()

        def conv_tag(c: EvalContext) -> bool:
            return c.conversation is not None and tag in (t.lower() for t in c.conversation.get("tags") or ())

        return conv_tag if op == "has" else (lambda c: not conv_tag(c))
    if f == "time.weekday":
        days = frozenset(value)
        if op == "in":
            return lambda c: c.now.astimezone(c.tz).weekday() in days
        return lambda c: c.now.astimezone(c.tz).weekday() not in days
    if f == "time.business_hours":
        return lambda c: (c.business_open() if c.business_open else True) is value
    if f == "event.property":
        key, pred = cond["key"], _value_predicate(op, value)
        return lambda c: pred(c.event.get("data", {}).get(key))
    raise ValueError(f)  # pragma: no cover - validation refuses it


@dataclass
class CompiledRule:
    id: int
    workspace_id: int
    name: str
    trigger_type: str
    trigger_config: dict[str, Any]
    marketing: bool
    business_hours: bool
    steps: list[dict[str, Any]]
    predicates: tuple[Callable[[EvalContext], bool], ...]
    db_checks: tuple[dict[str, Any], ...]
    trigger_filter: Callable[[EvalContext], bool] | None = None

    def matches(self, ctx: EvalContext) -> bool:
        """Every in-memory condition (the trigger's own filter first)."""
        if self.trigger_filter is not None and not self.trigger_filter(ctx):
            return False
        return all(p(ctx) for p in self.predicates)


def _trigger_filter(trigger_type: str, config: dict[str, Any]) -> Callable[[EvalContext], bool] | None:
    if trigger_type == "event.custom":
        name = config["name"]
        return lambda c: c.event.get("name") == name
    if trigger_type == "page.visited":
        needle = config["url_contains"].lower()
        return lambda c: needle in str(c.event.get("data", {}).get("url") or "").lower()
    if trigger_type == "contact.attribute_changed" and config.get("key"):
        key = config["key"]
        return lambda c: key in (c.event.get("data", {}).get("keys") or ())
    return None


def compile_rule(rule: Any) -> CompiledRule:
    """Compile a stored rule once (its JSON was validated when saved)."""
    conds = rule.conditions or []
    return CompiledRule(
        id=rule.id,
        workspace_id=rule.workspace_id,
        name=rule.name,
        trigger_type=rule.trigger_type,
        trigger_config=dict(rule.trigger_config or {}),
        marketing=bool(rule.marketing),
        business_hours=bool(rule.business_hours),
        steps=list(rule.steps or []),
        predicates=tuple(_compile(c) for c in conds if c["field"] not in DB_CONDITIONS),
        db_checks=tuple(c for c in conds if c["field"] in DB_CONDITIONS),
        trigger_filter=_trigger_filter(rule.trigger_type, rule.trigger_config or {}),
    )


@dataclass
class RuleIndex:
    """A workspace's enabled rules by the outbox event type they listen to."""

    version: int
    by_event: dict[str, list[CompiledRule]] = field(default_factory=dict)
    state: list[CompiledRule] = field(default_factory=list)

    def for_event(self, event_type: str) -> list[CompiledRule]:
        return self.by_event.get(event_type, [])


def build_index(rules: list[Any], version: int) -> RuleIndex:
    index = RuleIndex(version=version)
    for rule in rules:
        compiled = compile_rule(rule)
        if rule.trigger_type in STATE_TRIGGERS:
            index.state.append(compiled)
            continue
        event_type = EVENT_OF_TRIGGER.get(rule.trigger_type, rule.trigger_type)
        index.by_event.setdefault(event_type, []).append(compiled)
    return index

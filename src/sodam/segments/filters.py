"""The segment filter language: strict validation into typed conditions.

A filter is a group: `{"all": [...]}` (every item matches) or `{"any": [...]}` (at least one
does); an item is a group or a condition `{"field": ..., "op": ..., "value": ..., "key": ...,
"days": ...}`. An empty `all` matches every contact, an empty `any` none.

Validation is strict and says where: the first problem raises a 422 `invalid_filter` whose
details carry the JSON path of the bad part (`filter.all[1].any[0].value`) and the reason, so
a builder can point at the exact row. Nothing is coerced silently: "3" is not a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sodam.core.errors import Invalid

MAX_DEPTH = 4  # groups within groups
MAX_CONDITIONS = 50
MAX_LIST = 50
MAX_DAYS = 3650
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}$")
CHANNELS = ("web_widget", "email", "api", "phone")
SENTIMENT_LABELS = ("negative", "neutral", "positive")
# Survey kinds and the range of their headline score (as surveys.questions scores them).
SURVEY_RANGES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}

# field -> the operators it accepts. The value each operator takes is checked in _value().
FIELDS: dict[str, tuple[str, ...]] = {
    "attribute": ("eq", "ne", "contains", "gt", "gte", "lt", "lte", "before", "after", "set", "not_set"),
    "company": ("eq", "ne", "contains", "set", "not_set"),
    "language": ("in", "not_in", "set", "not_set"),
    "tier": ("eq", "ne", "in", "not_in", "set", "not_set"),
    "last_seen": ("within_days", "not_within_days", "before", "after"),
    "conversations": ("gte", "lte", "eq"),
    "open_conversation": ("is",),
    "channel": ("in", "not_in"),
    "tag": ("in", "not_in"),
    "csat": ("lte", "gte", "eq", "set", "not_set"),
    "nps": ("lte", "gte", "eq", "set", "not_set"),
    "ces": ("lte", "gte", "eq", "set", "not_set"),
    "sentiment": ("is", "lte", "gte", "set", "not_set"),
    # The nightly churn model's score, 0–1 (analytics/churnrisk.py; table churn_scores).
    "churn_risk": ("gte", "lte", "set", "not_set"),
}
NO_VALUE = ("set", "not_set")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any = None
    key: str | None = None  # attribute name (field "attribute")
    days: int | None = None  # window (field "conversations")


@dataclass(frozen=True)
class Group:
    mode: str  # "all" | "any"
    items: tuple[Group | Condition, ...] = field(default_factory=tuple)


def _fail(path: str, reason: str) -> Invalid:
    return Invalid(f"{path}: {reason}", code="invalid_filter", details={"path": path, "reason": reason})


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and value == value and abs(value) < 1e15


def _date(value: Any, path: str) -> str:
    """An ISO date or date-time, normalised to its ISO text (compared as text in SQL)."""
    if isinstance(value, str) and len(value) <= 40:
        try:
            if len(value) == 10:
                return date.fromisoformat(value).isoformat()
            parsed = datetime.fromisoformat(value)
            return parsed.isoformat()
        except ValueError:
            pass
    raise _fail(path, "must be an ISO date (YYYY-MM-DD) or date-time")


def _strings(value: Any, path: str, *, allowed: tuple[str, ...] | None = None, max_len: int = 200) -> tuple:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST:
        raise _fail(path, f"must be a list of 1 to {MAX_LIST} strings")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip() or len(item) > max_len or "\x00" in item:
            raise _fail(f"{path}[{i}]", f"must be a non-empty string of at most {max_len} characters")
        if allowed is not None and item not in allowed:
            raise _fail(f"{path}[{i}]", f"must be one of {', '.join(allowed)}")
    return tuple(dict.fromkeys(value))


def _text(value: Any, path: str, max_len: int = 200) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len or "\x00" in value:
        raise _fail(path, f"must be a non-empty string of at most {max_len} characters")
    return value


def _value(cond: dict[str, Any], fld: str, op: str, path: str) -> Any:
    """The condition's value, checked for this field and operator."""
    vpath = f"{path}.value"
    if op in NO_VALUE:
        if "value" in cond:
            raise _fail(vpath, f"'{op}' takes no value")
        return None
    if "value" not in cond:
        raise _fail(vpath, "is required")
    value = cond["value"]
    if fld == "attribute":
        if op in ("eq", "ne"):
            if isinstance(value, bool) or _is_number(value):
                return value
            return _text(value, vpath)
        if op == "contains":
            return _text(value, vpath)
        if op in ("before", "after"):
            return _date(value, vpath)
        if not _is_number(value) or isinstance(value, bool):
            raise _fail(vpath, "must be a number")
        return value
    if fld == "company":
        return _text(value, vpath)
    if fld == "language":
        return _strings(value, vpath, max_len=8)
    if fld == "tier":
        return _strings(value, vpath) if op in ("in", "not_in") else _text(value, vpath)
    if fld == "last_seen":
        if op in ("before", "after"):
            return _date(value, vpath)
        if not _is_int(value) or not 1 <= value <= MAX_DAYS:
            raise _fail(vpath, f"must be a whole number of days, 1 to {MAX_DAYS}")
        return value
    if fld == "conversations":
        if not _is_int(value) or not 0 <= value <= 1_000_000:
            raise _fail(vpath, "must be a whole number, 0 or more")
        return value
    if fld == "open_conversation":
        if type(value) is not bool:
            raise _fail(vpath, "must be true or false")
        return value
    if fld == "channel":
        return _strings(value, vpath, allowed=CHANNELS)
    if fld == "tag":
        return _strings(value, vpath, max_len=60)
    if fld in SURVEY_RANGES:
        low, high = SURVEY_RANGES[fld]
        if not _is_int(value) or not low <= value <= high:
            raise _fail(vpath, f"must be a whole number from {low} to {high}")
        return value
    if fld == "churn_risk":
        if not _is_number(value) or isinstance(value, bool) or not 0 <= value <= 1:
            raise _fail(vpath, "must be a number from 0 to 1")
        return float(value)
    if fld == "sentiment":
        if op == "is":
            if value not in SENTIMENT_LABELS:
                raise _fail(vpath, f"must be one of {', '.join(SENTIMENT_LABELS)}")
            return value
        if not _is_number(value) or isinstance(value, bool) or not -1 <= value <= 1:
            raise _fail(vpath, "must be a number from -1 to 1")
        return float(value)
    raise _fail(path, "unknown field")  # pragma: no cover - FIELDS is checked first


ALLOWED_KEYS = {"field", "op", "value", "key", "days"}


def _condition(raw: Any, path: str) -> Condition:
    fld = raw.get("field")
    if not isinstance(fld, str) or fld not in FIELDS:
        raise _fail(f"{path}.field", f"must be one of {', '.join(FIELDS)}")
    extra = sorted(set(raw) - ALLOWED_KEYS)
    if extra:
        raise _fail(f"{path}.{extra[0]}", "unknown key")
    op = raw.get("op")
    if op not in FIELDS[fld]:
        raise _fail(f"{path}.op", f"for '{fld}' must be one of {', '.join(FIELDS[fld])}")
    key = raw.get("key")
    if fld == "attribute":
        if not isinstance(key, str) or not ATTRIBUTE_KEY.match(key):
            raise _fail(f"{path}.key", "an attribute name (letters, digits, _ . -; at most 64) is required")
    elif "key" in raw:
        raise _fail(f"{path}.key", f"'{fld}' takes no key")
    days = raw.get("days")
    if fld == "conversations":
        if not _is_int(days) or not 1 <= days <= MAX_DAYS:
            raise _fail(f"{path}.days", f"must be a whole number of days, 1 to {MAX_DAYS}")
    elif "days" in raw:
        raise _fail(f"{path}.days", f"'{fld}' takes no days")
    return Condition(field=fld, op=op, value=_value(raw, fld, op, path), key=key, days=days)


def _group(raw: Any, path: str, depth: int, count: list[int]) -> Group:
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in ("all", "any"):
        raise _fail(path, 'a group must be {"all": [...]} or {"any": [...]}')
    mode, items = next(iter(raw.items()))
    if depth > MAX_DEPTH:
        raise _fail(path, f"groups nest at most {MAX_DEPTH} deep")
    if not isinstance(items, list):
        raise _fail(f"{path}.{mode}", "must be a list")
    out: list[Group | Condition] = []
    for i, item in enumerate(items):
        ipath = f"{path}.{mode}[{i}]"
        if not isinstance(item, dict):
            raise _fail(ipath, "must be a condition or a group")
        if "field" in item:
            count[0] += 1
            if count[0] > MAX_CONDITIONS:
                raise _fail(ipath, f"at most {MAX_CONDITIONS} conditions")
            out.append(_condition(item, ipath))
        else:
            out.append(_group(item, ipath, depth + 1, count))
    return Group(mode=mode, items=tuple(out))


def parse(raw: Any, path: str = "filter") -> Group:
    """A validated filter (422 invalid_filter with the path of the first problem)."""
    return _group(raw, path, 1, [0])


def conditions(group: Group):
    """Every condition of a filter, depth first."""
    for item in group.items:
        if isinstance(item, Group):
            yield from conditions(item)
        else:
            yield item

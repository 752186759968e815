"""Checking business hours: from the editor's text fields or an API body to a stored config,
with every problem named (which day, which span) so the editor can say what to fix.

The editor writes a day as "09:00-12:00, 13:00-18:00" (empty: closed), a day off as
"2027-03-02 창립기념일" and an extra working day as "2027-02-13 10:00-14:00" (one a line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sodam.hours.calendar import DAYS, normalise_spans

TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")
SPAN_RE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–~]\s*(\d{1,2}:\d{2})\s*$")
# Countries the editor offers (any the `holidays` package knows is accepted by the API).
COUNTRIES = ("KR", "JP", "CN", "TW", "HK", "SG", "VN", "US", "GB", "DE", "FR", "AU", "CA")
MAX_SPANS = 8
MAX_DAYS = 400


@dataclass
class Problem:
    field: str  # "timezone", "days.mon", "days_off", "extra_days", "holiday_country"
    code: str  # the message key suffix: hours.error.<code>
    params: dict[str, Any] = field(default_factory=dict)


def _pad(hhmm: str) -> str:
    return hhmm if len(hhmm) == 5 else "0" + hhmm


def check_spans(spans: list[list[str]], where: str, problems: list[Problem]) -> list[list[str]]:
    """Spans sorted; bad times, an end not after its start and overlaps reported."""
    good = []
    for start, end in spans:
        start, end = _pad(start.strip()), _pad(end.strip())
        if not (TIME_RE.match(start) and TIME_RE.match(end)) or start == "24:00":
            problems.append(Problem(where, "time_format", {"span": f"{start}-{end}"}))
        elif end <= start:
            problems.append(Problem(where, "end_before_start", {"span": f"{start}-{end}"}))
        else:
            good.append([start, end])
    good.sort()
    for (a_start, a_end), (b_start, b_end) in zip(good, good[1:], strict=False):
        if b_start < a_end:
            problems.append(Problem(where, "overlap", {"a": f"{a_start}-{a_end}", "b": f"{b_start}-{b_end}"}))
    if len(good) > MAX_SPANS:
        problems.append(Problem(where, "too_many_spans", {"max": MAX_SPANS}))
    return good


def check_config(raw: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """A config as stored, and its problems (none: it may be saved)."""
    problems: list[Problem] = []
    zone = str(raw.get("timezone") or "").strip()
    try:
        if not zone:
            raise ValueError(zone)
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(Problem("timezone", "timezone", {"timezone": zone}))
    days = {}
    for name, value in (raw.get("days") or {}).items():
        if name not in DAYS:
            problems.append(Problem("days", "day_name", {"day": name}))
            continue
        try:
            spans = normalise_spans(value)
        except (TypeError, IndexError):
            problems.append(Problem(f"days.{name}", "time_format", {"span": str(value)[:40]}))
            continue
        checked = check_spans(spans, f"days.{name}", problems)
        if checked:
            days[name] = checked
    country = raw.get("holiday_country") or None
    if country is not None:
        import holidays

        if str(country).upper() not in holidays.list_supported_countries():
            problems.append(Problem("holiday_country", "country", {"country": str(country)[:10]}))
        country = str(country).upper()
    days_off: dict[str, str] = {}
    for day, label in (raw.get("days_off") or {}).items():
        if _date(day, "days_off", problems):
            days_off[day] = "".join(ch for ch in str(label or "") if ch >= " " and ch != "\x7f")[:100]
    extra: dict[str, list[list[str]]] = {}
    for day, spans in (raw.get("extra_days") or {}).items():
        if _date(day, "extra_days", problems):
            try:
                checked = check_spans(normalise_spans(spans), "extra_days", problems)
            except (TypeError, IndexError):
                problems.append(Problem("extra_days", "time_format", {"span": str(spans)[:40]}))
                continue
            if not checked:
                problems.append(Problem("extra_days", "extra_needs_span", {"date": day}))
            extra[day] = checked
    if len(days_off) > MAX_DAYS or len(extra) > MAX_DAYS:
        problems.append(Problem("days_off", "too_many_days", {"max": MAX_DAYS}))
    config = {
        "timezone": zone,
        "days": days,
        "holiday_country": country,
        "days_off": days_off,
        "extra_days": extra,
    }
    return config, problems


def _date(text: str, where: str, problems: list[Problem]) -> bool:
    try:
        date.fromisoformat(str(text))
    except ValueError:
        problems.append(Problem(where, "date", {"value": str(text)[:20]}))
        return False
    if len(str(text)) != 10:
        problems.append(Problem(where, "date", {"value": str(text)[:20]}))
        return False
    return True


def spans_text(spans: list[list[str]]) -> str:
    """[["09:00","12:00"],["13:00","18:00"]] → "09:00-12:00, 13:00-18:00"."""
    return ", ".join(f"{a}-{b}" for a, b in spans)


def parse_spans_text(text: str, where: str, problems: list[Problem]) -> list[list[str]]:
    spans = []
    for part in re.split(r"[,;\n]+", text or ""):
        if not part.strip():
            continue
        found = SPAN_RE.match(part)
        if not found:
            problems.append(Problem(where, "time_format", {"span": part.strip()[:40]}))
            continue
        spans.append([found.group(1), found.group(2)])
    return spans


def from_form(form: dict[str, str]) -> tuple[dict[str, Any], list[Problem]]:
    """The editor's fields → (config, problems)."""
    problems: list[Problem] = []
    days = {d: parse_spans_text(form.get(f"day_{d}", ""), f"days.{d}", problems) for d in DAYS}
    days_off: dict[str, str] = {}
    for line in (form.get("days_off") or "").splitlines():
        if line.strip():
            day, _, label = line.strip().partition(" ")
            days_off[day] = label.strip()
    extra: dict[str, list[list[str]]] = {}
    for line in (form.get("extra_days") or "").splitlines():
        if line.strip():
            day, _, rest = line.strip().partition(" ")
            extra[day] = parse_spans_text(rest, "extra_days", problems) if rest.strip() else []
    config, more = check_config(
        {
            "timezone": form.get("timezone", ""),
            "days": {d: s for d, s in days.items() if s},
            "holiday_country": form.get("holiday_country") or None,
            "days_off": days_off,
            "extra_days": extra,
        }
    )
    return config, problems + more


def to_form(config: dict[str, Any]) -> dict[str, str]:
    """A stored config → the editor's fields."""
    days = config.get("days") or {}
    out = {f"day_{d}": spans_text(normalise_spans(days.get(d))) for d in DAYS}
    out["timezone"] = config.get("timezone") or "Asia/Seoul"
    out["holiday_country"] = config.get("holiday_country") or ""
    out["days_off"] = "\n".join(
        f"{d} {label}".strip() for d, label in sorted((config.get("days_off") or {}).items())
    )
    out["extra_days"] = "\n".join(
        f"{d} {spans_text(normalise_spans(s))}".strip()
        for d, s in sorted((config.get("extra_days") or {}).items())
    )
    return out

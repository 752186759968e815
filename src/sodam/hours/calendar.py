"""Business-hours arithmetic: open now?, the next opening, business seconds between two
instants and an instant plus N business seconds — exact across spans, weekends, public
holidays, custom days off and working days, and time-zone (DST) transitions.

A config (an inbox's `settings["business_hours"]`, a team's `business_hours`):

    {"timezone": "Asia/Seoul",
     "days": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "sat": ["10:00", "14:00"], ...},
     "holiday_country": "KR",                       # public holidays (the `holidays` package)
     "days_off": {"2027-03-02": "창립기념일"},        # closed all day
     "extra_days": {"2027-02-13": [["10:00", "14:00"]]}}   # open although a weekend/holiday

A day's value may be the old single span `["09:00", "18:00"]`; "24:00" ends at midnight.
Open means: the local wall-clock time lies in one of the local date's spans. The arithmetic
turns each local date's spans into UTC intervals by splitting the day at the zone's offset
changes, so a DST gap or a repeated hour is counted exactly as the wall clock shows it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TIMEZONE = "Asia/Seoul"
DEFAULT_HOURS: dict[str, Any] = {
    "timezone": DEFAULT_TIMEZONE,
    "days": {d: [["09:00", "18:00"]] for d in DAYS[:5]},
    "holiday_country": "KR",
}
ALWAYS_OPEN: dict[str, Any] = {"timezone": DEFAULT_TIMEZONE, "days": {d: ["00:00", "24:00"] for d in DAYS}}
# How far ahead next_opening / add_business_seconds look before giving up (a config with
# no open day at all, or closed for a very long time).
HORIZON_DAYS = 800
_PROBE = timedelta(hours=1)

Span = tuple[time, time | None]  # None: until midnight ("24:00")


def parse_time(hhmm: str) -> time | None:
    """ "09:30" → 09:30; "24:00" → None (midnight at the end of the day). ValueError if bad."""
    if hhmm == "24:00":
        return None
    hours, minutes = hhmm.split(":")
    if len(hours) != 2 or len(minutes) != 2:
        raise ValueError(hhmm)
    return time(int(hours), int(minutes))


def normalise_spans(value: Any) -> list[list[str]]:
    """A day's spans as a list of [start, end] (the old single-span form is read too)."""
    if not value:
        return []
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return [[value[0], value[1]]]
    return [[str(s[0]), str(s[1])] for s in value if isinstance(s, (list, tuple)) and len(s) == 2]


def _spans(value: Any) -> list[Span]:
    out = []
    for start, end in normalise_spans(value):
        begin = parse_time(start) or time(0)
        out.append((begin, parse_time(end)))
    return out


@lru_cache(maxsize=256)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    import holidays

    try:
        return frozenset(holidays.country_holidays(country, years=year).keys())
    except NotImplementedError:
        return frozenset()


def holiday_names(country: str, year: int, language: str = "ko") -> dict[date, str]:
    """The public holidays of a country in a year, with their names (for the editor)."""
    import holidays

    try:
        found = holidays.country_holidays(country, years=year, language=language)
    except NotImplementedError:
        return {}
    return dict(sorted(found.items()))


def _tz(config: dict[str, Any]) -> ZoneInfo:
    return ZoneInfo(config.get("timezone") or DEFAULT_TIMEZONE)


def holiday_country(config: dict[str, Any]) -> str | None:
    """The country whose public holidays close the hours. A config saved before holidays
    existed (no key) in Korea's time zone keeps Korea's: a Korean team is closed on 설날."""
    if "holiday_country" in config:
        return config["holiday_country"] or None
    return "KR" if (config.get("timezone") or DEFAULT_TIMEZONE) == DEFAULT_TIMEZONE else None


def spans_on(config: dict[str, Any] | None, day: date) -> list[Span]:
    """The open spans of one local date (holidays and custom days applied)."""
    config = config or DEFAULT_HOURS
    key = day.isoformat()
    extra = config.get("extra_days") or {}
    if key in extra:
        return _spans(extra[key])
    if key in (config.get("days_off") or {}):
        return []
    country = holiday_country(config)
    if country and day in _public_holidays(country, day.year):
        return []
    return _spans((config.get("days") or {}).get(DAYS[day.weekday()]))


def is_open(config: dict[str, Any] | None, now: datetime) -> bool:
    """Whether the wall clock in the config's time zone shows an open time."""
    config = config or DEFAULT_HOURS
    local = now.astimezone(_tz(config))
    clock = local.time().replace(tzinfo=None, fold=0)
    return any(
        start <= clock and (end is None or clock < end) for start, end in spans_on(config, local.date())
    )


@lru_cache(maxsize=4096)
def _segments(zone: str, day: date) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """Constant-offset pieces (UTC start, UTC end, offset) covering every instant whose local
    date can be `day` (offsets stay within ±16 h)."""
    tz = ZoneInfo(zone)
    lo = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=16)
    hi = datetime.combine(day, time(0), tzinfo=UTC) + timedelta(hours=40)
    pieces = []
    start, offset = lo, lo.astimezone(tz).utcoffset()
    probe = lo
    while probe < hi:
        nxt = min(probe + _PROBE, hi)
        off = nxt.astimezone(tz).utcoffset()
        if off != offset:
            a, b = probe, nxt  # the change lies in (a, b]: find it to the second
            while (b - a) > timedelta(seconds=1):
                mid = a + (b - a) / 2
                mid = mid.replace(microsecond=0) if mid.microsecond else mid
                if mid <= a:
                    break
                if mid.astimezone(tz).utcoffset() == offset:
                    a = mid
                else:
                    b = mid
            pieces.append((start, b, offset))
            start, offset = b, b.astimezone(tz).utcoffset()
        probe = nxt
    pieces.append((start, hi, offset))
    return tuple(pieces)


def intervals_on(config: dict[str, Any] | None, day: date) -> list[tuple[datetime, datetime]]:
    """The open intervals (UTC, sorted, merged) of one local date."""
    config = config or DEFAULT_HOURS
    spans = spans_on(config, day)
    if not spans:
        return []
    zone = config.get("timezone") or DEFAULT_TIMEZONE
    found: list[tuple[datetime, datetime]] = []
    for seg_start, seg_end, offset in _segments(zone, day):
        for begin, end in spans:
            local_start = datetime.combine(day, begin, tzinfo=UTC)
            local_end = datetime.combine(
                day + timedelta(days=1) if end is None else day, end or time(0), tzinfo=UTC
            )
            a = max(seg_start, local_start - offset)
            b = min(seg_end, local_end - offset)
            if a < b:
                found.append((a, b))
    found.sort()
    merged: list[tuple[datetime, datetime]] = []
    for a, b in found:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _local_date(config: dict[str, Any], at: datetime) -> date:
    return at.astimezone(_tz(config)).date()


def next_opening(config: dict[str, Any] | None, now: datetime) -> datetime | None:
    """The next time the team is open (now if open), in the config's time zone."""
    config = config or DEFAULT_HOURS
    tz = _tz(config)
    if is_open(config, now):
        return now.astimezone(tz)
    first = _local_date(config, now) - timedelta(days=1)
    for offset in range(HORIZON_DAYS):
        for start, end in intervals_on(config, first + timedelta(days=offset)):
            if start > now:
                return start.astimezone(tz)
            if start <= now < end:  # open by the intervals (a second's rounding): now
                return now.astimezone(tz)
    return None


def business_seconds_between(config: dict[str, Any] | None, start: datetime, end: datetime) -> float:
    """Open seconds in [start, end) (negative when end is before start)."""
    config = config or DEFAULT_HOURS
    if end < start:
        return -business_seconds_between(config, end, start)
    total = timedelta(0)
    day, last = _local_date(config, start) - timedelta(days=1), _local_date(config, end) + timedelta(days=1)
    while day <= last:
        for a, b in intervals_on(config, day):
            lo, hi = max(a, start), min(b, end)
            if lo < hi:
                total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds()


def add_business_seconds(config: dict[str, Any] | None, start: datetime, seconds: float) -> datetime | None:
    """The instant at which `seconds` of open time have passed since `start` (None when the
    hours never open within the horizon)."""
    config = config or DEFAULT_HOURS
    if seconds <= 0:
        return start
    left = timedelta(seconds=seconds)
    first = _local_date(config, start) - timedelta(days=1)
    for offset in range(HORIZON_DAYS):
        for a, b in intervals_on(config, first + timedelta(days=offset)):
            lo = max(a, start)
            if lo >= b:
                continue
            if b - lo >= left:
                return (lo + left).astimezone(_tz(config))
            left -= b - lo
    return None

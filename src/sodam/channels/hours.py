"""Business hours per inbox: are we open now, and when does a person reply next."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS: dict[str, Any] = {
    "timezone": "Asia/Seoul",
    "days": {d: ["09:00", "18:00"] for d in DAYS[:5]},
}


def _parse(hhmm: str) -> time:
    if hhmm == "24:00":  # open until midnight
        return time.max
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


ALWAYS_OPEN: dict[str, Any] = {"timezone": "Asia/Seoul", "days": {d: ["00:00", "24:00"] for d in DAYS}}


def is_open(config: dict[str, Any] | None, now: datetime) -> bool:
    config = config or DEFAULT_HOURS
    local = now.astimezone(ZoneInfo(config.get("timezone", "Asia/Seoul")))
    span = (config.get("days") or {}).get(DAYS[local.weekday()])
    if not span:
        return False
    return _parse(span[0]) <= local.time() < _parse(span[1])


def next_opening(config: dict[str, Any] | None, now: datetime) -> datetime | None:
    """The next time the team is open (now if open), in the inbox's time zone."""
    config = config or DEFAULT_HOURS
    tz = ZoneInfo(config.get("timezone", "Asia/Seoul"))
    local = now.astimezone(tz)
    if is_open(config, now):
        return local
    for offset in range(0, 8):
        day = (local + timedelta(days=offset)).date()
        span = (config.get("days") or {}).get(DAYS[day.weekday()])
        if not span:
            continue
        opening = datetime.combine(day, _parse(span[0]), tzinfo=tz)
        if opening > local:
            return opening
    return None

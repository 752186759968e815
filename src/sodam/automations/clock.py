"""The one clock every automation job reads ("now"): real time, unless a test shifts it.

Every decision that depends on time — quiet hours, business hours, waits, "inactive 30 days",
the daily cap's day — takes `now()` from here (never the database's `now()`), so a test can
move a whole journey through days in milliseconds with `shift()` / `set()`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_fixed: datetime | None = None
_offset = timedelta(0)


def now() -> datetime:
    """The automations' current time (aware, UTC)."""
    base = _fixed if _fixed is not None else datetime.now(UTC)
    return base + _offset


def set(at: datetime) -> None:  # noqa: A001 - the clock's verb
    """Freeze the clock at `at` (tests)."""
    global _fixed, _offset
    _fixed, _offset = at.astimezone(UTC), timedelta(0)


def shift(delta: timedelta) -> None:
    """Move the clock by `delta` (tests)."""
    global _offset
    _offset += delta


def reset() -> None:
    """Back to real time."""
    global _fixed, _offset
    _fixed, _offset = None, timedelta(0)

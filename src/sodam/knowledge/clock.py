"""The one clock the knowledge base's hygiene reads ("now"): real time, unless a test moves it.

Review-by dates, "no views in N days", the handoff window and the weekly reminder's week all
take `now()` from here, so a test can move an article past its review date in milliseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_fixed: datetime | None = None
_offset = timedelta(0)


def now() -> datetime:
    """The current time (aware, UTC)."""
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

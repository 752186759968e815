"""The one clock every automation job reads ("now"): real time, unless a test shifts it.

Every decision that depends on time — quiet hours, business hours, waits, "inactive 30 days",
the daily cap's day — takes `now()` from here (never the database's `now()`), so a test can
move a whole journey through days in milliseconds with `shift()` / `set()`.
"""

from __future__ import annotations

from sodam.core.clock import Clock

_clock = Clock()
now = _clock.now
set = _clock.set  # noqa: A001 - the clock's verb
shift = _clock.shift
reset = _clock.reset

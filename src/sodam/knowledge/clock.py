"""The one clock the knowledge base's hygiene reads ("now"): real time, unless a test moves it.

Review-by dates, "no views in N days", the handoff window and the weekly reminder's week all
take `now()` from here, so a test can move an article past its review date in milliseconds.
"""

from __future__ import annotations

from sodam.core.clock import Clock

_clock = Clock()
now = _clock.now
set = _clock.set  # noqa: A001 - the clock's verb
shift = _clock.shift
reset = _clock.reset

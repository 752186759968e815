"""The one clock the training sandbox reads ("now"): real time, unless a test moves it.

An attempt's playback (which customer message is due), its reply times and the leaderboard's
periods take `now()` from here, so a test can play a whole scenario in milliseconds.
"""

from __future__ import annotations

from sodam.core.clock import Clock

_clock = Clock()
now = _clock.now
set = _clock.set  # noqa: A001 - the clock's verb
shift = _clock.shift
reset = _clock.reset

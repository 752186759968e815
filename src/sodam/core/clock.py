"""A clock a domain reads for "now": real time, unless a test freezes or moves it. Each domain
that needs one keeps its own instance (moving the automations' clock leaves the knowledge
base's alone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._fixed: datetime | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """The current time (aware, UTC)."""
        base = self._fixed if self._fixed is not None else datetime.now(UTC)
        return base + self._offset

    def set(self, at: datetime) -> None:
        """Freeze the clock at `at` (tests)."""
        self._fixed, self._offset = at.astimezone(UTC), timedelta(0)

    def shift(self, delta: timedelta) -> None:
        """Move the clock by `delta` (tests)."""
        self._offset += delta

    def reset(self) -> None:
        """Back to real time."""
        self._fixed, self._offset = None, timedelta(0)

"""One promise: the wait a customer is told about, wherever it is shown.

The widget header, the bot's handoff message and the waiting bar all say the same
thing, computed here: outside business hours, the next opening time; inside, the
inbox's median first-response time measured from history (from the handoff, see
conversations.service.typical_first_response_seconds), or the inbox's configured
typical reply time while there is too little history, or no figure at all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels import hours
from sodam.channels.models import Inbox
from sodam.conversations import service as conversations

REPLY_TIME_TTL_S = 600
_reply_time_cache: dict[int, tuple[float, float | None]] = {}

# Routing registers how long the person at a queue position will wait (from the agents
# staffed and recent handle times); without it, the inbox's typical reply time stands.
QueueEstimator = Callable[[AsyncSession, Inbox, int], Awaitable[float | None]]
queue_estimators: list[QueueEstimator] = []
# What an estimator returns when agents are online but it cannot say how long (no handle times
# yet): the inbox is staffed, so no "closed until 09:00" (with the admin online and two places
# free, the first hour's header said so, and the bot asked for an e-mail "to get back to you").
STAFFED_NO_ESTIMATE = float("nan")


def _staffed_without_figure(estimate: float | None) -> bool:
    return estimate is not None and math.isnan(estimate)


@dataclass(frozen=True)
class WaitPromise:
    open_now: bool
    minutes: int | None  # while open: the expected wait, None when nobody can say
    opens_at: datetime | None  # while closed: the next opening, in the inbox's time zone


def business_hours(inbox: Inbox) -> dict:
    """The inbox's hours (weekdays 09:00–18:00 in Seoul until it sets its own, as the bot assumes)."""
    return (inbox.settings or {}).get("business_hours") or hours.DEFAULT_HOURS


async def measured_reply_seconds(session: AsyncSession, inbox_id: int) -> float | None:
    """The measured median (cached for a few minutes per process: it moves slowly)."""
    now = time.monotonic()
    hit = _reply_time_cache.get(inbox_id)
    if hit and hit[0] > now:
        return hit[1]
    value = await conversations.typical_first_response_seconds(session, inbox_id=inbox_id)
    _reply_time_cache[inbox_id] = (now + REPLY_TIME_TTL_S, value)
    return value


async def wait_promise(
    session: AsyncSession, inbox: Inbox, now: datetime, position: int | None = None
) -> WaitPromise:
    """What to promise; with a queue position, the wait estimated for that place in the queue."""
    config = business_hours(inbox)
    if not hours.is_open(config, now):
        # An inbox that never set its hours is routed whenever someone is online: with agents
        # staffed now, promise their wait, not the default hours' next opening.
        staffed = False
        if position is not None and not (inbox.settings or {}).get("business_hours"):
            for estimator in queue_estimators:
                estimate = await estimator(session, inbox, position)
                if _staffed_without_figure(estimate):
                    staffed = True
                elif estimate is not None:
                    return WaitPromise(True, max(1, math.ceil(estimate / 60)), None)
        if not staffed:
            return WaitPromise(False, None, hours.next_opening(config, now))
    elif position is not None:
        for estimator in queue_estimators:
            estimate = await estimator(session, inbox, position)
            if estimate is not None and not _staffed_without_figure(estimate):
                return WaitPromise(True, max(1, math.ceil(estimate / 60)), None)
    seconds = await measured_reply_seconds(session, inbox.id)
    if seconds is not None:
        return WaitPromise(True, max(1, math.ceil(seconds / 60)), None)
    configured = (inbox.settings or {}).get("typical_reply_minutes")
    return WaitPromise(True, int(configured) if configured else None, None)


def when_text(opening: datetime, now: datetime, language: str) -> str:
    """ "오늘 09:00", "내일 09:00", "12월 3일 09:00" / "today at 09:00 KST", …

    In English with the time zone's name: an English-speaking customer is often elsewhere, and
    at 9:44 PM in London "We're closed now and will reply today at 09:00" read as a time already
    past (it was 09:00 in Seoul, 16 minutes later)."""
    local_now = now.astimezone(opening.tzinfo)
    days = (opening.date() - local_now.date()).days
    hhmm = opening.strftime("%H:%M")
    if language == "ko":
        day = {0: "오늘", 1: "내일", 2: "모레"}.get(days, f"{opening.month}월 {opening.day}일")
        return f"{day} {hhmm}"
    day = {0: "today", 1: "tomorrow"}.get(days, opening.strftime("%b %d"))
    zone = opening.strftime("%Z")
    return f"{day} at {hhmm} {zone}" if zone else f"{day} at {hhmm}"


def promise_line(promise: WaitPromise, now: datetime, language: str) -> str:
    """The sentence the widget header and the waiting bar show."""
    from sodam.core.i18n import gettext

    if not promise.open_now and promise.opens_at is not None:
        return gettext(language, "widget.reply_time_closed", when=when_text(promise.opens_at, now, language))
    if promise.minutes is None:
        return gettext(language, "widget.reply_time")
    if promise.minutes <= 90:
        return gettext(language, "widget.reply_time_minutes", minutes=promise.minutes)
    hours_ = math.ceil(promise.minutes / 60)
    if hours_ <= 24:
        return gettext(language, "widget.reply_time_hours", hours=hours_)
    return gettext(language, "widget.reply_time")

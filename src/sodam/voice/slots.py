"""Callback slots (전화 예약 시간): what a customer may pick.

The model, kept simple on purpose (docs/phone.md):
- a slot is 30 minutes, starting on the hour or the half hour (local time), lying wholly
  inside the phone inbox's business hours — public holidays and days off closed, as the hours
  editor says — and starting at least LEAD_MINUTES from now;
- a slot holds `callbacks_per_slot` callbacks when the line sets it, else one per agent who
  takes phone work: active agents (of the line's team, when it has one) whose phone capacity
  is above zero. That is who is usually staffed, not who is online right now — a slot is
  booked days ahead;
- booked = the line's callbacks still to be made (scheduled or due) at that slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts.models import Agent, TeamMember
from sodam.hours import calendar
from sodam.routing.models import AgentState, capacity_for
from sodam.voice.models import Callback, PhoneLine

SLOT = timedelta(minutes=30)
LEAD_MINUTES = 15
MAX_DAYS = 14
DEFAULT_DAYS = 7
OPEN_STATUSES = ("scheduled", "due")


@dataclass(frozen=True)
class Slot:
    start: datetime
    left: int


def slot_starts(config: dict | None, now: datetime, days: int) -> list[datetime]:
    """Every 30-minute slot inside the hours over the next `days` local days (pure)."""
    config = config or calendar.DEFAULT_HOURS
    tz = ZoneInfo(config.get("timezone") or calendar.DEFAULT_TIMEZONE)
    earliest = now + timedelta(minutes=LEAD_MINUTES)
    today = now.astimezone(tz).date()
    starts: list[datetime] = []
    for offset in range(max(1, min(days, MAX_DAYS))):
        for begin, end in calendar.intervals_on(config, today + timedelta(days=offset)):
            local = begin.astimezone(tz)
            start = local.replace(minute=(local.minute // 30) * 30, second=0, microsecond=0)
            if start < local:
                start += SLOT
            start = start.astimezone(UTC)  # step in absolute time (exact across DST)
            while start + SLOT <= end:
                if start >= earliest:
                    starts.append(start.astimezone(tz))
                start += SLOT
    return sorted(set(starts))


async def staffed_agents(
    session: AsyncSession, *, workspace_id: int, team_id: int | None, channel: str
) -> int:
    """Active agents (of the team, when given) whose capacity for `channel` is above zero: who
    is usually staffed for that work (the callbacks' and the browser calls' slots)."""
    stmt = (
        select(Agent.id, AgentState.capacity)
        .outerjoin(AgentState, AgentState.agent_id == Agent.id)
        .where(Agent.workspace_id == workspace_id, Agent.is_active.is_(True))
    )
    if team_id is not None:
        stmt = stmt.join(TeamMember, TeamMember.agent_id == Agent.id).where(TeamMember.team_id == team_id)
    return sum(1 for _id, capacity in await session.execute(stmt) if capacity_for(capacity, channel) > 0)


async def staffed_per_slot(session: AsyncSession, *, line: PhoneLine) -> int:
    """How many callbacks one slot holds (see the module's note)."""
    if line.callbacks_per_slot is not None:
        return line.callbacks_per_slot
    return await staffed_agents(
        session, workspace_id=line.workspace_id, team_id=line.team_id, channel="phone"
    )


def open_slots(starts: list[datetime], per_slot: int, taken: dict[datetime, int]) -> list[Slot]:
    """The starts that still have room, with the places left in each (pure)."""
    out = []
    for start in starts:
        left = per_slot - taken.get(start, 0)
        if left > 0:
            out.append(Slot(start, left))
    return out


async def booked(session: AsyncSession, *, inbox_id: int, since: datetime) -> dict[datetime, int]:
    rows = await session.execute(
        select(Callback.slot_at, func.count())
        .where(Callback.inbox_id == inbox_id, Callback.status.in_(OPEN_STATUSES), Callback.slot_at >= since)
        .group_by(Callback.slot_at)
    )
    return {at: n for at, n in rows}


async def offered(
    session: AsyncSession, *, line: PhoneLine, config: dict | None, now: datetime, days: int = DEFAULT_DAYS
) -> list[Slot]:
    """The slots a customer may pick now, with the places left in each."""
    per_slot = await staffed_per_slot(session, line=line)
    if per_slot <= 0:
        return []
    taken = await booked(session, inbox_id=line.inbox_id, since=now)
    return open_slots(slot_starts(config, now, days), per_slot, taken)

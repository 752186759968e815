"""The slots a browser call can be booked at: the callbacks' model (voice/slots.py) over the
widget inbox — 30-minute slots inside the inbox's business hours (holidays and days off
closed), starting at least 15 minutes from now; each holds `calls_per_slot` calls when the
inbox's settings say so, else one per active agent whose widget capacity is above zero; booked
= the inbox's calls still scheduled at that slot."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.calls.models import WebCall
from sodam.channels.models import Inbox
from sodam.channels.promise import business_hours
from sodam.voice import slots as callback_slots
from sodam.voice.slots import DEFAULT_DAYS as DEFAULT_DAYS
from sodam.voice.slots import MAX_DAYS as MAX_DAYS
from sodam.voice.slots import Slot

CHANNEL = "web_widget"


async def per_slot(session: AsyncSession, *, inbox: Inbox) -> int:
    fixed = (inbox.settings or {}).get("calls_per_slot")
    if isinstance(fixed, int) and fixed >= 0:
        return fixed
    return await callback_slots.staffed_agents(
        session, workspace_id=inbox.workspace_id, team_id=None, channel=CHANNEL
    )


async def booked(session: AsyncSession, *, inbox_id: int, since: datetime) -> dict[datetime, int]:
    rows = await session.execute(
        select(WebCall.scheduled_at, func.count())
        .where(WebCall.inbox_id == inbox_id, WebCall.status == "scheduled", WebCall.scheduled_at >= since)
        .group_by(WebCall.scheduled_at)
    )
    return {at: n for at, n in rows}


async def offered(
    session: AsyncSession, *, inbox: Inbox, now: datetime, days: int = DEFAULT_DAYS
) -> list[Slot]:
    """The slots a customer (or an agent for them) may book now, with the places left in each."""
    places = await per_slot(session, inbox=inbox)
    if places <= 0:
        return []
    taken = await booked(session, inbox_id=inbox.id, since=now)
    return callback_slots.open_slots(
        callback_slots.slot_starts(business_hours(inbox), now, days), places, taken
    )

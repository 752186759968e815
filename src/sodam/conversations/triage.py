"""Priority and snooze (보류 until a time).

A snoozed conversation opens again at its time (a job scheduled for that moment, and a
sweep every minute in case a job was lost) or as soon as the customer writes (the message
path reopens it). Services never commit: callers own the transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.conversations import service
from sodam.conversations.models import Conversation, Priority, Status
from sodam.core.errors import Invalid
from sodam.jobs.app import defer_in_tx

PRIORITIES = [p for p in Priority]
MAX_SNOOZE = timedelta(days=366)
WAKE_TASK = "conversations.wake_snoozed"


def next_priority(current: Priority) -> Priority:
    """none → low → medium → high → urgent → none (the `p` key)."""
    return PRIORITIES[(PRIORITIES.index(current) + 1) % len(PRIORITIES)]


def check_until(until: datetime, now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    if until.tzinfo is None:
        raise Invalid("snoozed_until needs a time zone", code="invalid_snooze_time")
    if until <= now + timedelta(seconds=1):
        raise Invalid("snoozed_until must be in the future", code="snooze_in_past")
    if until > now + MAX_SNOOZE:
        raise Invalid("snoozed_until is more than a year away", code="snooze_too_far")
    return until.astimezone(UTC)


async def snooze(
    session: AsyncSession, *, workspace_id: int, conversation_id: int, until: datetime, actor_id: int | None
) -> Conversation:
    """Snooze until a time: status snoozed, the time kept, a job to open it then."""
    until = check_until(until)
    conversation = await service.get(session, workspace_id=workspace_id, conversation_id=conversation_id)
    previous = conversation.status
    conversation.status = Status.snoozed
    conversation.snoozed_until = until
    await service.log_event(
        session,
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        type="status.changed",
        actor_type="agent",
        actor_id=actor_id,
        data={"from": previous.value, "to": Status.snoozed.value, "until": until.isoformat()},
    )
    await defer_in_tx(
        session, WAKE_TASK, {"conversation_id": conversation_id}, queue="default", scheduled_at=until
    )
    await service._touch_and_publish(session, conversation)
    return conversation


async def wake(session: AsyncSession, *, conversation_id: int, now: datetime | None = None) -> bool:
    """Open a snoozed conversation whose time has come (a later snooze or a reply meanwhile: no-op)."""
    now = now or datetime.now(UTC)
    conversation = await session.scalar(
        select(Conversation).where(Conversation.id == conversation_id).with_for_update()
    )
    if (
        conversation is None
        or conversation.status != Status.snoozed
        or conversation.snoozed_until is None
        or conversation.snoozed_until > now
    ):
        return False
    conversation.status = Status.open
    conversation.snoozed_until = None
    await service.log_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="status.changed",
        actor_type="system",
        data={"from": Status.snoozed.value, "to": Status.open.value, "reason": "snooze_ended"},
    )
    await service._touch_and_publish(session, conversation)
    return True


async def due(session: AsyncSession, *, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Snoozed conversations whose time has passed (every workspace: the sweep's work list)."""
    now = now or datetime.now(UTC)
    rows = await session.scalars(
        select(Conversation.id)
        .where(Conversation.status == Status.snoozed, Conversation.snoozed_until <= now)
        .order_by(Conversation.snoozed_until)
        .limit(limit)
    )
    return list(rows)

"""The SLA clocks of one conversation: due times computed from its state, and breaches.

`recompute` derives everything from what is stored (queue entry, replies, status,
priority, the contact's tier, the policy), so running it twice changes nothing; the
triggers of migration 0021 defer it as the job `sla.recompute`. Each running clock gets a
durable job scheduled at its due time (`sla.breach`); a periodic sweep catches any that a
lost job or a restore missed. `breach` acts once per clock: marks it, logs `sla.breached`,
raises the priority one step (as the system), tells the team's supervisors and emits the
domain event `sla.breached` (routing re-routes on it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels import service as inboxes
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import (
    Conversation,
    ConversationEvent,
    Message,
    MessageKind,
    Priority,
    SenderType,
    Status,
)
from sodam.hours import calendar
from sodam.jobs import reactions
from sodam.jobs.app import defer_in_tx
from sodam.sla import service
from sodam.sla.service import KINDS

WARN_AT = 0.75  # amber from three quarters of the target on
DUE_COLUMNS = {
    "first_response": "first_response_due_at",
    "next_response": "next_response_due_at",
    "resolution": "resolution_due_at",
}
PRIORITY_STEPS = [p for p in Priority]


def _now() -> datetime:
    return datetime.now(UTC)


def raised(priority: Priority) -> Priority:
    """One step up (urgent stays urgent)."""
    index = PRIORITY_STEPS.index(priority)
    return PRIORITY_STEPS[min(index + 1, len(PRIORITY_STEPS) - 1)]


def due_after(config: dict[str, Any] | None, start: datetime, seconds: float) -> datetime | None:
    """start + seconds of business time (config) or of calendar time (None)."""
    if config is None:
        return start + timedelta(seconds=seconds)
    return calendar.add_business_seconds(config, start, seconds)


async def _reply_times(session: AsyncSession, conversation: Conversation) -> dict[str, datetime | None]:
    agent = and_(Message.sender_type == SenderType.agent, Message.kind == MessageKind.text)
    first_reply, last_reply = (
        await session.execute(
            select(
                func.min(Message.created_at).filter(Message.created_at >= conversation.queued_at),
                func.max(Message.created_at),
            ).where(Message.conversation_id == conversation.id, agent)
        )
    ).one()
    waiting_since = None
    if last_reply is not None:
        waiting_since = await session.scalar(
            select(func.min(Message.created_at)).where(
                Message.conversation_id == conversation.id,
                Message.sender_type == SenderType.contact,
                Message.kind == MessageKind.text,
                Message.created_at > last_reply,
            )
        )
    reopened = await session.scalar(
        select(func.max(ConversationEvent.created_at)).where(
            ConversationEvent.conversation_id == conversation.id,
            ConversationEvent.type == "status.changed",
            ConversationEvent.data["from"].astext == Status.resolved.value,
        )
    )
    return {
        "first_reply": first_reply,
        "last_reply": last_reply,
        "waiting_since": waiting_since,
        "reopened": reopened,
    }


def _clear(conversation: Conversation) -> None:
    for column in DUE_COLUMNS.values():
        setattr(conversation, column, None)
    conversation.sla_clocks = {}
    conversation.sla_awaiting_customer = False


async def recompute(session: AsyncSession, *, conversation_id: int) -> dict[str, Any]:
    """Compute and store the conversation's due times; schedule a breach job per clock.
    Returns the clocks."""
    conversation = await session.scalar(
        select(Conversation).where(Conversation.id == conversation_id).with_for_update()
    )
    if conversation is None:
        return {}
    if conversation.status == Status.resolved or conversation.queued_at is None or conversation.bot_handling:
        _clear(conversation)
        await session.flush()
        return {}
    policy = await service.policy_for(
        session, workspace_id=conversation.workspace_id, inbox_id=conversation.inbox_id
    )
    if policy is None:
        _clear(conversation)
        conversation.sla_policy_id = None
        await session.flush()
        return {}
    contact = await contacts.get(
        session, workspace_id=conversation.workspace_id, contact_id=conversation.contact_id
    )
    tier = (contact.custom_attributes or {}).get("tier")
    targets = service.targets_for(
        policy, tier=str(tier) if tier else None, priority=conversation.priority.value
    )
    config = None
    if policy.business_hours:
        inbox = await inboxes.get(
            session, workspace_id=conversation.workspace_id, inbox_id=conversation.inbox_id
        )
        config = (inbox.settings or {}).get("business_hours") or calendar.DEFAULT_HOURS
    times = await _reply_times(session, conversation)
    starts: dict[str, datetime] = {}
    if targets["first_response"] and times["first_reply"] is None:
        starts["first_response"] = conversation.queued_at
    if targets["next_response"] and times["waiting_since"] is not None:
        starts["next_response"] = times["waiting_since"]
    if targets["resolution"]:
        starts["resolution"] = max(conversation.queued_at, times["reopened"] or conversation.queued_at)
    old = conversation.sla_clocks or {}
    clocks: dict[str, Any] = {}
    for kind, start in starts.items():
        seconds = targets[kind]
        due = due_after(config, start, seconds)
        if due is None:
            continue
        warn = due_after(config, start, seconds * WARN_AT) or due
        clock = {
            "start": start.astimezone(UTC).isoformat(),
            "due": due.astimezone(UTC).isoformat(),
            "warn": warn.astimezone(UTC).isoformat(),
            "target_s": seconds,
            "breached": bool(old.get(kind, {}).get("breached"))
            and old[kind].get("start") == start.astimezone(UTC).isoformat(),
        }
        clocks[kind] = clock
    for kind in KINDS:
        setattr(
            conversation,
            DUE_COLUMNS[kind],
            datetime.fromisoformat(clocks[kind]["due"]) if kind in clocks else None,
        )
    conversation.sla_policy_id = policy.id
    conversation.sla_clocks = clocks
    conversation.sla_awaiting_customer = bool(
        targets["next_response"] and times["last_reply"] is not None and times["waiting_since"] is None
    )
    await session.flush()
    for kind, clock in clocks.items():
        if not clock["breached"]:
            await schedule_breach(
                session, conversation_id=conversation.id, kind=kind, due=datetime.fromisoformat(clock["due"])
            )
    return clocks


async def promised_first_response(session: AsyncSession, conversation: Conversation) -> datetime | None:
    """When the SLA policy promises the first response (what `recompute` would store), read
    only: the first auto-reply names it before the recompute job has run."""
    if conversation.queued_at is None:
        return conversation.first_response_due_at
    policy = await service.policy_for(
        session, workspace_id=conversation.workspace_id, inbox_id=conversation.inbox_id
    )
    if policy is None:
        return None
    contact = await contacts.get(
        session, workspace_id=conversation.workspace_id, contact_id=conversation.contact_id
    )
    tier = (contact.custom_attributes or {}).get("tier")
    targets = service.targets_for(
        policy, tier=str(tier) if tier else None, priority=conversation.priority.value
    )
    if not targets["first_response"]:
        return None
    config = None
    if policy.business_hours:
        inbox = await inboxes.get(
            session, workspace_id=conversation.workspace_id, inbox_id=conversation.inbox_id
        )
        config = (inbox.settings or {}).get("business_hours") or calendar.DEFAULT_HOURS
    return due_after(config, conversation.queued_at, targets["first_response"])


def breach_lock(conversation_id: int, kind: str, due: datetime) -> str:
    return f"sla.breach:{conversation_id}:{kind}:{int(due.timestamp())}"


async def schedule_breach(
    session: AsyncSession, *, conversation_id: int, kind: str, due: datetime
) -> int | None:
    """A durable job at the due time (one per clock and due time); returns its id, None if queued already."""
    lock = breach_lock(conversation_id, kind, due)
    queued = await session.scalar(
        text("SELECT 1 FROM procrastinate_jobs WHERE queueing_lock = :lock AND status = 'todo'"),
        {"lock": lock},
    )
    if queued:
        return None
    return await defer_in_tx(
        session,
        "sla.breach",
        {"conversation_id": conversation_id, "kind": kind, "due": due.isoformat()},
        lock=lock,
        queueing_lock=lock,
        scheduled_at=due,
    )


async def breach(
    session: AsyncSession, *, conversation_id: int, kind: str, now: datetime | None = None
) -> bool:
    """Act on a breached clock once: True if this call did."""
    now = now or _now()
    conversation = await session.scalar(
        select(Conversation).where(Conversation.id == conversation_id).with_for_update()
    )
    if conversation is None or conversation.status == Status.resolved:
        return False
    clock = (conversation.sla_clocks or {}).get(kind)
    if not clock or clock.get("breached") or datetime.fromisoformat(clock["due"]) > now:
        return False  # met, already acted on, or moved later (a job waits for the new time)
    conversation.sla_clocks = {**conversation.sla_clocks, kind: {**clock, "breached": True}}
    workspace_id = conversation.workspace_id
    before = conversation.priority
    await conversations.log_event(
        session,
        workspace_id=workspace_id,
        conversation_id=conversation.id,
        type="sla.breached",
        actor_type="system",
        data={
            "kind": kind,
            "due_at": clock["due"],
            "policy_id": conversation.sla_policy_id,
            "priority": before.value,
        },
    )
    await conversations.set_priority(
        session,
        workspace_id=workspace_id,
        conversation_id=conversation.id,
        priority=raised(before),
        actor_id=None,
        actor_type="system",
    )
    from sodam.notifications import service as notifications

    await notifications.notify_sla_breach(session, conversation=conversation, kind=kind)
    await reactions.emit(
        session,
        "sla.breached",
        {"workspace_id": workspace_id, "conversation_id": conversation.id, "kind": kind},
    )
    return True


async def overdue(
    session: AsyncSession, *, now: datetime | None = None, limit: int = 500
) -> list[tuple[int, str]]:
    """(conversation, kind) pairs past their due time and not yet acted on (the sweep)."""
    now = now or _now()
    found: list[tuple[int, str]] = []
    for kind, column in DUE_COLUMNS.items():
        due = getattr(Conversation, column)
        flag = Conversation.sla_clocks[kind]["breached"].astext
        rows = await session.scalars(
            select(Conversation.id)
            .where(
                Conversation.status != Status.resolved,
                due <= now,
                or_(flag.is_(None), flag != "true"),
            )
            .order_by(due)
            .limit(limit)
        )
        found.extend((conversation_id, kind) for conversation_id in rows)
    return found

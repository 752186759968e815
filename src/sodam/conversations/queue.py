"""The human queue: who is waiting for a person, in which order, and how long replies take.

Order (shared by the widget's queue position and by routing): queue_rank + the
conversation's priority (higher first; routing raises queue_rank for VIP customers and
conversations whose promised wait is at risk), then FIFO by when the wait for a person
began (queued_at: the handoff, or the start of a conversation in an inbox without the bot).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.conversations.models import Conversation, Message, Priority, SenderType, Status

REPLY_TIME_MIN_SAMPLES = 3

PRIORITY_RANK = {Priority.none: 0, Priority.low: 0, Priority.medium: 1, Priority.high: 2, Priority.urgent: 3}

# Higher first. A column expression, so SQL and routing's in-memory sort agree.
queue_order_rank = Conversation.queue_rank + case(
    {p: rank for p, rank in PRIORITY_RANK.items()}, value=Conversation.priority, else_=0
)


def rank_of(conversation: Conversation) -> int:
    return (conversation.queue_rank or 0) + PRIORITY_RANK.get(conversation.priority, 0)


def in_human_queue() -> list:
    """Open, unassigned conversations waiting for a person (the bot no longer handles them):
    what routing routes."""
    return [
        Conversation.status == Status.open,
        Conversation.assignee_id.is_(None),
        Conversation.bot_handling.is_(False),
        Conversation.queued_at.is_not(None),
    ]


def waiting_for_a_person() -> list:
    """In the human queue and not answered by any agent yet (the customer's queue place)."""
    answered = (
        select(Message.id)
        .where(Message.conversation_id == Conversation.id, Message.sender_type == SenderType.agent)
        .exists()
    )
    return [*in_human_queue(), ~answered]


async def queue_position(session: AsyncSession, *, inbox_id: int, conversation_id: int) -> int | None:
    """1-based place of a conversation among those of its inbox waiting for a person, in queue
    order, or None when it is not waiting (assigned, answered, resolved, …)."""
    waiting = [Conversation.inbox_id == inbox_id, *waiting_for_a_person()]
    mine = (
        await session.execute(
            select(queue_order_rank, Conversation.queued_at).where(
                Conversation.id == conversation_id, *waiting
            )
        )
    ).first()
    if mine is None:
        return None
    rank, queued_at = mine
    ahead = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(
            or_(
                queue_order_rank > rank,
                (queue_order_rank == rank)
                & (tuple_(Conversation.queued_at, Conversation.id) < tuple_(queued_at, conversation_id)),
            ),
            *waiting,
        )
    )
    return int(ahead or 0) + 1


async def next_position(session: AsyncSession, *, inbox_id: int) -> int:
    """The place a customer handed to a person now would take: behind everyone of the inbox
    waiting for a person (what the widget's header promises before there is a conversation)."""
    waiting = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.inbox_id == inbox_id, *waiting_for_a_person())
    )
    return int(waiting or 0) + 1


async def position_if_queued_now(session: AsyncSession, conversation: Conversation) -> int | None:
    """The place queue_position gives the conversation once it joins the queue now (the bot's
    handoff reads it before it locks the row): behind every conversation of its inbox waiting
    for a person at its rank or higher (they all joined earlier). None when it would not be
    waiting (assigned, not open, or already answered by an agent). One statement."""
    if conversation.status != Status.open or conversation.assignee_id is not None:
        return None
    ahead = (
        select(func.count())
        .select_from(Conversation)
        .where(
            Conversation.inbox_id == conversation.inbox_id,
            Conversation.id != conversation.id,
            queue_order_rank >= rank_of(conversation),
            *waiting_for_a_person(),
        )
        .scalar_subquery()
    )
    answered = (
        select(Message.id)
        .where(Message.conversation_id == conversation.id, Message.sender_type == SenderType.agent)
        .exists()
    )
    row = (await session.execute(select(ahead, answered))).one()
    return None if row[1] else int(row[0] or 0) + 1


async def typical_first_response_seconds(
    session: AsyncSession, *, inbox_id: int, min_samples: int = REPLY_TIME_MIN_SAMPLES
) -> float | None:
    """Median first-response time (first agent reply after the first customer message) of the
    inbox's recent conversations (last 30 days, at most 200); None while there are too few to say."""
    cutoff = datetime.now(UTC) - timedelta(days=30)
    recent = (
        select(Conversation.id)
        .where(Conversation.inbox_id == inbox_id, Conversation.created_at > cutoff)
        .order_by(Conversation.id.desc())
        .limit(200)
        .scalar_subquery()
    )
    # The wait a person is responsible for starts when the conversation entered the human
    # queue (the handoff in a bot inbox), not at the customer's first message to the bot.
    firsts = (
        select(
            func.greatest(
                func.min(Message.created_at).filter(Message.sender_type == SenderType.contact),
                func.min(Conversation.queued_at),
            ).label("asked"),
            func.min(Message.created_at).filter(Message.sender_type == SenderType.agent).label("answered"),
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.conversation_id.in_(recent))
        .group_by(Message.conversation_id)
        .subquery()
    )
    waited = func.extract("epoch", firsts.c.answered - firsts.c.asked)
    median, samples = (
        await session.execute(
            select(func.percentile_cont(0.5).within_group(waited), func.count()).where(
                firsts.c.answered > firsts.c.asked
            )
        )
    ).one()
    return float(median) if median is not None and samples >= min_samples else None

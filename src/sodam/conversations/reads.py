"""Read state: how far each agent has read each conversation.

One row per (conversation, agent), written when the agent views the conversation or
reads live messages in it (console.js sends one debounced write, never one per
message). The list's unread dots and the widget's "읽음" are computed from it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.conversations.models import Conversation, ConversationRead, Direction, Message
from sodam.realtime import bus


async def mark_read(
    session: AsyncSession, *, workspace_id: int, conversation_id: int, agent_id: int, seq: int
) -> None:
    """Record that an agent has read a conversation up to `seq` (never backwards).

    One row per agent and conversation, written when the agent views it (not per message);
    the visitor's widget is told (after commit) so it can show "읽음"."""
    stmt = pg_insert(ConversationRead).values(
        workspace_id=workspace_id, conversation_id=conversation_id, agent_id=agent_id, last_read_seq=seq
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[ConversationRead.conversation_id, ConversationRead.agent_id],
            set_={
                "last_read_seq": func.greatest(ConversationRead.last_read_seq, stmt.excluded.last_read_seq),
                "updated_at": func.now(),
            },
            where=ConversationRead.workspace_id == workspace_id,
        )
    )
    if seq > 0:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is not None and conversation.workspace_id == workspace_id:
            await bus.publish(
                session,
                {
                    "t": "read",
                    "ws": workspace_id,
                    "conv": conversation_id,
                    "contact": conversation.contact_id,
                    "inbox": conversation.inbox_id,
                    "seq": seq,
                },
            )


async def agent_read_seq(session: AsyncSession, *, conversation_id: int) -> int:
    """How far any agent has read this conversation (the widget's "읽음")."""
    value = await session.scalar(
        select(func.max(ConversationRead.last_read_seq)).where(
            ConversationRead.conversation_id == conversation_id
        )
    )
    return int(value or 0)


async def unread_ids(
    session: AsyncSession, *, workspace_id: int, agent_id: int, conversation_ids: list[int]
) -> set[int]:
    """Which of these conversations have a customer message the agent has not read."""
    if not conversation_ids:
        return set()
    read = (
        select(ConversationRead.last_read_seq)
        .where(
            ConversationRead.conversation_id == Message.conversation_id,
            ConversationRead.agent_id == agent_id,
        )
        .scalar_subquery()
    )
    rows = await session.scalars(
        select(Message.conversation_id)
        .where(
            Message.workspace_id == workspace_id,
            Message.conversation_id.in_(conversation_ids),
            Message.direction == Direction.incoming,
        )
        .group_by(Message.conversation_id)
        .having(func.max(Message.seq) > func.coalesce(read, 0))
    )
    return set(rows)

"""Conversations, messages and their event log.

Every state change writes its row(s), appends to the event log and publishes a
bus event in the caller's transaction; the bus delivers only after COMMIT.
Services never commit: callers own the transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.conversations.message_path import POST_MESSAGES_SQL as POST_MESSAGES_SQL
from sodam.conversations.message_path import PREVIEW_CHARS as PREVIEW_CHARS
from sodam.conversations.message_path import create_message as create_message
from sodam.conversations.message_path import create_messages as create_messages
from sodam.conversations.message_path import post_visitor_message as post_visitor_message
from sodam.conversations.message_path import validate_content as validate_content
from sodam.conversations.message_path import visitor_message_committer as visitor_message_committer
from sodam.conversations.models import (
    Conversation,
    ConversationEvent,
    Direction,
    Message,
    MessageKind,
    Priority,
    SenderType,
    Status,
)
from sodam.conversations.queue import next_position as next_position
from sodam.conversations.queue import position_if_queued_now as position_if_queued_now
from sodam.conversations.queue import queue_position as queue_position
from sodam.conversations.queue import typical_first_response_seconds as typical_first_response_seconds
from sodam.conversations.reads import agent_read_seq as agent_read_seq
from sodam.conversations.reads import mark_read as mark_read
from sodam.conversations.reads import unread_ids as unread_ids
from sodam.conversations.recent import forget_conversations as forget_conversations
from sodam.conversations.recent import message_out_row as message_out_row
from sodam.conversations.recent import take_recent_message as take_recent_message
from sodam.core.errors import NotFound
from sodam.jobs import reactions
from sodam.realtime import bus

MAX_TAGS = 30


def _now() -> datetime:
    return datetime.now(UTC)


async def log_event(
    session: AsyncSession,
    *,
    workspace_id: int,
    conversation_id: int,
    type: str,
    actor_type: str,
    actor_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> ConversationEvent:
    """Append one entry to the conversation event log."""
    event = ConversationEvent(
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        type=type,
        actor_type=actor_type,
        actor_id=actor_id,
        data=data or {},
        # The moment of the change, as messages are stamped (sodam_post_message uses
        # clock_timestamp()); now() would be the transaction's start, so an assignment made
        # in a transaction that began before a message could sort above that message.
        created_at=func.clock_timestamp(),
    )
    session.add(event)
    await session.flush()
    return event


async def get(session: AsyncSession, *, workspace_id: int, conversation_id: int) -> Conversation:
    """Get a conversation of this workspace."""
    conversation = await session.scalar(
        select(Conversation).where(
            Conversation.workspace_id == workspace_id, Conversation.id == conversation_id
        )
    )
    if conversation is None:
        raise NotFound("conversation not found")
    return conversation


async def list_(
    session: AsyncSession,
    *,
    workspace_id: int,
    agent_id: int | None = None,
    view: str = "all",
    status: Status | None = Status.open,
    inbox_id: int | None = None,
    team_id: int | None = None,
    contact_id: int | None = None,
    before: tuple[datetime, int] | None = None,
    limit: int = 50,
    order: str = "recent",
) -> list[Conversation]:
    """Conversations, most recent activity first (order "due": the nearest SLA due time
    first, those without one last); view is mine / unassigned / all.

    `before` is the (last_message_at, id) of the last row of the previous page (order "recent").
    """
    stmt = select(Conversation).where(Conversation.workspace_id == workspace_id)
    if view == "mine":
        stmt = stmt.where(Conversation.assignee_id == agent_id)
    elif view == "unassigned":  # human work nobody has taken: not what the bot is handling
        stmt = stmt.where(Conversation.assignee_id.is_(None), Conversation.bot_handling.is_(False))
    elif view == "bot":
        stmt = stmt.where(Conversation.bot_handling.is_(True))
    if status is not None:
        stmt = stmt.where(Conversation.status == status)
    if inbox_id is not None:
        stmt = stmt.where(Conversation.inbox_id == inbox_id)
    if team_id is not None:
        stmt = stmt.where(Conversation.team_id == team_id)
    if contact_id is not None:
        stmt = stmt.where(Conversation.contact_id == contact_id)
    if order == "due":
        due = sla_due(Conversation)
        result = await session.scalars(stmt.order_by(due.asc().nulls_last(), Conversation.id).limit(limit))
        return list(result)
    sort_key = func.coalesce(Conversation.last_message_at, Conversation.created_at)
    if before is not None:
        at, last_id = before
        stmt = stmt.where(or_(sort_key < at, and_(sort_key == at, Conversation.id < last_id)))
    result = await session.scalars(stmt.order_by(sort_key.desc(), Conversation.id.desc()).limit(limit))
    return list(result)


def sla_due(table):
    """The nearest of a conversation's SLA due times (NULL when none runs)."""
    return func.least(table.first_response_due_at, table.next_response_due_at, table.resolution_due_at)


async def counts(session: AsyncSession, *, workspace_id: int, agent_id: int) -> dict[str, int]:
    """Open conversations per view, for the console's filters."""
    row = (
        await session.execute(
            select(
                func.count().filter(Conversation.assignee_id == agent_id),
                func.count().filter(Conversation.assignee_id.is_(None), Conversation.bot_handling.is_(False)),
                func.count(),
                func.count().filter(Conversation.bot_handling.is_(True)),
            ).where(Conversation.workspace_id == workspace_id, Conversation.status == Status.open)
        )
    ).one()
    return {"mine": row[0], "unassigned": row[1], "all": row[2], "bot": row[3]}


async def create(
    session: AsyncSession,
    *,
    workspace_id: int,
    inbox_id: int,
    contact_id: int,
    language: str | None = None,
    actor_type: str = "contact",
    actor_id: int | None = None,
) -> Conversation:
    """Open a new conversation."""
    conversation = Conversation(
        workspace_id=workspace_id,
        inbox_id=inbox_id,
        contact_id=contact_id,
        language=language,
        status=Status.open,
        priority=Priority.none,
        tags=[],
        last_seq=0,
    )
    session.add(conversation)
    await session.flush()
    await log_event(
        session,
        workspace_id=workspace_id,
        conversation_id=conversation.id,
        type="conversation.created",
        actor_type=actor_type,
        actor_id=actor_id,
        data={"inbox_id": inbox_id, "contact_id": contact_id},
    )
    await _publish_conversation(session, conversation, "conversation.created")
    return conversation


async def find_or_create_open(
    session: AsyncSession, *, workspace_id: int, inbox_id: int, contact_id: int, language: str | None = None
) -> Conversation:
    """The contact's current (unresolved) conversation in this inbox, or a new one."""
    # Serialise per (inbox, contact) so two tabs sending at once share one conversation.
    # The same key as sodam_post_message's, so both paths serialise with each other.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"conv:{inbox_id}:{contact_id}"}
    )
    current = await session.scalar(
        select(Conversation)
        .where(
            Conversation.workspace_id == workspace_id,
            Conversation.inbox_id == inbox_id,
            Conversation.contact_id == contact_id,
            Conversation.status != Status.resolved,
        )
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    if current is not None:
        return current
    return await create(
        session, workspace_id=workspace_id, inbox_id=inbox_id, contact_id=contact_id, language=language
    )


async def latest_for_contact(
    session: AsyncSession, *, workspace_id: int, inbox_id: int, contact_id: int
) -> Conversation | None:
    """The contact's most recent conversation in an inbox (what the widget shows)."""
    return await session.scalar(
        select(Conversation)
        .where(
            Conversation.workspace_id == workspace_id,
            Conversation.inbox_id == inbox_id,
            Conversation.contact_id == contact_id,
        )
        .order_by(Conversation.id.desc())
        .limit(1)
    )


async def messages_after(
    session: AsyncSession,
    *,
    workspace_id: int,
    conversation_id: int,
    after_seq: int = 0,
    include_private: bool = False,
    limit: int = 500,
) -> list[Message]:
    """Messages of a conversation after a sequence number, oldest first."""
    stmt = select(Message).where(
        Message.workspace_id == workspace_id,
        Message.conversation_id == conversation_id,
        Message.seq > after_seq,
    )
    if not include_private:
        stmt = stmt.where(Message.kind != MessageKind.note)
    result = await session.scalars(stmt.order_by(Message.seq).limit(limit))
    return list(result)


async def get_messages_by_ids(session: AsyncSession, *, ids: list[int]) -> list[Message]:
    """Messages by id (for the realtime fan-out, which already knows the workspace)."""
    result = await session.scalars(select(Message).where(Message.id.in_(ids)))
    return list(result)


async def set_status(
    session: AsyncSession,
    *,
    workspace_id: int,
    conversation_id: int,
    status: Status,
    actor_id: int | None,
    actor_type: str = "agent",
) -> Conversation:
    """Change a conversation's status."""
    conversation = await get(session, workspace_id=workspace_id, conversation_id=conversation_id)
    if conversation.status != status:
        await log_event(
            session,
            workspace_id=workspace_id,
            conversation_id=conversation_id,
            type="status.changed",
            actor_type=actor_type,
            actor_id=actor_id,
            data={"from": conversation.status.value, "to": status.value},
        )
        conversation.status = status
        conversation.snoozed_until = None  # a plain status change ends any snooze time
        await _touch_and_publish(session, conversation)
        if status == Status.resolved:  # surveys after resolution (and later automations) react
            await reactions.emit(
                session,
                "conversation.resolved",
                {
                    "workspace_id": workspace_id,
                    "conversation_id": conversation_id,
                    "inbox_id": conversation.inbox_id,
                    "contact_id": conversation.contact_id,
                },
            )
    return conversation


async def set_priority(
    session: AsyncSession,
    *,
    workspace_id: int,
    conversation_id: int,
    priority: Priority,
    actor_id: int | None,
    actor_type: str = "agent",
) -> Conversation:
    """Change a conversation's priority (actor_type "system" for an SLA breach's raise)."""
    conversation = await get(session, workspace_id=workspace_id, conversation_id=conversation_id)
    if conversation.priority != priority:
        await log_event(
            session,
            workspace_id=workspace_id,
            conversation_id=conversation_id,
            type="priority.changed",
            actor_type=actor_type,
            actor_id=actor_id,
            data={"from": conversation.priority.value, "to": priority.value},
        )
        conversation.priority = priority
        await _touch_and_publish(session, conversation)
    return conversation


# Tags live in tags.py (they build on this module); callers keep saying `conversations.set_tags(...)`.
async def set_tags(session: AsyncSession, **kwargs: Any) -> Conversation:
    """Replace a conversation's tags (an agent's edit)."""
    from sodam.conversations.tags import set_tags as _set_tags

    return await _set_tags(session, **kwargs)


async def add_tags(session: AsyncSession, **kwargs: Any) -> Conversation:
    """Add tags, keeping the ones the conversation has, in one statement (see tags.add_tags)."""
    from sodam.conversations.tags import add_tags as _add_tags

    return await _add_tags(session, **kwargs)


async def queue_for_people(session: AsyncSession, **kwargs: Any) -> Conversation:
    """The bot's handoff's writes to its conversation in one statement (see tags.queue_for_people)."""
    from sodam.conversations.tags import queue_for_people as _queue_for_people

    return await _queue_for_people(session, **kwargs)


async def events(
    session: AsyncSession,
    *,
    workspace_id: int,
    conversation_id: int,
    after_id: int | None = None,
    limit: int | None = None,
) -> list[ConversationEvent]:
    """The event log of a conversation, oldest first (optionally one keyset page of it)."""
    stmt = select(ConversationEvent).where(
        ConversationEvent.workspace_id == workspace_id,
        ConversationEvent.conversation_id == conversation_id,
    )
    if after_id is not None:
        stmt = stmt.where(ConversationEvent.id > after_id)
    stmt = stmt.order_by(ConversationEvent.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(await session.scalars(stmt))


async def _touch_and_publish(
    session: AsyncSession, conversation: Conversation, extra: dict[str, Any] | None = None
) -> None:
    conversation.updated_at = _now()
    await session.flush()
    await _publish_conversation(session, conversation, "conversation.updated", extra)


async def _publish_conversation(
    session: AsyncSession, conversation: Conversation, event_type: str, extra: dict[str, Any] | None = None
) -> None:
    await bus.publish(
        session,
        {
            "t": event_type,
            "ws": conversation.workspace_id,
            "conv": conversation.id,
            "contact": conversation.contact_id,
            "inbox": conversation.inbox_id,
            **(extra or {}),
        },
    )


async def awaiting_reply_since(
    session: AsyncSession, *, workspace_id: int, conversation_ids: list[int]
) -> dict[int, datetime]:
    """For conversations whose customer is waiting for a person: when the wait began (the
    first customer message after the last agent reply). Bot replies do not stop the clock."""
    if not conversation_ids:
        return {}
    answered = (
        select(func.coalesce(func.max(Message.seq), 0))
        .where(
            Message.conversation_id == Conversation.id,
            Message.sender_type == SenderType.agent,
            Message.kind == MessageKind.text,
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    waiting_since = (
        select(func.min(Message.created_at))
        .where(
            Message.conversation_id == Conversation.id,
            Message.direction == Direction.incoming,
            Message.seq > answered,
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            Conversation.id,
            case((waiting_since.is_(None), None), else_=func.greatest(waiting_since, Conversation.queued_at)),
        ).where(
            Conversation.workspace_id == workspace_id,
            Conversation.id.in_(conversation_ids),
            Conversation.bot_handling.is_(False),
        )
    )
    return {conversation_id: since for conversation_id, since in rows if since is not None}


# Assignment lives in assignment.py (it builds on this module); callers keep saying
# `conversations.assign(...)`.
async def assign(session: AsyncSession, **kwargs: Any) -> Conversation:
    """Assign a conversation to an agent (or nobody) and optionally a team."""
    from sodam.conversations.assignment import assign as _assign

    return await _assign(session, **kwargs)


async def claim_by_reply(session: AsyncSession, *, conversation: Conversation, agent_id: int) -> bool:
    """An agent's reply to an unassigned conversation makes it theirs."""
    from sodam.conversations.assignment import claim_by_reply as _claim

    return await _claim(session, conversation=conversation, agent_id=agent_id)


async def assign_many(session: AsyncSession, **kwargs: Any) -> dict[int, datetime]:
    """Routing's assignments in bulk (see assignment.assign_many)."""
    from sodam.conversations.assignment import assign_many as _assign_many

    return await _assign_many(session, **kwargs)

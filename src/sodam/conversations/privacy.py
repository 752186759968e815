"""Conversations and personal data: export, redaction in place, retention look-ups.

Redaction keeps each row and its place (seq, times, who sent it, the event log), so
analytics stay exact; only what the customer or agent wrote is replaced. Every
process also forgets the redacted messages it may hold in memory (see
`forget_cached`, run on the bus event this module publishes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.attachments import service as attachments
from sodam.conversations import service
from sodam.conversations.models import Conversation, ConversationEvent, Message, MessageKind, Status
from sodam.realtime import bus

REDACTED_EVENT = "conversations.redacted"
# NOTIFY payloads stay well under PostgreSQL's 8,000 bytes.
_IDS_PER_EVENT = 500
# Event types whose data may hold what a customer typed or gave (the bot's hand-off
# summary carries the question and the lead's name, e-mail and phone).
_EVENTS_WITH_PERSONAL_DATA = ("bot.handed_off",)


async def contact_conversation_ids(session: AsyncSession, *, workspace_id: int, contact_id: int) -> list[int]:
    """Ids of every conversation of a contact."""
    result = await session.scalars(
        select(Conversation.id)
        .where(Conversation.workspace_id == workspace_id, Conversation.contact_id == contact_id)
        .order_by(Conversation.id)
    )
    return list(result)


async def export_for_contact(
    session: AsyncSession,
    *,
    workspace_id: int,
    contact_id: int,
    include_notes: bool,
    inbox_names: dict[int, str],
) -> list[dict[str, Any]]:
    """A contact's conversations with their messages, oldest first, as plain JSON."""
    conversations = list(
        await session.scalars(
            select(Conversation)
            .where(Conversation.workspace_id == workspace_id, Conversation.contact_id == contact_id)
            .order_by(Conversation.id)
        )
    )
    ids = [c.id for c in conversations]
    by_conversation: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        stmt = select(Message).where(Message.workspace_id == workspace_id, Message.conversation_id.in_(ids))
        if not include_notes:
            stmt = stmt.where(Message.kind != MessageKind.note)
        for m in await session.scalars(stmt.order_by(Message.conversation_id, Message.seq)):
            by_conversation[m.conversation_id].append(
                {
                    "seq": m.seq,
                    "created_at": m.created_at.isoformat(),
                    "direction": m.direction.value,
                    "kind": m.kind.value,
                    "sender_type": m.sender_type.value,
                    "content": m.content,
                    "payload": m.payload,
                    "sentiment": m.sentiment_label,
                }
            )
    return [
        {
            "id": c.id,
            "inbox": inbox_names.get(c.inbox_id),
            "status": c.status.value,
            "language": c.language,
            "tags": list(c.tags or []),
            "created_at": c.created_at.isoformat(),
            "last_message_at": c.last_message_at.isoformat() if c.last_message_at else None,
            "redacted_at": c.redacted_at.isoformat() if c.redacted_at else None,
            "messages": by_conversation[c.id],
        }
        for c in conversations
    ]


async def redact(
    session: AsyncSession, *, workspace_id: int, conversation_ids: list[int], placeholder: str, now: datetime
) -> int:
    """Replace the text of every message of these conversations and clear their extras;
    returns the number of messages redacted. Times, senders and the event log stay."""
    if not conversation_ids:
        return 0
    result = await session.execute(
        update(Message)
        .where(Message.workspace_id == workspace_id, Message.conversation_id.in_(conversation_ids))
        .values(content=placeholder, payload=None)
    )
    await session.execute(
        update(Conversation)
        .where(Conversation.workspace_id == workspace_id, Conversation.id.in_(conversation_ids))
        # updated_at kept as it was: redaction is not activity (retention reads it).
        .values(last_message_preview=None, redacted_at=now, updated_at=Conversation.updated_at)
    )
    # The event log is append-only; this transaction alone may blank an entry's data.
    await session.execute(text("SET LOCAL sodam.redaction = 'on'"))
    await session.execute(
        update(ConversationEvent)
        .where(
            ConversationEvent.workspace_id == workspace_id,
            ConversationEvent.conversation_id.in_(conversation_ids),
            ConversationEvent.type.in_(_EVENTS_WITH_PERSONAL_DATA),
        )
        .values(data=func.jsonb_build_object("redacted", True))
    )
    await session.execute(text("SET LOCAL sodam.redaction = 'off'"))
    # Files are personal data too: gone with the text.
    await attachments.erase(session, workspace_id=workspace_id, conversation_ids=conversation_ids)
    await _announce(session, workspace_id, conversation_ids)
    return result.rowcount or 0


async def delete_conversations(
    session: AsyncSession, *, workspace_id: int, conversation_ids: list[int]
) -> int:
    """Delete conversations (messages, events, reads and bot state go with them)."""
    if not conversation_ids:
        return 0
    await attachments.erase(session, workspace_id=workspace_id, conversation_ids=conversation_ids)
    result = await session.execute(
        sql_delete(Conversation).where(
            Conversation.workspace_id == workspace_id, Conversation.id.in_(conversation_ids)
        )
    )
    await _announce(session, workspace_id, conversation_ids)
    return result.rowcount or 0


async def old_resolved_ids(
    session: AsyncSession, *, workspace_id: int, before: datetime, limit: int, unredacted_only: bool
) -> list[int]:
    """Resolved conversations with no activity since `before`, oldest first (one batch)."""
    stmt = select(Conversation.id).where(
        Conversation.workspace_id == workspace_id,
        Conversation.status == Status.resolved,
        Conversation.updated_at < before,
    )
    if unredacted_only:
        stmt = stmt.where(Conversation.redacted_at.is_(None))
    return list(await session.scalars(stmt.order_by(Conversation.updated_at, Conversation.id).limit(limit)))


async def _announce(session: AsyncSession, workspace_id: int, conversation_ids: list[int]) -> None:
    for start in range(0, len(conversation_ids), _IDS_PER_EVENT):
        chunk = conversation_ids[start : start + _IDS_PER_EVENT]
        await bus.publish(session, {"t": REDACTED_EVENT, "ws": workspace_id, "ids": chunk})


async def forget_cached(event: dict[str, Any]) -> None:
    """hub.on_event handler: drop this process's in-memory copies of redacted messages."""
    if event.get("t") == REDACTED_EVENT:
        service.forget_conversations(set(event.get("ids") or ()))

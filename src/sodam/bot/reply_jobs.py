"""The bot's reply job: which message a run answers, and keeping one job waiting per conversation.

The message function defers a reply job for a customer message only while none of the
conversation's is waiting (coalesced, migration 0043), so a job answers the conversation's
latest question when it runs, not necessarily the message that deferred it.
"""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.conversations.models import Conversation, Message, MessageKind, SenderType
from sodam.jobs.app import defer_in_tx

# Registered in bot.tasks; a conversation's jobs run one at a time, in order.
REPLY_TASK = "bot.on_customer_message"
REPLY_LOCK = "conversation-{conversation_id}"


def not_flagged(key: str):
    """Messages whose payload does not carry `key` (a NULL payload carries nothing)."""
    return func.coalesce(Message.payload.has_key(key), False).is_(False)


async def latest_question(session: AsyncSession, conversation_id: int) -> Message | None:
    """The conversation's newest customer text message that the bot would answer ("진행 상황?"
    is routing's to answer)."""
    return await session.scalar(
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.sender_type == SenderType.contact,
            Message.kind == MessageKind.text,
            not_flagged("status_request"),
        )
        .order_by(Message.seq.desc())
        .limit(1)
    )


async def answered_after(session: AsyncSession, conversation_id: int, seq: int) -> bool:
    return bool(
        await session.scalar(
            select(func.count()).where(
                Message.conversation_id == conversation_id,
                Message.sender_type == SenderType.bot,
                Message.seq > seq,
                not_flagged("status_reply"),  # routing's answer to "진행 상황?" answers nothing here
            )
        )
    )


async def ensure_reply_job(session: AsyncSession, conversation: Conversation) -> None:
    """Under the conversation's row lock: a reply job for its latest question unless one is
    waiting (the message function's coalescing check, the same lock held)."""
    latest = await latest_question(session, conversation.id)
    if latest is None:
        return
    lock = REPLY_LOCK.format(conversation_id=conversation.id)
    waiting = await session.scalar(
        text(
            "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs"
            " WHERE lock = :lock AND status = 'todo' AND task_name = :task)"
        ),
        {"lock": lock, "task": REPLY_TASK},
    )
    if waiting:
        return
    args = {
        "event": "message.created",
        "workspace_id": conversation.workspace_id,
        "conversation_id": conversation.id,
        "inbox_id": conversation.inbox_id,
        "message_id": latest.id,
        "sender_type": SenderType.contact.value,
        "kind": MessageKind.text.value,
    }
    await defer_in_tx(session, REPLY_TASK, args, queue="bot", lock=lock)

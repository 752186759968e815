"""A lead form nobody finishes still reaches people.

Before some handoffs the bot asks for a name, an e-mail or a phone number (handoff.hand_off:
outside business hours, or always). The customer asked for a person, or the bot could not help:
a customer who leaves the form half answered must not keep the conversation under "봇 응대 중"
for good. When the bot starts asking, a job is scheduled LEAD_WAIT_S later
(handoff.schedule_lead_wait); if the form is still open then and the customer has written nothing
for that long, the conversation goes to the human queue with what was collected (the note's
summary holds the lead fields it has).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.bot import handoff, reads
from sodam.bot.models import BotConversation, BotState
from sodam.bot.replier import BotReplier
from sodam.channels import service as inboxes
from sodam.contacts import service as contacts
from sodam.conversations.models import Message, SenderType


async def finish_abandoned_lead(session: AsyncSession, *, conversation_id: int) -> str:
    """Hand off a conversation whose lead form has waited LEAD_WAIT_S for the customer; a form
    the customer is still answering is looked at again LEAD_WAIT_S after their last message."""
    conversation = await session.scalar(reads.LOCK_CONVERSATION, {"conversation_id": conversation_id})
    if conversation is None or not conversation.bot_handling or conversation.assignee_id is not None:
        return "not_waiting"
    state = await session.scalar(
        select(BotConversation).where(BotConversation.conversation_id == conversation_id).with_for_update()
    )
    if state is None or state.state != BotState.collecting_lead:
        return "not_waiting"
    last = await session.scalar(
        select(func.max(Message.created_at)).where(
            Message.conversation_id == conversation_id, Message.sender_type == SenderType.contact
        )
    )
    now = datetime.now(UTC)
    if last is not None and now - last < timedelta(seconds=handoff.LEAD_WAIT_S):
        await handoff.schedule_lead_wait(
            session,
            conversation_id,
            after_s=(last + timedelta(seconds=handoff.LEAD_WAIT_S) - now).total_seconds(),
        )
        return "still_answering"
    workspace_id = conversation.workspace_id
    inbox = await inboxes.get(session, workspace_id=workspace_id, inbox_id=conversation.inbox_id)
    contact = await contacts.get(session, workspace_id=workspace_id, contact_id=conversation.contact_id)
    bot = BotReplier(session, conversation, state.language or conversation.language or "ko")
    state.handoff_reason = state.handoff_reason or "asked_for_human"
    return await handoff.complete_handoff(session, bot, state, conversation, inbox, contact, now)

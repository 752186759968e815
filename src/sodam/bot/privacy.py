"""The bot's copies of what customers wrote, forgotten on erasure or retention."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.bot.models import BotConversation, BotLearningProposal


async def forget_conversations(
    session: AsyncSession, *, workspace_id: int, conversation_ids: list[int], placeholder: str
) -> None:
    """Clear the lead and last question the bot kept, drop pending learning proposals and
    blank the question and answer of decided ones (the knowledge base keeps what a 매니저
    accepted: it was rewritten into an article or question by then)."""
    if not conversation_ids:
        return
    await session.execute(
        update(BotConversation)
        .where(
            BotConversation.workspace_id == workspace_id,
            BotConversation.conversation_id.in_(conversation_ids),
        )
        .values(lead={}, last_question=None)
    )
    await session.execute(
        delete(BotLearningProposal).where(
            BotLearningProposal.workspace_id == workspace_id,
            BotLearningProposal.conversation_id.in_(conversation_ids),
            BotLearningProposal.status == "pending",
        )
    )
    await session.execute(
        update(BotLearningProposal)
        .where(
            BotLearningProposal.workspace_id == workspace_id,
            BotLearningProposal.conversation_id.in_(conversation_ids),
        )
        .values(question=placeholder, answer=placeholder)
    )

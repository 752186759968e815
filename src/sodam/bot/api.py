"""REST API v1: the bot's outcome per conversation and the workspace's bot resolution."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from sodam.accounts.auth import ApiSession, ReadPrincipal
from sodam.bot import service
from sodam.bot.schemas import BotConversationOut, BotResolutionsOut
from sodam.conversations import service as conversations
from sodam.core.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["bot"])


@router.get(
    "/conversations/{conversation_id}/bot", response_model=BotConversationOut, summary="The bot's record"
)
async def conversation_bot(
    conversation_id: Annotated[int, Path(ge=1)], principal: ReadPrincipal, session: ApiSession
) -> BotConversationOut:
    """State and strictly counted outcome of the bot in one conversation (404 if the bot took no part)."""
    await conversations.get(session, workspace_id=principal.workspace_id, conversation_id=conversation_id)
    state = await service.get_state(
        session, workspace_id=principal.workspace_id, conversation_id=conversation_id
    )
    if state is None:
        raise NotFound("the bot took no part in this conversation", code="no_bot_conversation")
    return BotConversationOut.model_validate(state)


@router.get("/bot/resolutions", response_model=BotResolutionsOut, summary="Bot resolution counts")
async def bot_resolutions(
    principal: ReadPrincipal, session: ApiSession, since: Annotated[datetime | None, Query()] = None
) -> BotResolutionsOut:
    """Conversations the bot took part in, by outcome; the rate counts confirmed + assumed."""
    counts = await service.outcome_counts(session, workspace_id=principal.workspace_id, since=since)
    total = sum(counts.values())
    decided = total - counts["open"]
    return BotResolutionsOut(
        since=since,
        conversations=total,
        **counts,
        resolution_rate=round((counts["confirmed"] + counts["assumed"]) / decided, 4) if decided else None,
        confirmed_rate=round(counts["confirmed"] / decided, 4) if decided else None,
    )

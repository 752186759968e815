"""REST API v1: the bot's outcome per conversation and the workspace's bot resolution."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from sodam.accounts.auth import ApiSession, ReadPrincipal, api_access
from sodam.accounts.permissions import Permission
from sodam.bot import learning
from sodam.bot import state as bot_state
from sodam.bot.schemas import BotConversationOut, BotResolutionsOut, ProposalOut
from sodam.conversations import service as conversations
from sodam.core.deps import Principal
from sodam.core.errors import NotFound
from sodam.core.pagination import MAX_ID, Page, PageQuery, decode_cursor, encode_cursor, page_of

router = APIRouter(prefix="/api/v1", tags=["bot"])


@router.get(
    "/conversations/{conversation_id}/bot", response_model=BotConversationOut, summary="The bot's record"
)
async def conversation_bot(
    conversation_id: Annotated[int, Path(ge=1)], principal: ReadPrincipal, session: ApiSession
) -> BotConversationOut:
    """State and strictly counted outcome of the bot in one conversation (404 if the bot took no part)."""
    await conversations.get(session, workspace_id=principal.workspace_id, conversation_id=conversation_id)
    state = await bot_state.get_state(
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
    counts = await bot_state.outcome_counts(session, workspace_id=principal.workspace_id, since=since)
    total = sum(counts.values())
    decided = total - counts["open"]
    return BotResolutionsOut(
        since=since,
        conversations=total,
        **counts,
        resolution_rate=round((counts["confirmed"] + counts["assumed"]) / decided, 4) if decided else None,
        confirmed_rate=round(counts["confirmed"] / decided, 4) if decided else None,
    )


# -- learning proposals: the review queue of 매니저 (supervisors and admins) -------------
ProposalReader = Annotated[Principal, Depends(api_access(Permission.bot_review, "read"))]
ProposalReviewer = Annotated[Principal, Depends(api_access(Permission.bot_review, "write"))]
ProposalId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/bot/proposals", response_model=Page[ProposalOut], summary="Learning proposals (newest first)")
async def list_proposals(
    principal: ProposalReader,
    session: ApiSession,
    page: PageQuery,
    status: Annotated[
        str, Query(pattern="^(pending|accepted|rejected|all)$", description="Default: pending.")
    ] = "pending",
):
    """What agents' answers to handed-off questions could teach the knowledge base (bot.review: admins and supervisors)."""
    before = decode_cursor(page.cursor, "bot_proposals", {"id": int})["id"] if page.cursor else None
    rows = await learning.list_proposals(
        session,
        workspace_id=principal.workspace_id,
        status=None if status == "all" else status,
        before_id=before,
        limit=page.limit + 1,
    )
    rows, cursor = page_of(rows, page.limit, lambda p: encode_cursor("bot_proposals", {"id": p.id}))
    return {"data": rows, "next_cursor": cursor}


@router.post(
    "/bot/proposals/{proposal_id}/accept", response_model=ProposalOut, summary="Accept a learning proposal"
)
async def accept_proposal(proposal_id: ProposalId, principal: ProposalReviewer, session: ApiSession):
    """Apply it: the alternate question is added, or the draft article created (409 if already decided)."""
    return await learning.decide(
        session,
        workspace_id=principal.workspace_id,
        proposal_id=proposal_id,
        accept=True,
        decided_by=principal.agent_id,
    )


@router.post(
    "/bot/proposals/{proposal_id}/reject", response_model=ProposalOut, summary="Reject a learning proposal"
)
async def reject_proposal(proposal_id: ProposalId, principal: ProposalReviewer, session: ApiSession):
    """Dismiss it without touching the knowledge base (409 if already decided)."""
    return await learning.decide(
        session,
        workspace_id=principal.workspace_id,
        proposal_id=proposal_id,
        accept=False,
        decided_by=principal.agent_id,
    )

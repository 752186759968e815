"""Who has a conversation: assignment by a person or by routing, and claiming by replying."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.conversations.models import Conversation
from sodam.conversations.service import _touch_and_publish, get, log_event


async def assign(
    session: AsyncSession,
    *,
    workspace_id: int,
    conversation_id: int,
    assignee_id: int | None,
    team_id: int | None = None,
    actor_id: int | None,
    set_team: bool = False,
    actor_type: str = "agent",
    reason: dict[str, Any] | None = None,
    conversation: Conversation | None = None,
) -> Conversation:
    """Assign a conversation to an agent (or nobody) and optionally a team; `reason` says why
    when routing decided (shown in the event log)."""
    if conversation is None:
        conversation = await get(session, workspace_id=workspace_id, conversation_id=conversation_id)
    changes: dict[str, Any] = {}
    if assignee_id is not None and conversation.bot_handling:  # a person takes it from the bot
        conversation.bot_handling = False
        conversation.queued_at = conversation.queued_at or datetime.now(UTC)
    if conversation.assignee_id != assignee_id:
        changes["assignee"] = {"from": conversation.assignee_id, "to": assignee_id}
        conversation.assignee_id = assignee_id
        conversation.assigned_at = datetime.now(UTC) if assignee_id is not None else None
    if set_team and conversation.team_id != team_id:
        changes["team"] = {"from": conversation.team_id, "to": team_id}
        conversation.team_id = team_id
    if changes:
        await log_event(
            session,
            workspace_id=workspace_id,
            conversation_id=conversation.id,
            type="conversation.assigned",
            actor_type=actor_type,
            actor_id=actor_id,
            data={**changes, **({"routing": reason} if reason else {})},
        )
        # Who assigned it travels with the frame: consoles announce an assignment to the
        # new assignee, never to the agent who made it (notifications).
        extra = {"assigned": True, "by": actor_id} if "assignee" in changes else None
        await _touch_and_publish(session, conversation, extra)
    return conversation


async def claim_by_reply(session: AsyncSession, *, conversation: Conversation, agent_id: int) -> bool:
    """An agent's public reply to an unassigned conversation makes it theirs, so two agents do
    not answer the same customer. Atomic: of two agents replying at once, one claims it."""
    claimed = await session.scalar(
        update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.assignee_id.is_(None))
        .values(assignee_id=agent_id, assigned_at=datetime.now(UTC), bot_handling=False)
        .returning(Conversation.id)
        .execution_options(synchronize_session=False)
    )
    if claimed is None:
        return False
    await session.refresh(conversation)
    await log_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="conversation.assigned",
        actor_type="agent",
        actor_id=agent_id,
        data={"assignee": {"from": None, "to": agent_id}, "claimed": True},
    )
    await _touch_and_publish(session, conversation, {"assigned": True, "by": agent_id})
    return True

"""Who has a conversation: assignment by a person or by routing, and claiming by replying."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.conversations.models import Conversation
from sodam.conversations.service import _touch_and_publish, get, log_event
from sodam.realtime import bus


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


async def assign_many(
    session: AsyncSession,
    *,
    workspace_id: int,
    picks: list[tuple[int, int, int | None, dict[str, Any]]],
    actor_type: str = "system",
) -> list[int]:
    """Routing's assignments in one round trip each for the rows, the event log and the
    notifications: (conversation id, agent id, team id or None to keep it, event data). Only a conversation that is still
    open and unassigned is taken; returns the ids that were."""
    if not picks:
        return []
    ids = [p[0] for p in picks]
    taken = set(
        await session.scalars(
            text(
                "UPDATE conversations c SET assignee_id = v.agent, assigned_at = clock_timestamp(),"
                " bot_handling = false, updated_at = now(), team_id = coalesce(v.team, c.team_id)"
                " FROM unnest(CAST(:ids AS bigint[]), CAST(:agents AS bigint[]), CAST(:teams AS bigint[]))"
                " AS v(id, agent, team)"
                " WHERE c.id = v.id AND c.workspace_id = :ws AND c.assignee_id IS NULL AND c.status = 'open'"
                " RETURNING c.id"
            ),
            {"ids": ids, "agents": [p[1] for p in picks], "teams": [p[2] for p in picks], "ws": workspace_id},
        )
    )
    done = [p for p in picks if p[0] in taken]
    if not done:
        return []
    await session.execute(
        text(
            "INSERT INTO conversation_events (workspace_id, conversation_id, type, actor_type, actor_id, data,"
            " created_at) SELECT :ws, v.id, 'conversation.assigned', :actor, NULL, v.data, clock_timestamp()"
            " FROM unnest(CAST(:ids AS bigint[]), CAST(:datas AS jsonb[])) AS v(id, data)"
        ),
        {
            "ws": workspace_id,
            "actor": actor_type,
            "ids": [p[0] for p in done],
            "datas": [json.dumps({"assignee": {"from": None, "to": p[1]}, **p[3]}) for p in done],
        },
    )
    rows = await session.execute(
        select(Conversation.id, Conversation.inbox_id, Conversation.contact_id).where(
            Conversation.id.in_([p[0] for p in done])
        )
    )
    payloads = [
        json.dumps(
            {
                "t": "conversation.updated",
                "ws": workspace_id,
                "conv": conversation_id,
                "contact": contact_id,
                "inbox": inbox_id,
                "assigned": True,
                "by": None,
            },
            separators=(",", ":"),
        )
        for conversation_id, inbox_id, contact_id in rows
    ]
    await session.execute(
        text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p"),
        {"channel": bus.CHANNEL, "payloads": payloads},
    )
    return [p[0] for p in done]

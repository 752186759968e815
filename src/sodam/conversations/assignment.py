"""Who has a conversation: assignment by a person or by routing, and claiming by replying."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text, update
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


# Routing's assignments as one statement: the rows are locked in id order (as every bulk writer
# of conversations takes them, so two never wait for each other in a cycle), re-checked (still
# open and unassigned: never assigned twice), written, logged and announced (pg_notify, sent at
# commit) — no round trip while the rows are held, so the message path's batch waits for no
# Python work.
_ASSIGN_MANY_CTES = (
    "WITH v AS (SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:agents AS bigint[]),"
    " CAST(:teams AS bigint[]), CAST(:datas AS jsonb[])) AS v(id, agent, team, data)),"
    " locked AS (SELECT c.id FROM conversations c JOIN v ON v.id = c.id"
    " WHERE c.workspace_id = CAST(:ws AS bigint) AND c.assignee_id IS NULL AND c.status = 'open'"
    " ORDER BY c.id FOR NO KEY UPDATE OF c),"
    " up AS (UPDATE conversations c SET assignee_id = v.agent, assigned_at = clock_timestamp(),"
    " bot_handling = false, updated_at = now(), team_id = coalesce(v.team, c.team_id)"
    " FROM v JOIN locked ON locked.id = v.id"
    " WHERE c.id = v.id AND c.assignee_id IS NULL AND c.status = 'open'"
    " RETURNING c.id, c.inbox_id, c.contact_id, c.assigned_at),"
    " ev AS (INSERT INTO conversation_events (workspace_id, conversation_id, type, actor_type, actor_id,"
    " data, created_at) SELECT CAST(:ws AS bigint), up.id, 'conversation.assigned', :actor, NULL, v.data, clock_timestamp()"
    " FROM up JOIN v ON v.id = up.id),"
    " n AS (SELECT pg_notify(:channel, json_build_object('t', 'conversation.updated', 'ws', CAST(:ws AS bigint),"
    " 'conv', up.id, 'contact', up.contact_id, 'inbox', up.inbox_id, 'assigned', true, 'by', NULL)::text)"
    " FROM up)"
)
_ASSIGN_MANY_SQL = text(
    _ASSIGN_MANY_CTES + " SELECT up.id, up.assigned_at FROM up CROSS JOIN (SELECT count(*) FROM n) AS sent"
)
# With the caller's writes that follow the assignments (`after`: more CTEs, reading `up` — the
# rows assigned: id, inbox_id, contact_id, assigned_at — and `v` — id, agent, team, data —,
# the last one named `extra`), built once per `after`.
_ASSIGN_MANY_AND: dict[str, Any] = {}


def _assign_many_and(after: str):
    statement = _ASSIGN_MANY_AND.get(after)
    if statement is None:
        statement = _ASSIGN_MANY_AND[after] = text(
            _ASSIGN_MANY_CTES
            + ", "
            + after
            + " SELECT up.id, up.assigned_at FROM up CROSS JOIN (SELECT count(*) FROM n) AS sent"
            " CROSS JOIN (SELECT count(*) FROM extra) AS also"
        )
    return statement


async def assign_many(
    session: AsyncSession,
    *,
    workspace_id: int,
    picks: list[tuple[int, int, int | None, dict[str, Any]]],
    actor_type: str = "system",
    after: str | None = None,
    after_params: dict[str, Any] | None = None,
) -> dict[int, datetime]:
    """Routing's assignments in one statement: (conversation id, agent id, team id or None to
    keep it, event data). Only a conversation that is still open and unassigned is taken;
    returns the ids that were, with their assigned_at. `after`: the caller's own writes about
    the assignments, in the same statement (see _assign_many_and), with `after_params`: the rows
    are held for no round trip of theirs."""
    if not picks:
        return {}
    data = {p[0]: {"assignee": {"from": None, "to": p[1]}, **p[3]} for p in picks}
    rows = await session.execute(
        _ASSIGN_MANY_SQL if after is None else _assign_many_and(after),
        {
            **(after_params or {}),
            "ids": [p[0] for p in picks],
            "agents": [p[1] for p in picks],
            "teams": [p[2] for p in picks],
            "datas": [json.dumps(data[p[0]]) for p in picks],
            "ws": workspace_id,
            "actor": actor_type,
            "channel": bus.CHANNEL,
        },
    )
    return {conversation_id: assigned_at for conversation_id, assigned_at in rows}

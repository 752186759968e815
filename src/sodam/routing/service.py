"""Agents' routing state (availability, capacity, skills), rules, and taking work back.

Availability: online (takes new conversations), busy (keeps theirs, takes no new ones),
away (after inactivity, or chosen), offline (no console open). Automatic changes — online
when a console opens, away after inactivity, online again on activity — never override a
state the agent chose in the rail, except that closing the last console tab is offline.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, exists, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts.models import Agent, Team
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType, Status
from sodam.core.errors import Invalid, NotFound
from sodam.realtime import bus
from sodam.routing.models import AgentSkill, AgentState, Availability, RoutingRule, RuleKind
from sodam.routing.requirements import AT_RISK_RANK

SKILL_RE = re.compile(r"^[a-z][a-z0-9_-]{0,20}(:[\w.-]{1,50})?$")
CHANNELS = ("default", "web_widget", "email", "api", "phone")
MAX_CAPACITY = 100


def _now() -> datetime:
    return datetime.now(UTC)


async def state_of(
    session: AsyncSession, *, workspace_id: int, agent_id: int, lock: bool = False
) -> AgentState:
    """The agent's routing state (created offline on first use)."""
    await session.execute(
        insert(AgentState)
        .values(agent_id=agent_id, workspace_id=workspace_id)
        .on_conflict_do_nothing(index_elements=["agent_id"])
    )
    stmt = select(AgentState).where(AgentState.agent_id == agent_id, AgentState.workspace_id == workspace_id)
    if lock:
        stmt = stmt.with_for_update()
    state = await session.scalar(stmt.execution_options(populate_existing=True))
    if state is None:
        raise NotFound("agent not found", code="agent_not_found")
    return state


async def kick(session: AsyncSession, *, workspace_id: int) -> None:
    """Route the workspace's queue soon (one pending job per workspace is enough)."""
    await session.execute(text("SELECT sodam_routing_defer(:ws, NULL, true)"), {"ws": workspace_id})


async def set_availability(
    session: AsyncSession,
    *,
    workspace_id: int,
    agent_id: int,
    availability: Availability,
    chosen: bool,
    reason: str,
    at: datetime | None = None,
) -> AgentState:
    """Change an agent's availability; going offline hands back the conversations they have
    not answered yet, coming online routes the queue. `at` back-dates the change (a dead
    process's agent went offline at its last heartbeat); a trigger records every change in
    agent_availability_log (the agents report's time online / away / busy)."""
    state = await state_of(session, workspace_id=workspace_id, agent_id=agent_id, lock=True)
    if state.availability == availability and state.chosen == chosen:
        return state
    previous = state.availability
    state.availability = availability
    state.chosen = chosen
    state.changed_at = min(at, _now()) if at is not None else _now()
    if availability == Availability.online:
        state.last_activity_at = _now()
    await session.flush()
    if availability == Availability.offline and previous != Availability.offline:
        await requeue_unanswered(session, workspace_id=workspace_id, agent_id=agent_id, reason="offline")
    if availability == Availability.online and previous == Availability.offline:
        await _unskip_returning_agent(session, workspace_id=workspace_id, agent_id=agent_id)
    if availability == Availability.online:
        await kick(session, workspace_id=workspace_id)
    await bus.publish(
        session,
        {
            "t": "frame",
            "ws": workspace_id,
            "conv": 0,
            "inbox": 0,
            "contact": 0,
            "frame": {
                "type": "agent",
                "agent_id": agent_id,
                "availability": availability.value,
                "chosen": chosen,
                "reason": reason,
            },
        },
    )
    return state


def _replied_since(conversation_id, since, agent_id=None):
    """EXISTS: a public agent reply in the conversation at or after `since` (by this agent
    when given). Both may be columns, for a correlated check."""
    return exists().where(
        Message.conversation_id == conversation_id,
        Message.sender_type == SenderType.agent,
        *([Message.sender_id == agent_id] if agent_id is not None else []),
        Message.kind == MessageKind.text,
        Message.created_at >= since,
    )


async def _unskip_returning_agent(session: AsyncSession, *, workspace_id: int, agent_id: int) -> None:
    """An agent back from offline may take again the waiting conversations they were skipped for
    (handed back when they left, or not answered in time before): in queue order, like any other.
    Still skipped, a team of one saw every newer conversation come to them at once while the
    one they had left waited for the last-resort wait (routing.choice)."""
    await session.execute(
        text(
            "UPDATE conversations SET skipped_agent_ids = array_remove(skipped_agent_ids, CAST(:agent AS bigint))"
            " WHERE workspace_id = :ws AND status = 'open' AND assignee_id IS NULL"
            " AND CAST(:agent AS bigint) = ANY(skipped_agent_ids)"
        ),
        {"ws": workspace_id, "agent": agent_id},
    )


async def requeue_unanswered(
    session: AsyncSession, *, workspace_id: int, agent_id: int, reason: str
) -> list[int]:
    """Take back the agent's open conversations they have not answered since they got them,
    so someone else can (the agent is skipped for those conversations from now on)."""
    answered_since = _replied_since(Conversation.id, Conversation.assigned_at, agent_id)
    rows = list(
        await session.scalars(
            select(Conversation)
            .where(
                Conversation.workspace_id == workspace_id,
                Conversation.assignee_id == agent_id,
                Conversation.status == Status.open,
                Conversation.assigned_at.is_not(None),
                ~answered_since,
            )
            .with_for_update()
        )
    )
    for conversation in rows:
        await unassign_for_reroute(session, conversation=conversation, agent_id=agent_id, reason=reason)
    return [c.id for c in rows]


async def unassign_for_reroute(
    session: AsyncSession, *, conversation: Conversation, agent_id: int, reason: str
) -> None:
    """Put a conversation back in the queue (keeping its place: queued_at is unchanged)."""
    skipped = list(conversation.skipped_agent_ids or [])
    if agent_id not in skipped:
        skipped.append(agent_id)
    conversation.skipped_agent_ids = skipped
    await conversations.assign(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        conversation=conversation,
        assignee_id=None,
        actor_id=None,
        actor_type="system",
        reason={"rerouted": reason, "from": agent_id},
    )


def _same_moment(at: datetime, text: str) -> bool:
    """Whether the timer's `assigned_at` (ISO 8601: the database's JSON, as the timer is deferred
    with the assignment, or Python's isoformat, as older timers were) is `at`."""
    try:
        return datetime.fromisoformat(text) == at
    except ValueError:
        return False


async def check_answer(
    session: AsyncSession, *, conversation_id: int, agent_id: int, assigned_at: str | None
) -> bool:
    """The no-answer timer: still theirs, still open and not answered → route to someone else."""
    conversation = await session.scalar(
        select(Conversation).where(Conversation.id == conversation_id).with_for_update()
    )
    if conversation is None or conversation.assignee_id != agent_id or conversation.status != Status.open:
        return False
    if assigned_at and conversation.assigned_at and not _same_moment(conversation.assigned_at, assigned_at):
        return False  # assigned again since: that assignment has its own timer
    answered = await session.scalar(select(_replied_since(conversation.id, conversation.assigned_at)))
    if answered:
        return False
    await unassign_for_reroute(session, conversation=conversation, agent_id=agent_id, reason="no_answer")
    return True


async def on_sla_breached(
    session: AsyncSession, *, workspace_id: int, conversation_id: int, kind: str
) -> str:
    """An SLA response target was missed: raise the conversation's place in the queue; if it is
    assigned and the agent has not answered since it was assigned, route it to someone else."""
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id, Conversation.workspace_id == workspace_id)
        .with_for_update()
    )
    if conversation is None or conversation.status != Status.open:
        return "closed"
    if (conversation.queue_rank or 0) < AT_RISK_RANK:
        conversation.queue_rank = (conversation.queue_rank or 0) + AT_RISK_RANK
    if conversation.assignee_id is None:
        await kick(session, workspace_id=workspace_id)
        return "raised"
    answered = (
        await session.scalar(
            select(_replied_since(conversation.id, conversation.assigned_at, conversation.assignee_id))
        )
        if conversation.assigned_at
        else False
    )
    if answered and kind == "first_response":
        return "answered"
    if kind == "next_response":
        # Mid-conversation: stays with the agent who knows it, unless they are not there.
        state = await session.get(AgentState, conversation.assignee_id)
        if state is not None and state.availability == Availability.online:
            return "raised"
    await unassign_for_reroute(
        session, conversation=conversation, agent_id=conversation.assignee_id, reason=f"sla_{kind}"
    )
    return "rerouted"


# --- capacity, skills, rules (supervisors) ---------------------------------------------


def clean_capacity(raw: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for channel, value in raw.items():
        if channel not in CHANNELS:
            raise Invalid(f"unknown channel {channel!r}", code="invalid_capacity", details={"field": channel})
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise Invalid(
                "capacity must be a whole number", code="invalid_capacity", details={"field": channel}
            ) from None
        if not 0 <= number <= MAX_CAPACITY:
            raise Invalid(
                f"capacity must be between 0 and {MAX_CAPACITY}",
                code="invalid_capacity",
                details={"field": channel},
            )
        out[channel] = number
    return out


def clean_skills(raw: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for skill, level in raw.items():
        skill = str(skill).strip().lower()
        if not SKILL_RE.match(skill):
            raise Invalid(
                "a skill is a short name such as lang:ko, topic:refund or vip",
                code="invalid_skill",
                details={"skill": skill[:60]},
            )
        try:
            number = int(level)
        except (TypeError, ValueError):
            raise Invalid(
                "a skill level is 1 to 5", code="invalid_skill_level", details={"skill": skill}
            ) from None
        if not 1 <= number <= 5:
            raise Invalid("a skill level is 1 to 5", code="invalid_skill_level", details={"skill": skill})
        out[skill] = number
    return out


async def _agent(session: AsyncSession, workspace_id: int, agent_id: int) -> Agent:
    agent = await session.scalar(
        select(Agent).where(Agent.id == agent_id, Agent.workspace_id == workspace_id)
    )
    if agent is None:
        raise NotFound("agent not found", code="agent_not_found")
    return agent


async def skills_of(
    session: AsyncSession, *, workspace_id: int, agent_ids: list[int]
) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {a: {} for a in agent_ids}
    for agent_id, skill, level in await session.execute(
        select(AgentSkill.agent_id, AgentSkill.skill, AgentSkill.level).where(
            AgentSkill.workspace_id == workspace_id, AgentSkill.agent_id.in_(agent_ids)
        )
    ):
        out[agent_id][skill] = level
    return out


async def update_agent_routing(
    session: AsyncSession,
    *,
    workspace_id: int,
    agent_id: int,
    capacity: dict[str, Any] | None = None,
    skills: dict[str, Any] | None = None,
) -> AgentState:
    """Set an agent's capacity per channel and/or replace their skills."""
    await _agent(session, workspace_id, agent_id)
    state = await state_of(session, workspace_id=workspace_id, agent_id=agent_id, lock=True)
    if capacity is not None:
        state.capacity = clean_capacity(capacity)
    if skills is not None:
        cleaned = clean_skills(skills)
        await session.execute(
            delete(AgentSkill).where(AgentSkill.agent_id == agent_id, AgentSkill.workspace_id == workspace_id)
        )
        for skill, level in cleaned.items():
            session.add(AgentSkill(workspace_id=workspace_id, agent_id=agent_id, skill=skill, level=level))
    await session.flush()
    await kick(session, workspace_id=workspace_id)
    return state


async def list_rules(session: AsyncSession, *, workspace_id: int) -> list[RoutingRule]:
    return list(
        await session.scalars(
            select(RoutingRule)
            .where(RoutingRule.workspace_id == workspace_id)
            .order_by(RoutingRule.position, RoutingRule.id)
        )
    )


async def create_rule(
    session: AsyncSession,
    *,
    workspace_id: int,
    kind: str,
    pattern: str,
    skill: str | None,
    team_id: int | None,
    position: int = 0,
) -> RoutingRule:
    """A page-URL or keyword rule that requires a skill and/or sends to a team."""
    if kind not in {k.value for k in RuleKind}:
        raise Invalid("kind is page or keyword", code="invalid_rule_kind")
    pattern = (pattern or "").strip()
    if not 1 <= len(pattern) <= 300:
        raise Invalid("the pattern must be 1-300 characters", code="invalid_rule_pattern")
    if skill:
        skill = next(iter(clean_skills({skill: 1})))
    if team_id is not None:
        team = await session.scalar(select(Team).where(Team.id == team_id, Team.workspace_id == workspace_id))
        if team is None:
            raise NotFound("team not found", code="team_not_found", details={"field": "team_id"})
    if not skill and team_id is None:
        raise Invalid("a rule needs a skill or a team", code="invalid_rule_action")
    rule = RoutingRule(
        workspace_id=workspace_id,
        kind=kind,
        pattern=pattern,
        skill=skill or None,
        team_id=team_id,
        position=position,
    )
    session.add(rule)
    await session.flush()
    return rule


async def delete_rule(session: AsyncSession, *, workspace_id: int, rule_id: int) -> None:
    rule = await session.scalar(
        select(RoutingRule).where(RoutingRule.id == rule_id, RoutingRule.workspace_id == workspace_id)
    )
    if rule is None:
        raise NotFound("rule not found", code="rule_not_found")
    await session.delete(rule)
    await session.flush()


async def set_team_method(session: AsyncSession, *, workspace_id: int, team_id: int, method: str) -> Team:
    if method not in ("least_busy", "round_robin"):
        raise Invalid("method is least_busy or round_robin", code="invalid_routing_method")
    team = await session.scalar(select(Team).where(Team.id == team_id, Team.workspace_id == workspace_id))
    if team is None:
        raise NotFound("team not found", code="team_not_found")
    team.routing_method = method
    await session.flush()
    return team

"""Who can take a conversation: the available agents as routing sees them (state, load per
channel, skills, teams; one snapshot) and the pure choice among them — the requirement's
stages as the wait grows (the required skills and team, then language only, then any team,
then anyone), least busy then longest idle, a round-robin team's longest idle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts.models import Agent, TeamMember
from sodam.channels.models import Inbox
from sodam.conversations.models import Conversation, Status
from sodam.routing.models import AgentSkill, AgentState, Availability, capacity_for

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class AgentSlot:
    agent_id: int
    capacity: dict[str, Any]
    skills: dict[str, int] = field(default_factory=dict)
    teams: set[int] = field(default_factory=set)
    load: dict[str, int] = field(default_factory=dict)  # open conversations per channel
    last_assigned_at: datetime | None = None

    @property
    def total(self) -> int:
        return sum(self.load.values())

    def has_room(self, channel: str) -> bool:
        return self.load.get(channel, 0) < capacity_for(self.capacity, channel)

    def has_skills(self, skills: dict[str, int]) -> bool:
        return all(self.skills.get(skill, 0) >= level for skill, level in skills.items())


@dataclass(frozen=True)
class Stage:
    skills: dict[str, int]
    team_id: int | None
    name: str


def stages(need: dict[str, Any], waited_s: float, overflow_s: float) -> list[Stage]:
    """The requirement, then (after the overflow wait) wider ones, tried in order."""
    skills = dict(need.get("skills") or {})
    team_id = need.get("team_id")
    out = [Stage(skills, team_id, "exact")]
    if waited_s >= overflow_s:
        language = {k: v for k, v in skills.items() if k.startswith("lang:")}
        out.append(Stage(language, team_id, "overflow"))
        if team_id is not None:
            out.append(Stage(language, None, "team_fallback"))
    if waited_s >= 2 * overflow_s:
        out.append(Stage({}, None, "anyone"))
    unique: list[Stage] = []
    for stage in out:
        if all((s.skills, s.team_id) != (stage.skills, stage.team_id) for s in unique):
            unique.append(stage)
    return unique


def choose(
    agents: list[AgentSlot],
    *,
    channel: str,
    need: dict[str, Any],
    skipped: set[int],
    waited_s: float,
    overflow_s: float,
    team_methods: dict[int, str],
    closed_teams: frozenset[int] = frozenset(),
) -> tuple[AgentSlot | None, Stage | None]:
    """The agent for one conversation, and the stage of the requirement that matched. A team
    outside its own business hours takes nothing (after the overflow wait, team fallback)."""
    for stage in stages(need, waited_s, overflow_s):
        if stage.team_id in closed_teams:
            continue
        fit = [
            a
            for a in agents
            if a.agent_id not in skipped
            and a.has_room(channel)
            and a.has_skills(stage.skills)
            and (stage.team_id is None or stage.team_id in a.teams)
        ]
        if not fit:
            continue
        if stage.team_id is not None and team_methods.get(stage.team_id) == "round_robin":
            return min(fit, key=lambda a: (a.last_assigned_at or _EPOCH, a.agent_id)), stage
        return min(fit, key=lambda a: (a.total, a.last_assigned_at or _EPOCH, a.agent_id)), stage
    # An agent skipped for this conversation (they went offline without answering it, or did not
    # answer in time) is its last resort: offered it again once it has waited past the "anyone"
    # stage and nobody else can take it. Excluded for good, a team of one never got it back,
    # while the newer conversations behind it in the queue went to that same agent at once.
    if skipped and waited_s >= 2 * overflow_s:
        back = [a for a in agents if a.agent_id in skipped and a.has_room(channel)]
        if back:
            agent = min(back, key=lambda a: (a.total, a.last_assigned_at or _EPOCH, a.agent_id))
            return agent, Stage({}, None, "anyone")
    return None, None


async def available_agents(session: AsyncSession, *, workspace_id: int, now: datetime) -> list[AgentSlot]:
    """Online, active agents out of wrap-up, with their open load, skills and teams.

    State and load come from one statement (one snapshot): read apart, a resolve committing
    in between would show the place freed but not the wrap-up it started."""
    load = (
        select(func.coalesce(func.jsonb_object_agg(text("ct"), text("n")), text("'{}'::jsonb")))
        .select_from(
            select(Inbox.channel_type.cast(String).label("ct"), func.count().label("n"))
            .select_from(Conversation)
            .join(Inbox, Inbox.id == Conversation.inbox_id)
            .where(Conversation.assignee_id == AgentState.agent_id, Conversation.status == Status.open)
            .group_by(Inbox.channel_type)
            .correlate(AgentState)
            .subquery()
        )
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(AgentState.agent_id, AgentState.capacity, AgentState.last_assigned_at, load.label("load"))
            .join(Agent, Agent.id == AgentState.agent_id)
            .where(
                AgentState.workspace_id == workspace_id,
                AgentState.availability == Availability.online,
                Agent.is_active.is_(True),
                (AgentState.wrap_up_until.is_(None)) | (AgentState.wrap_up_until <= now),
            )
        )
    ).all()
    slots = {
        r.agent_id: AgentSlot(
            r.agent_id,
            r.capacity or {},
            load={k: int(v) for k, v in (r.load or {}).items()},
            last_assigned_at=r.last_assigned_at,
        )
        for r in rows
    }
    if not slots:
        return []
    ids = list(slots)
    for agent_id, skill, level in await session.execute(
        select(AgentSkill.agent_id, AgentSkill.skill, AgentSkill.level).where(
            AgentSkill.workspace_id == workspace_id, AgentSkill.agent_id.in_(ids)
        )
    ):
        slots[agent_id].skills[skill] = level
    for agent_id, team_id in await session.execute(
        select(TeamMember.agent_id, TeamMember.team_id).where(
            TeamMember.workspace_id == workspace_id, TeamMember.agent_id.in_(ids)
        )
    ):
        slots[agent_id].teams.add(team_id)
    return list(slots.values())

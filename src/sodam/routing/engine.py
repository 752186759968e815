"""The routing engine: match waiting conversations to available agents.

One dispatch routes a workspace's whole queue, in queue order (rank, then FIFO). It runs as
a job (`routing.dispatch`, deferred by a database trigger whenever someone starts waiting
or a place frees up, and by the sweep), under a per-workspace advisory lock, so any number
of processes may route at once: loads are read and assignments written inside the lock,
and an assignment only lands on a row that is still unassigned — no agent over capacity,
no conversation assigned twice.

Choosing (pure, `choose`): among online agents with spare capacity for the channel, out
of wrap-up, not skipped for this conversation, with the required skills (and in the team,
when one is set) → least busy, then longest idle; a round-robin team takes the longest
idle. Nobody fits: the conversation waits. After the inbox's overflow wait the
requirement widens — language only, then any team; after twice that, anyone.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts.models import Agent, Team, TeamMember
from sodam.channels import hours
from sodam.channels.models import Inbox
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Status
from sodam.conversations.queue import in_human_queue, queue_order_rank, rank_of
from sodam.realtime import bus
from sodam.routing import autoreply, requirements
from sodam.routing.models import AgentSkill, AgentState, Availability, RoutingRule, capacity_for

DEFAULT_OVERFLOW_S = 300
DEFAULT_NO_ANSWER_S = 300
ROUTING_LOCK_CLASS = 7301  # pg_advisory_xact_lock(class, workspace): one router per workspace
BATCH = 200
TELL_FIRST_WAITING = 100
CHANNELS = ("web_widget", "email", "api", "phone")
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


def _inbox_routes(inbox: Inbox, now: datetime) -> bool:
    """Auto-assignment is on (the default) and, where the inbox set its hours, it is open:
    outside hours routing waits for the opening."""
    settings = inbox.settings or {}
    if not settings.get("auto_assign", True):
        return False
    configured = settings.get("business_hours")
    return configured is None or hours.is_open(configured, now)


# Descriptions written in one statement: rows locked in id order (as every bulk writer of
# conversations takes them), only those still undescribed, the VIP rank raised from the
# row's current rank (an SLA breach may have raised it since it was read).
_DESCRIBE_SQL = text(
    "WITH v AS (SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:routes AS jsonb[]),"
    " CAST(:vips AS boolean[])) AS v(id, route, vip)),"
    " locked AS (SELECT c.id FROM conversations c JOIN v ON v.id = c.id WHERE c.route IS NULL"
    " ORDER BY c.id FOR NO KEY UPDATE OF c)"
    " UPDATE conversations c SET route = v.route,"
    " queue_rank = CASE WHEN v.vip THEN greatest(coalesce(c.queue_rank, 0), :vip_rank) ELSE c.queue_rank END"
    " FROM v JOIN locked ON locked.id = v.id WHERE c.id = v.id AND c.route IS NULL"
    " RETURNING c.id"
)


async def _describe_new(session: AsyncSession, *, workspace_id: int) -> list[int]:
    """Work out what newly waiting conversations need (their text is analysed in a thread),
    reading without row locks, then write every description in one statement; returns the
    ids this call described (routing's bookkeeping is not activity: updated_at stays)."""
    fresh = list(
        await session.scalars(
            select(Conversation)
            .where(
                Conversation.workspace_id == workspace_id,
                *in_human_queue(),
                Conversation.route.is_(None),
            )
            .order_by(Conversation.queued_at)
            .limit(BATCH)
        )
    )
    if not fresh:
        return []
    rules = list(await session.scalars(select(RoutingRule).where(RoutingRule.workspace_id == workspace_id)))
    inboxes = {
        i.id: i for i in await session.scalars(select(Inbox).where(Inbox.workspace_id == workspace_id))
    }
    # An inbox without auto-assignment: nobody routes it, a person picks it up.
    routed = [
        (c, inboxes[c.inbox_id])
        for c in fresh
        if (inboxes[c.inbox_id].settings or {}).get("auto_assign", True)
    ]
    needs = list(
        zip((c for c, _ in routed), await requirements.for_conversations(session, routed, rules), strict=True)
    )
    if not needs:
        return []
    described = set(
        await session.scalars(
            _DESCRIBE_SQL,
            {
                "ids": [c.id for c, _ in needs],
                "routes": [json.dumps(need.as_route()) for _, need in needs],
                "vips": [bool(need.vip) for _, need in needs],
                "vip_rank": requirements.VIP_RANK,
            },
        )
    )
    return [c.id for c, _ in needs if c.id in described]


@dataclass
class Decision:
    conversation_id: int
    agent_id: int
    stage: str
    decided_ms: float


async def dispatch(
    session: AsyncSession, *, workspace_id: int, now: datetime | None = None
) -> list[Decision]:
    """Route the workspace's queue; returns the assignments made (committed here, in short
    transactions: the caller's session is left with nothing to commit).
    Conversations seen for the first time get their first auto-reply (after routing, so it
    can name the agent or the queue position)."""
    now = now or datetime.now(UTC)
    # Three short transactions, so no conversation row is held across Python work or round
    # trips (the message path's batch waits for any row a job holds): the descriptions, then
    # the assignments, each one statement under the workspace's routing lock (committed at
    # once), then the queue's news and the first auto-replies, one conversation at a time.
    # The lock is taken for describing too: a description read before a scene (rules, skills,
    # contact) was complete would route by it.
    await _routing_lock(session, workspace_id)
    fresh = await _describe_new(session, workspace_id=workspace_id)
    await session.commit()
    await _routing_lock(session, workspace_id)
    decisions = await _route(session, workspace_id=workspace_id, now=now)
    await session.commit()
    if decisions:
        await _tell_the_queue(session, workspace_id=workspace_id)
        await session.commit()
    if fresh:
        assigned = {d.conversation_id: d.agent_id for d in decisions}
        inboxes = {
            i.id: i for i in await session.scalars(select(Inbox).where(Inbox.workspace_id == workspace_id))
        }
        conversations_by_id = {
            c.id: c for c in await session.scalars(select(Conversation).where(Conversation.id.in_(fresh)))
        }
        await session.commit()
        for conversation_id in fresh:
            conversation = conversations_by_id.get(conversation_id)
            if conversation is None:
                continue
            inbox = inboxes[conversation.inbox_id]
            if autoreply.wants_auto_reply(inbox):
                await autoreply.send_first_reply(
                    session,
                    conversation=conversation,
                    inbox=inbox,
                    agent_id=assigned.get(conversation.id),
                    now=now,
                )
                await session.commit()
    return decisions


async def _routing_lock(session: AsyncSession, workspace_id: int) -> None:
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:cls, :ws)"), {"cls": ROUTING_LOCK_CLASS, "ws": workspace_id}
    )


async def _tell_the_queue(session: AsyncSession, *, workspace_id: int) -> None:
    """The queue moved: the first waiting customers re-read their place (the rest poll)."""
    rows = await session.execute(
        select(Conversation.id, Conversation.inbox_id, Conversation.contact_id)
        .where(
            Conversation.workspace_id == workspace_id,
            *in_human_queue(),
        )
        .order_by(queue_order_rank.desc(), Conversation.queued_at, Conversation.id)
        .limit(TELL_FIRST_WAITING)
    )
    for conversation_id, inbox_id, contact_id in rows:
        await bus.publish(
            session,
            {
                "t": "queue",
                "ws": workspace_id,
                "conv": conversation_id,
                "inbox": inbox_id,
                "contact": contact_id,
            },
        )


async def _route(session: AsyncSession, *, workspace_id: int, now: datetime) -> list[Decision]:
    agents = await available_agents(session, workspace_id=workspace_id, now=now)
    if not agents:
        return []
    inboxes = {
        i.id: i for i in await session.scalars(select(Inbox).where(Inbox.workspace_id == workspace_id))
    }
    open_inboxes = [i for i, inbox in inboxes.items() if _inbox_routes(inbox, now)]
    if not open_inboxes:
        return []
    teams = (
        await session.execute(
            select(Team.id, Team.routing_method, Team.business_hours).where(Team.workspace_id == workspace_id)
        )
    ).all()
    team_methods = {t.id: t.routing_method for t in teams}
    # A team with its own hours is closed outside them (None: the inbox's hours apply).
    closed_teams = frozenset(
        t.id for t in teams if t.business_hours and not hours.is_open(t.business_hours, now)
    )
    decisions: list[Decision] = []
    after: tuple[int, datetime, int] | None = None
    while True:
        stmt = (
            select(Conversation)
            .where(
                Conversation.workspace_id == workspace_id,
                Conversation.inbox_id.in_(open_inboxes),
                *in_human_queue(),
                # Described (requirements worked out): one that started waiting after this
                # dispatch's description step waits for the next dispatch, which its arrival
                # deferred — never routed without its requirements.
                Conversation.route.is_not(None),
            )
            .order_by(queue_order_rank.desc(), Conversation.queued_at, Conversation.id)
            .limit(BATCH)
        )  # no row locks: assign_many takes a row only if it is still unassigned
        if after is not None:
            rank, queued_at, last_id = after
            stmt = stmt.where(
                (queue_order_rank < rank)
                | ((queue_order_rank == rank) & (Conversation.queued_at > queued_at))
                | (
                    (queue_order_rank == rank)
                    & (Conversation.queued_at == queued_at)
                    & (Conversation.id > last_id)
                )
            )
        batch = list(await session.scalars(stmt))
        if not batch:
            break
        decisions += await _route_batch(
            session, workspace_id, batch, agents, inboxes, team_methods, now, closed_teams
        )
        if not any(a.has_room(c) for a in agents for c in CHANNELS):
            break
        last = batch[-1]
        after = (rank_of(last), last.queued_at, last.id)
        if len(batch) < BATCH:
            break
    return decisions


async def _route_batch(
    session: AsyncSession,
    workspace_id: int,
    batch: list[Conversation],
    agents: list[AgentSlot],
    inboxes: dict[int, Inbox],
    team_methods: dict[int, str],
    now: datetime,
    closed_teams: frozenset[int] = frozenset(),
) -> list[Decision]:
    """Choose for every conversation of the batch in memory, then write the assignments in
    one go. A decision's time is its choice plus its share of the batch's write."""
    picks: list[tuple[Conversation, AgentSlot, Stage, float]] = []
    # Only agents with room are worth looking at (most are full when a queue has formed).
    with_room = {c: [a for a in agents if a.has_room(c)] for c in CHANNELS}
    for conversation in batch:
        started = time.perf_counter()
        inbox = inboxes[conversation.inbox_id]
        channel = inbox.channel_type.value
        if not with_room[channel]:
            continue
        agent, stage = choose(
            with_room[channel],
            channel=channel,
            need=conversation.route or {},
            skipped=set(conversation.skipped_agent_ids or ()),
            waited_s=(now - conversation.queued_at).total_seconds(),
            overflow_s=float((inbox.settings or {}).get("overflow_seconds", DEFAULT_OVERFLOW_S)),
            team_methods=team_methods,
            closed_teams=closed_teams,
        )
        if agent is None or stage is None:
            continue
        agent.load[channel] = agent.load.get(channel, 0) + 1
        agent.last_assigned_at = now
        if not agent.has_room(channel):
            with_room[channel].remove(agent)
        picks.append((conversation, agent, stage, (time.perf_counter() - started) * 1000))
    if not picks:
        return []
    started = time.perf_counter()
    taken = dict(
        await conversations.assign_many(
            session,
            workspace_id=workspace_id,
            picks=[
                (
                    c.id,
                    a.agent_id,
                    stage.team_id if stage.team_id != c.team_id else None,
                    {
                        **(
                            {"team": {"from": c.team_id, "to": stage.team_id}}
                            if stage.team_id not in (None, c.team_id)
                            else {}
                        ),
                        "routing": {
                            "stage": stage.name,
                            "skills": sorted(stage.skills),
                            "team_id": stage.team_id,
                        },
                    },
                )
                for c, a, stage, _ in picks
            ],
        )
    )
    for conversation, agent, _stage, _ in picks:
        if conversation.id not in taken:  # someone took it meanwhile: the place is still free
            channel = inboxes[conversation.inbox_id].channel_type.value
            agent.load[channel] -= 1
    chosen = [p for p in picks if p[0].id in taken]
    if chosen:
        await session.execute(
            update(AgentState)
            .where(AgentState.agent_id.in_({a.agent_id for _, a, _, _ in chosen}))
            .values(last_assigned_at=now)
        )
        await _no_answer_timers(
            session, [(c, a, inboxes[c.inbox_id], taken[c.id]) for c, a, _, _ in chosen], now
        )
    share = (time.perf_counter() - started) * 1000 / len(picks)
    return [Decision(c.id, a.agent_id, stage.name, ms + share) for c, a, stage, ms in chosen]


async def _no_answer_timers(
    session: AsyncSession, chosen: list[tuple[Conversation, AgentSlot, Inbox, datetime | None]], now: datetime
) -> None:
    """A job per routed conversation, at the inbox's no-answer time: not answered by then →
    re-route. All of them in one statement (the assigned rows are held until the commit)."""
    jobs = []
    for conversation, agent, inbox, assigned_at in chosen:
        no_answer_s = int((inbox.settings or {}).get("no_answer_seconds", DEFAULT_NO_ANSWER_S))
        if no_answer_s <= 0:
            continue
        jobs.append(
            (
                json.dumps(
                    {
                        "conversation_id": conversation.id,
                        "agent_id": agent.agent_id,
                        "assigned_at": assigned_at.isoformat() if assigned_at else None,
                    }
                ),
                now + timedelta(seconds=no_answer_s),
            )
        )
    if jobs:
        await session.execute(
            text(
                "SELECT procrastinate_defer_jobs_v1(array_agg(ROW('routing', 'routing.check_answer', 0,"
                " NULL, NULL, j.args, j.at)::procrastinate_job_to_defer_v1))"
                " FROM unnest(CAST(:args AS jsonb[]), CAST(:ats AS timestamptz[])) AS j(args, at)"
            ),
            {"args": [a for a, _ in jobs], "ats": [at for _, at in jobs]},
        )

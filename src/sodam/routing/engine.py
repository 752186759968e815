"""The routing engine: match waiting conversations to available agents.

One dispatch routes a workspace's whole queue, in queue order (rank, then FIFO). It runs as
a job (`routing.dispatch`, deferred by a database trigger whenever someone starts waiting
or a place frees up, and by the sweep), under a per-workspace advisory lock, so any number
of processes may route at once: loads are read and assignments written inside the lock,
and an assignment only lands on a row that is still unassigned — no agent over capacity,
no conversation assigned twice.

Choosing (pure, `choice.choose`): among online agents with spare capacity for the channel, out
of wrap-up, not skipped for this conversation, with the required skills (and in the team,
when one is set) → least busy, then longest idle; a round-robin team takes the longest
idle. Nobody fits: the conversation waits. After the inbox's overflow wait the
requirement widens — language only, then any team; after twice that, anyone.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts.models import Team
from sodam.channels import hours
from sodam.channels.models import Inbox
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation
from sodam.conversations.queue import in_human_queue, queue_order_rank, rank_of
from sodam.realtime import bus
from sodam.routing import autoreply, requirements
from sodam.routing.choice import AgentSlot, Stage, available_agents, choose
from sodam.routing.models import RoutingRule

DEFAULT_OVERFLOW_S = 300
DEFAULT_NO_ANSWER_S = 300
ROUTING_LOCK_CLASS = 7301  # pg_advisory_xact_lock(class, workspace): one router per workspace
BATCH = 200
TELL_FIRST_WAITING = 100
CHANNELS = ("web_widget", "email", "api", "phone")


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
                    # Another pass may have routed it between our describing and routing.
                    agent_id=assigned.get(conversation.id) or conversation.assignee_id,
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
    # The assignments, the agents' last assignment and the no-answer timers in one statement:
    # the rows are held until the commit, and for no round trip after the assignments.
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
            after=_AFTER_ASSIGNING,
            after_params={
                "now": now,
                "timer_ids": [c.id for c, _, _, _ in picks],
                "timer_secs": [_no_answer_seconds(inboxes[c.inbox_id]) for c, _, _, _ in picks],
            },
        )
    )
    for conversation, agent, _stage, _ in picks:
        if conversation.id not in taken:  # someone took it meanwhile: the place is still free
            channel = inboxes[conversation.inbox_id].channel_type.value
            agent.load[channel] -= 1
    chosen = [p for p in picks if p[0].id in taken]
    share = (time.perf_counter() - started) * 1000 / len(picks)
    return [Decision(c.id, a.agent_id, stage.name, ms + share) for c, a, stage, ms in chosen]


def _no_answer_seconds(inbox: Inbox) -> int:
    """The inbox's no-answer time (0 or less: no timer)."""
    return int((inbox.settings or {}).get("no_answer_seconds", DEFAULT_NO_ANSWER_S))


# What routing writes about its assignments, in assign_many's statement (reading its `up`, the
# rows assigned, and `v`, the picks): the agents' last assignment (`now`), and a job per routed
# conversation at its inbox's no-answer time (`timer_secs`, 0: none): not answered by then →
# re-route (routing.check_answer; `assigned_at` tells a later assignment's timer from this one's).
# The agents' rows are written after every conversation's (`agents` aggregates all of `up`):
# conversations first, as a resolve takes them (its trigger then writes the agent's wrap-up).
_AFTER_ASSIGNING = (
    "t AS (SELECT * FROM unnest(CAST(:timer_ids AS bigint[]), CAST(:timer_secs AS integer[])) AS t(id, secs)),"
    " agents AS (SELECT array_agg(DISTINCT v.agent) AS ids FROM up JOIN v ON v.id = up.id),"
    " st AS (UPDATE agent_states SET last_assigned_at = CAST(:now AS timestamptz)"
    " WHERE agent_id = ANY(CAST((SELECT ids FROM agents) AS bigint[])) RETURNING agent_id),"
    " extra AS (SELECT procrastinate_defer_jobs_v1(array_agg(ROW('routing', 'routing.check_answer', 0,"
    " NULL, NULL, jsonb_build_object('conversation_id', up.id, 'agent_id', v.agent, 'assigned_at', up.assigned_at),"
    " CAST(:now AS timestamptz) + make_interval(secs => t.secs))::procrastinate_job_to_defer_v1))"
    " FROM up JOIN v ON v.id = up.id JOIN t ON t.id = up.id WHERE t.secs > 0 HAVING count(*) > 0)"
)

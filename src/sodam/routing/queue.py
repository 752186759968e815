"""The queue as people see it: estimated waits, promised waits at risk, the live view.

Estimated wait — a throughput model, not Erlang C. Erlang C gives the mean wait of a
random arrival in an M/M/c queue; a waiting customer's position is known, and given it,
the wait in M/M/c is the time until that many places free up: k places at a rate of
(busy places ÷ handle time). So the estimate for position k is
    k × handle_time ÷ places,
where places = the capacity (for the channel) of the agents online now and handle_time
is the inbox's mean time from assignment to resolution over the last 7 days. With free
places and nobody ahead, routing assigns at once (an estimate of ~0). With nobody online
there is no honest figure: the widget says so (or names the opening time).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, and_, func, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts.models import Agent, TeamMember
from sodam.channels.models import Inbox
from sodam.conversations.models import Conversation, ConversationEvent, Status
from sodam.conversations.queue import in_human_queue
from sodam.routing.models import AgentState, Availability, capacity_for
from sodam.routing.requirements import AT_RISK_RANK

HANDLE_TIME_TTL_S = 300
HANDLE_TIME_MIN_SAMPLES = 5
MAX_HANDLE_S = 8 * 3600
_handle_times: dict[int, tuple[float, float | None]] = {}


def _now() -> datetime:
    return datetime.now(UTC)


def _waiting(workspace_id: int | None = None) -> list:
    where = in_human_queue()
    if workspace_id is not None:
        where.append(Conversation.workspace_id == workspace_id)
    return where


async def handle_seconds(session: AsyncSession, *, inbox_id: int) -> float | None:
    """Mean assignment→resolution time of the inbox's last 7 days (cached 5 min)."""
    now = time.monotonic()
    hit = _handle_times.get(inbox_id)
    if hit and hit[0] > now:
        return hit[1]
    resolved = (
        select(ConversationEvent.conversation_id, func.max(ConversationEvent.created_at).label("at"))
        .where(
            ConversationEvent.type == "status.changed",
            ConversationEvent.data["to"].astext == "resolved",
            ConversationEvent.created_at > _now() - timedelta(days=7),
        )
        .group_by(ConversationEvent.conversation_id)
        .subquery()
    )
    took = func.extract("epoch", resolved.c.at - Conversation.assigned_at)
    # The mean, not the median: places free up at (places / mean handle time). Conversations
    # left open overnight are not handling time.
    mean, samples = (
        await session.execute(
            select(func.avg(took), func.count())
            .select_from(resolved)
            .join(Conversation, Conversation.id == resolved.c.conversation_id)
            .where(
                Conversation.inbox_id == inbox_id,
                Conversation.assigned_at.is_not(None),
                took > 0,
                took < MAX_HANDLE_S,
            )
        )
    ).one()
    value = float(mean) if mean is not None and samples >= HANDLE_TIME_MIN_SAMPLES else None
    _handle_times[inbox_id] = (now + HANDLE_TIME_TTL_S, value)
    return value


async def staffed_places(session: AsyncSession, *, workspace_id: int, channel: str) -> tuple[int, int]:
    """(places, taken): the capacity for the channel of the agents online now (wrap-up counts:
    it ends soon), and how many of those places their open conversations fill."""
    rows = list(
        await session.execute(
            select(AgentState.agent_id, AgentState.capacity)
            .join(Agent, Agent.id == AgentState.agent_id)
            .where(
                AgentState.workspace_id == workspace_id,
                AgentState.availability == Availability.online,
                Agent.is_active.is_(True),
            )
        )
    )
    if not rows:
        return 0, 0
    caps = {agent_id: capacity_for(c, channel) for agent_id, c in rows}
    loads = dict(
        (
            await session.execute(
                select(Conversation.assignee_id, func.count())
                .join(Inbox, Inbox.id == Conversation.inbox_id)
                .where(
                    Conversation.workspace_id == workspace_id,
                    Conversation.status == Status.open,
                    Conversation.assignee_id.in_(list(caps)),
                    Inbox.channel_type == channel,
                )
                .group_by(Conversation.assignee_id)
            )
        ).all()
    )
    taken = sum(min(int(loads.get(a, 0)), cap) for a, cap in caps.items())
    return sum(caps.values()), taken


def estimate_seconds(position: int, handle_s: float | None, places: int, free: int = 0) -> float | None:
    """(k − free places) × handle time ÷ places (see the module's note); None when nobody can say."""
    if position <= 0 or places <= 0:
        return None
    if position <= free:
        return 0.0  # routing assigns it now
    if handle_s is None:
        return None
    return (position - free) * handle_s / places


async def estimated_wait(
    session: AsyncSession, *, inbox: Inbox, position: int, staffed_unknown: float | None = None
) -> float | None:
    """The wait at `position` (estimate_seconds); `staffed_unknown` when agents are online but
    nobody can say how long (no handle times yet), None when nobody is online."""
    handle_s = await handle_seconds(session, inbox_id=inbox.id)
    places, taken = await staffed_places(
        session, workspace_id=inbox.workspace_id, channel=inbox.channel_type.value
    )
    wait = estimate_seconds(position, handle_s, places, max(0, places - taken))
    return staffed_unknown if wait is None and places > 0 else wait


async def mark_at_risk(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Raise the rank of conversations that waited past the internal target — half the wait
    promised to the customer (the SLA policy's first-response due time, else the inbox's
    typical reply time) — so they go first."""
    now = now or _now()
    # Past half the promise: less time left before the due time than already waited.
    past_half = (Conversation.first_response_due_at - now) < (
        literal(now, DateTime(timezone=True)) - Conversation.queued_at
    )
    result = await session.execute(
        update(Conversation)
        .where(
            *_waiting(),
            Conversation.queue_rank < AT_RISK_RANK,
            Conversation.first_response_due_at.is_not(None),
            past_half,
        )
        .values(queue_rank=Conversation.queue_rank + AT_RISK_RANK, updated_at=Conversation.updated_at)
        .execution_options(synchronize_session=False)
    )
    count = result.rowcount or 0
    inboxes = await session.execute(
        select(Inbox.id, Inbox.settings).where(Inbox.settings["typical_reply_minutes"].astext.is_not(None))
    )
    for inbox_id, settings in inboxes:
        try:
            promised_s = float(settings.get("typical_reply_minutes")) * 60
        except (TypeError, ValueError):
            continue
        if promised_s <= 0:
            continue
        result = await session.execute(
            update(Conversation)
            .where(
                *_waiting(),
                Conversation.first_response_due_at.is_(None),
                Conversation.inbox_id == inbox_id,
                Conversation.queue_rank < AT_RISK_RANK,
                Conversation.queued_at < now - timedelta(seconds=promised_s / 2),
            )
            .values(queue_rank=Conversation.queue_rank + AT_RISK_RANK, updated_at=Conversation.updated_at)
            .execution_options(synchronize_session=False)
        )
        count += result.rowcount or 0
    return count


async def kick_waiting_workspaces(session: AsyncSession) -> int:
    """Defer a dispatch for every workspace with someone waiting and someone online."""
    online = (
        select(AgentState.agent_id)
        .where(
            AgentState.workspace_id == Conversation.workspace_id,
            AgentState.availability == Availability.online,
        )
        .exists()
    )
    workspaces = list(
        await session.scalars(select(Conversation.workspace_id).where(*_waiting(), online).distinct())
    )
    for workspace_id in workspaces:
        await session.execute(text("SELECT sodam_routing_defer(:ws, NULL, true)"), {"ws": workspace_id})
    return len(workspaces)


@dataclass
class QueueView:
    waiting: int
    longest_wait_s: float | None
    agents: dict[str, int]  # availability -> count
    teams: list[dict[str, Any]]


async def live_view(session: AsyncSession, *, workspace_id: int, teams: list[tuple[int, str]]) -> QueueView:
    """The supervisor's queue: waiting count, longest wait, agents by availability, per team."""
    now = _now()
    overall = (
        await session.execute(
            select(func.count(), func.min(Conversation.queued_at)).where(*_waiting(workspace_id))
        )
    ).one()
    per_team = dict(
        (team_id, (count, oldest))
        for team_id, count, oldest in await session.execute(
            select(Conversation.team_id, func.count(), func.min(Conversation.queued_at))
            .where(*_waiting(workspace_id))
            .group_by(Conversation.team_id)
        )
    )
    states = await session.execute(
        select(AgentState.availability, TeamMember.team_id, func.count())
        .join(Agent, Agent.id == AgentState.agent_id)
        .outerjoin(TeamMember, and_(TeamMember.agent_id == AgentState.agent_id))
        .where(AgentState.workspace_id == workspace_id, Agent.is_active.is_(True))
        .group_by(AgentState.availability, TeamMember.team_id)
    )
    by_team: dict[int | None, dict[str, int]] = {}
    for availability, team_id, count in states:
        by_team.setdefault(team_id, {}).setdefault(availability.value, 0)
        by_team[team_id][availability.value] += count
    agents_total = dict(
        (a.value, int(c))
        for a, c in await session.execute(
            select(AgentState.availability, func.count())
            .join(Agent, Agent.id == AgentState.agent_id)
            .where(AgentState.workspace_id == workspace_id, Agent.is_active.is_(True))
            .group_by(AgentState.availability)
        )
    )

    def wait_of(oldest: datetime | None) -> float | None:
        return max(0.0, (now - oldest).total_seconds()) if oldest else None

    team_rows = []
    for team_id, name in teams:
        count, oldest = per_team.get(team_id, (0, None))
        team_rows.append(
            {
                "team_id": team_id,
                "name": name,
                "waiting": int(count),
                "longest_wait_s": wait_of(oldest),
                "agents": by_team.get(team_id, {}),
            }
        )
    return QueueView(int(overall[0]), wait_of(overall[1]), agents_total, team_rows)


def minutes(seconds: float | None) -> int | None:
    return None if seconds is None else max(1, math.ceil(seconds / 60))

"""Presence from the console's live socket: online when a console opens, away after
inactivity, back on activity, offline when the last console tab closes.

Counts live in PostgreSQL (agent_presence: sockets per agent per serving process, with a
heartbeat), so with several processes the last tab closing anywhere is seen, and a killed
process's tabs stop counting once its heartbeat is stale (the sweep).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.db.session import session_scope
from sodam.jobs.app import defer_in_tx
from sodam.routing import service
from sodam.routing.models import AgentPresence, AgentState, Availability

log = logging.getLogger(__name__)

PROCESS_KEY = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
HEARTBEAT_S = 20.0
STALE_AFTER_S = 75.0
OFFLINE_GRACE_S = 20.0  # a reload closes and reopens the socket: not offline
ACTIVITY_WRITE_EVERY_S = 30.0
AWAY_AFTER_S = 600.0

_heartbeat: asyncio.Task[None] | None = None
_last_activity_write: dict[int, float] = {}


def _now() -> datetime:
    return datetime.now(UTC)


async def _beat_forever() -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        try:
            async with session_scope() as session:
                await session.execute(
                    update(AgentPresence)
                    .where(AgentPresence.process_key == PROCESS_KEY)
                    .values(seen_at=func.now())
                )
                await session.commit()
        except Exception:  # the database may be restarting: beat again later
            log.warning("presence heartbeat failed", exc_info=True)


def _ensure_heartbeat() -> None:
    global _heartbeat
    if _heartbeat is None or _heartbeat.done():
        _heartbeat = asyncio.get_running_loop().create_task(_beat_forever(), name="sodam-presence")


async def _live_sockets(session: AsyncSession, agent_id: int) -> int:
    stale = _now() - timedelta(seconds=STALE_AFTER_S)
    return int(
        await session.scalar(
            select(func.coalesce(func.sum(AgentPresence.sockets), 0)).where(
                AgentPresence.agent_id == agent_id, AgentPresence.seen_at > stale
            )
        )
        or 0
    )


async def console_opened(*, workspace_id: int, agent_id: int) -> None:
    _ensure_heartbeat()
    async with session_scope() as session:
        before = await _live_sockets(session, agent_id)
        await session.execute(
            insert(AgentPresence)
            .values(agent_id=agent_id, workspace_id=workspace_id, process_key=PROCESS_KEY, sockets=1)
            .on_conflict_do_update(
                index_elements=["agent_id", "process_key"],
                set_={"sockets": AgentPresence.sockets + 1, "seen_at": func.now()},
            )
        )
        state = await service.state_of(session, workspace_id=workspace_id, agent_id=agent_id)
        # The first console of a session brings the agent online (an agent who chose
        # offline with a console open stays offline while it is open).
        if state.availability == Availability.offline and before == 0:
            await service.set_availability(
                session,
                workspace_id=workspace_id,
                agent_id=agent_id,
                availability=Availability.online,
                chosen=False,
                reason="console_opened",
            )
        else:
            state.last_activity_at = _now()
        await session.commit()


async def console_closed(*, workspace_id: int, agent_id: int) -> None:
    async with session_scope() as session:
        await session.execute(
            update(AgentPresence)
            .where(AgentPresence.agent_id == agent_id, AgentPresence.process_key == PROCESS_KEY)
            .values(sockets=func.greatest(AgentPresence.sockets - 1, 0))
        )
        await session.execute(
            delete(AgentPresence).where(
                AgentPresence.agent_id == agent_id,
                AgentPresence.process_key == PROCESS_KEY,
                AgentPresence.sockets <= 0,
            )
        )
        if await _live_sockets(session, agent_id) == 0:
            await defer_in_tx(
                session,
                "routing.check_presence",
                {"workspace_id": workspace_id, "agent_id": agent_id},
                queue="routing",
                scheduled_at=_now() + timedelta(seconds=OFFLINE_GRACE_S),
            )
        await session.commit()


async def console_activity(*, workspace_id: int, agent_id: int) -> None:
    """The agent used the console (throttled: one write per agent per 30 s per process)."""
    now = time.monotonic()
    if now - _last_activity_write.get(agent_id, 0.0) < ACTIVITY_WRITE_EVERY_S:
        return
    _last_activity_write[agent_id] = now
    async with session_scope() as session:
        state = await service.state_of(session, workspace_id=workspace_id, agent_id=agent_id)
        state.last_activity_at = _now()
        if state.availability == Availability.away and not state.chosen:
            await service.set_availability(
                session,
                workspace_id=workspace_id,
                agent_id=agent_id,
                availability=Availability.online,
                chosen=False,
                reason="activity",
            )
        await session.commit()


async def check_presence(
    session: AsyncSession, *, workspace_id: int, agent_id: int, at: datetime | None = None
) -> bool:
    """After the grace period: still no console anywhere → offline (as of `at`: a dead
    process's last heartbeat, so its agents' time online ends there)."""
    if await _live_sockets(session, agent_id) > 0:
        return False
    state = await service.state_of(session, workspace_id=workspace_id, agent_id=agent_id)
    if state.availability == Availability.offline:
        return False
    await service.set_availability(
        session,
        workspace_id=workspace_id,
        agent_id=agent_id,
        availability=Availability.offline,
        chosen=False,
        reason="console_closed",
        at=at,
    )
    return True


async def sweep(session: AsyncSession, *, now: datetime | None = None) -> dict[str, int]:
    """Forget dead processes' sockets (their agents go offline) and set idle agents away."""
    now = now or _now()
    stale = list(
        await session.execute(
            delete(AgentPresence)
            .where(AgentPresence.seen_at < now - timedelta(seconds=STALE_AFTER_S))
            .returning(AgentPresence.workspace_id, AgentPresence.agent_id, AgentPresence.seen_at)
        )
    )
    last_beat: dict[tuple[int, int], datetime] = {}
    for workspace_id, agent_id, seen_at in stale:
        key = (workspace_id, agent_id)
        last_beat[key] = max(seen_at, last_beat.get(key, seen_at))
    went_offline = 0
    for (workspace_id, agent_id), seen_at in last_beat.items():
        went_offline += int(
            await check_presence(session, workspace_id=workspace_id, agent_id=agent_id, at=seen_at)
        )
    present = select(AgentPresence.agent_id).distinct().scalar_subquery()
    idle = list(
        await session.execute(
            select(AgentState.workspace_id, AgentState.agent_id).where(
                AgentState.availability == Availability.online,
                AgentState.chosen.is_(False),
                AgentState.last_activity_at < now - timedelta(seconds=AWAY_AFTER_S),
                AgentState.agent_id.in_(present),
            )
        )
    )
    for workspace_id, agent_id in idle:
        await service.set_availability(
            session,
            workspace_id=workspace_id,
            agent_id=agent_id,
            availability=Availability.away,
            chosen=False,
            reason="inactive",
        )
    return {"offline": went_offline, "away": len(idle)}

"""On a breach: the event log says so, the priority goes up one step (as the system), the
team's 매니저 get a notice and a live frame, and `sla.breached` is emitted for routing —
once per clock. The sweep catches a breach whose job was lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from sodam.accounts import service as accounts
from sodam.accounts.models import AgentNotice, Role
from sodam.conversations.models import Priority
from sodam.db.session import session_scope
from sodam.jobs import reactions
from sodam.sla import clocks
from tests.sla.helpers import event_types, load, queued_conversation, recompute, with_policy
from tests.test_console_helpers import add_agent


async def _breach(cid: int, kind: str = "first_response") -> bool:
    async with session_scope() as session:
        acted = await clocks.breach(session, conversation_id=cid, kind=kind)
        await session.commit()
        return acted


async def test_breach_raises_priority_notifies_supervisors_and_emits(db, make_workspace):
    reactions.react("sla.breached", reactions.Reaction("sodam.echo"))  # stands in for routing's re-route
    ws = await make_workspace()
    await with_policy(ws, business_hours=False)
    supervisor, _, _ = await add_agent(ws, role=Role.supervisor)
    agent, _, _ = await add_agent(ws, role=Role.agent)
    async with session_scope() as session:
        team = await accounts.create_team(
            session, workspace_id=ws.workspace_id, name="결제팀", agent_ids=[supervisor, agent]
        )
        await session.commit()
    late = datetime.now(UTC) - timedelta(hours=5)  # past the 4 h first-response target
    cid = await queued_conversation(ws, at=late, team_id=team.id, priority=Priority.low)

    await _breach(cid)  # a worker may have acted first (the job was due at once): same outcome
    assert await _breach(cid) is False  # once per clock
    c = await load(cid)
    assert c.priority == Priority.medium
    assert c.sla_clocks["first_response"]["breached"] is True
    log = await event_types(cid)
    breaches = [e for e in log if e[0] == "sla.breached"]
    assert len(breaches) == 1 and breaches[0][1] == "system" and breaches[0][2]["kind"] == "first_response"
    assert ("priority.changed", "system", {"from": "low", "to": "medium"}) in log

    async with session_scope() as session:
        notices = list(
            await session.scalars(select(AgentNotice).where(AgentNotice.workspace_id == ws.workspace_id))
        )
        # Emitted as an event: this process's stand-in, or routing's own reaction when a test
        # server's worker (which has no stand-in registered) breached it first.
        emitted = await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs"
                " WHERE task_name IN ('sodam.echo', 'routing.on_sla_breached')"
                " AND args->>'event' = 'sla.breached' AND (args->>'conversation_id')::bigint = :id"
                " AND args->>'kind' = 'first_response' AND (args->>'workspace_id')::bigint = :ws"
            ),
            {"id": cid, "ws": ws.workspace_id},
        )
    # The team's supervisor, not the team's agent nor the admin outside the team.
    assert [(n.agent_id, n.kind, n.details["conversation_id"]) for n in notices] == [
        (supervisor, "sla_breached", cid)
    ]
    assert emitted >= 1

    # The raise recomputes (a trigger): the shorter target is already past, but the clock
    # that started at the same time is not acted on twice.
    await recompute(cid)
    assert (await load(cid)).sla_clocks["first_response"]["breached"] is True
    assert await _breach(cid) is False
    assert (await load(cid)).priority == Priority.medium


async def test_without_a_team_every_supervisor_hears(db, make_workspace):
    ws = await make_workspace()
    await with_policy(ws, business_hours=False)
    supervisor, _, _ = await add_agent(ws, role=Role.supervisor)
    cid = await queued_conversation(ws, at=datetime.now(UTC) - timedelta(hours=5), priority=Priority.urgent)
    await _breach(cid)
    c = await load(cid)
    assert c.priority == Priority.urgent  # urgent stays urgent
    async with session_scope() as session:
        told = set(
            await session.scalars(
                select(AgentNotice.agent_id).where(
                    AgentNotice.workspace_id == ws.workspace_id, AgentNotice.kind == "sla_breached"
                )
            )
        )
    assert told == {supervisor, ws.agent_id}  # the supervisor and the admin


async def test_a_met_or_moved_clock_is_not_breached(db, make_workspace):
    ws = await make_workspace()
    await with_policy(ws, business_hours=False)
    cid = await queued_conversation(ws, at=datetime.now(UTC) - timedelta(minutes=10))
    assert await _breach(cid) is False  # due in 3 h 50 min
    assert await _breach(cid, "next_response") is False  # no such clock
    assert (await load(cid)).priority == Priority.none


async def test_the_sweep_catches_a_lost_breach_job(db, make_workspace):
    ws = await make_workspace()
    await with_policy(ws, business_hours=False)
    cid = await queued_conversation(ws, at=datetime.now(UTC) - timedelta(hours=5))
    async with session_scope() as session:
        # The breach job is lost (a restore, a purge): only the sweep is left.
        await session.execute(
            text(
                "DELETE FROM procrastinate_jobs WHERE task_name = 'sla.breach' AND status = 'todo'"
                " AND (args->>'conversation_id')::bigint = :id"
            ),
            {"id": cid},
        )
        await session.commit()
    async with session_scope() as session:
        pending = await clocks.overdue(session)
    if (await load(cid)).sla_clocks["first_response"].get("breached"):
        return  # a running worker's job got there before the delete: nothing left to sweep
    assert (cid, "first_response") in pending
    from sodam.sla.tasks import sweep

    await sweep(timestamp=0)
    assert (await load(cid)).sla_clocks["first_response"]["breached"] is True
    async with session_scope() as session:
        assert (cid, "first_response") not in await clocks.overdue(session)

"""SLA timers are durable: a breach job scheduled by one server fires in a fresh one after
the first has stopped before the due time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from sodam.conversations.models import Priority
from sodam.db.session import session_scope
from tests.sla.helpers import event_types, load, queued_conversation, with_policy

TARGET_S = 12


async def _breach_jobs(cid: int) -> list[tuple[str, datetime]]:
    async with session_scope() as session:
        rows = await session.execute(
            text(
                "SELECT status::text, scheduled_at FROM procrastinate_jobs WHERE task_name = 'sla.breach'"
                " AND (args->>'conversation_id')::bigint = :id ORDER BY id"
            ),
            {"id": cid},
        )
        return [(status, at) for status, at in rows]


async def _wait(predicate, within_s: float):
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        found = await predicate()
        if found:
            return found
        await asyncio.sleep(0.3)
    return await predicate()


async def test_a_breach_job_fires_after_a_restart(server_factory, make_workspace):
    ws = await make_workspace()
    first = server_factory()  # a server with its job worker
    targets = [{"tier": "*", "priority": "*", "first_response_s": TARGET_S}]
    await with_policy(ws, business_hours=False, targets=targets)
    cid = await queued_conversation(ws, at=datetime.now(UTC))
    scheduled = await _breach_jobs(cid)
    assert [s for s, _ in scheduled] == ["todo"]
    due = scheduled[0][1]
    assert due > datetime.now(UTC) + timedelta(seconds=3)  # still ahead when the server goes
    first.stop()
    assert [s for s, _ in await _breach_jobs(cid)] == ["todo"]
    assert (await load(cid)).priority == Priority.none

    second = server_factory()  # a fresh process (its start overlaps the wait): its worker picks the job up
    try:
        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 1)

        async def fired():
            jobs = await _breach_jobs(cid)
            return jobs if jobs and jobs[0][0] == "succeeded" else None

        assert await _wait(fired, 30), await _breach_jobs(cid)
        c = await load(cid)
        assert c.priority == Priority.low
        assert [e for e in await event_types(cid) if e[0] == "sla.breached"][0][2]["kind"] == "first_response"
    finally:
        second.stop()

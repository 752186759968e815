"""Running the engine in its own transactions: what the jobs, the worker loop and the tests call.

`process()` drains the outbox, then runs every due run — one run per transaction, so two
workers at once never run the same step twice and never block each other.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sodam.automations import clock, engine, execution
from sodam.db.session import session_scope

log = logging.getLogger(__name__)


async def drain_all(
    *, now: datetime | None = None, workspace_id: int | None = None, max_batches: int = 20
) -> int:
    """Drain pending events batch by batch (a transaction each); returns the runs created."""
    created = 0
    for _ in range(max_batches):
        async with session_scope() as session:
            done = await engine.drain(session, now=now or clock.now(), workspace_id=workspace_id)
        created += done.runs
        if done.events < engine.DRAIN_BATCH:
            break
    return created


async def run_due(*, now: datetime | None = None, workspace_id: int | None = None, limit: int = 500) -> int:
    """Execute due runs, one per transaction; returns how many were taken."""
    taken = 0
    while taken < limit:
        at = now or clock.now()
        run_id = None
        try:
            async with session_scope() as session:
                run = await execution.claim_one(session, now=at, workspace_id=workspace_id)
                if run is None:
                    return taken
                run_id = run.id
                await execution.execute(session, run, now=at)
        except Exception as exc:
            if run_id is None:
                raise
            log.warning("automation run %s failed", run_id, exc_info=True)
            async with session_scope() as session:
                await execution.failed(session, run_id=run_id, error=execution.describe_error(exc), now=at)
        taken += 1
    return taken


async def sweep(*, now: datetime | None = None, workspace_id: int | None = None) -> int:
    async with session_scope() as session:
        return await engine.sweep(session, now=now or clock.now(), workspace_id=workspace_id)


async def process(*, now: datetime | None = None, workspace_id: int | None = None) -> dict[str, int]:
    """Drain the outbox, then run what is due."""
    created = await drain_all(now=now, workspace_id=workspace_id)
    ran = await run_due(now=now, workspace_id=workspace_id)
    return {"runs_created": created, "runs_taken": ran}

"""Jobs are deferred inside the caller's transaction and run by the in-process worker."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from sodam.db.session import session_scope
from sodam.jobs.app import defer_in_tx


async def job_status(job_id: int) -> str | None:
    async with session_scope() as session:
        return await session.scalar(
            text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
        )


async def test_committed_job_runs_and_rolled_back_job_never_exists(db, live_server):
    async with session_scope() as session:
        committed = await defer_in_tx(session, "sodam.echo", {"n": 1})

    class Rollback(Exception):
        pass

    rolled_back = None
    try:
        async with session_scope() as session:
            rolled_back = await defer_in_tx(session, "sodam.echo", {"n": 2})
            raise Rollback
    except Rollback:
        pass
    assert rolled_back is not None
    assert await job_status(rolled_back) is None
    # The live server runs a worker in-process: the committed job finishes.
    for _ in range(100):
        if await job_status(committed) == "succeeded":
            break
        await asyncio.sleep(0.1)
    assert await job_status(committed) == "succeeded"

"""Jobs of the SLA domain: recomputing due times, acting on a breach at its time, and a
sweep every minute for breaches whose job was lost."""

from __future__ import annotations

from procrastinate import RetryStrategy

from sodam.db.session import session_scope
from sodam.jobs.app import job_app

IDEMPOTENT_RETRY = RetryStrategy(max_attempts=5, wait=2)  # each one re-reads the state


@job_app.task(name="sla.recompute", queue="default", retry=IDEMPOTENT_RETRY)
async def recompute(**args) -> list[str]:
    """Store a conversation's due times (deferred by the triggers of migration 0021)."""
    from sodam.sla import clocks

    async with session_scope() as session:
        found = await clocks.recompute(session, conversation_id=int(args["conversation_id"]))
        await session.commit()
        return sorted(found)


@job_app.task(name="sla.breach", queue="default", retry=IDEMPOTENT_RETRY)
async def breach(**args) -> bool:
    """At a clock's due time: act on the breach unless it was met or moved."""
    from sodam.sla import clocks

    async with session_scope() as session:
        acted = await clocks.breach(session, conversation_id=int(args["conversation_id"]), kind=args["kind"])
        await session.commit()
        return acted


@job_app.periodic(cron="* * * * *", periodic_id="sla-breach-sweep")
@job_app.task(
    name="sla.sweep",
    queue="default",
    queueing_lock="sla.sweep",
    retry=IDEMPOTENT_RETRY,
)
async def sweep(timestamp: int) -> int:
    """Every minute: act on every overdue clock not acted on yet (a lost job, a restore)."""
    from sodam.sla import clocks

    acted = 0
    async with session_scope() as session:
        pending = await clocks.overdue(session)
    for conversation_id, kind in pending:
        async with session_scope() as session:
            acted += int(await clocks.breach(session, conversation_id=conversation_id, kind=kind))
            await session.commit()
    return acted

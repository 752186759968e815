"""Jobs of the automations domain: a workspace's events processed at once (deferred by the
events API), the periodic sweep of state-based triggers, the resumption of due journeys and
the purge of processed events. The worker loop (worker.py) drains the outbox every second."""

from __future__ import annotations

from procrastinate import RetryStrategy
from sqlalchemy import text

from sodam.automations import timeline
from sodam.db.session import session_scope
from sodam.jobs.app import job_app

timeline.register()
PURGE_AFTER_DAYS = 7


@job_app.task(name="automations.process", queue="default", retry=3)
async def process(**args) -> dict:
    """Drain one workspace's pending events and run what is due (a custom event's notice)."""
    from sodam.automations import runner

    return await runner.process(workspace_id=int(args["workspace_id"]))


@job_app.periodic(cron="*/5 * * * *", periodic_id="automations-sweep")
@job_app.task(
    name="automations.sweep",
    queue="default",
    queueing_lock="automations.sweep",
    retry=RetryStrategy(max_attempts=3, wait=5),
)
async def sweep(timestamp: int) -> int:
    """Every 5 minutes: state-based triggers (inactive N days, N days old, in a segment)."""
    from sodam.automations import runner

    return await runner.sweep()


@job_app.periodic(cron="* * * * *", periodic_id="automations-resume")
@job_app.task(
    name="automations.resume",
    queue="default",
    queueing_lock="automations.resume",
    retry=RetryStrategy(max_attempts=5, wait=2),
)
async def resume(timestamp: int) -> int:
    """Every minute: journeys whose wait or hold is over (after a restart too)."""
    from sodam.automations import runner

    return await runner.run_due()


@job_app.periodic(cron="17 3 * * *", periodic_id="automations-purge")
@job_app.task(name="automations.purge", queue="default", queueing_lock="automations.purge", retry=2)
async def purge(timestamp: int) -> int:
    """Daily: processed events older than a week (their idempotency keys expire with them)."""
    async with session_scope() as session:
        result = await session.execute(
            text(
                "DELETE FROM automation_events WHERE processed_at IS NOT NULL"
                " AND processed_at < now() - make_interval(days => :d)"
            ),
            {"d": PURGE_AFTER_DAYS},
        )
        return result.rowcount or 0

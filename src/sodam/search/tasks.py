"""The periodic search indexer (every 10 s; searches also catch up before they run)."""

from __future__ import annotations

from procrastinate import RetryStrategy

from sodam.jobs.app import job_app


@job_app.periodic(cron="* * * * * */10")
# Idempotent: a run that fails (the database restarting) is retried, not left failed.
@job_app.task(
    name="sodam.search.index",
    queue="default",
    queueing_lock="sodam.search.index",
    retry=RetryStrategy(max_attempts=5, wait=2),
)
async def index_messages(timestamp: int) -> dict:
    """Index what was written since the last run (for up to 8 s; the next run goes on)."""
    from sodam.search import indexer

    return {"indexed": await indexer.catch_up(limit=indexer.BATCH, max_seconds=8.0)}

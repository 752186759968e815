"""The rollup's periodic job: every 5 seconds, fold what the event log and the queue of
in-place changes gained into report_hourly (rollup.refresh; a second runner at the same time
just returns)."""

from __future__ import annotations

import logging

from procrastinate import RetryStrategy

from sodam.analytics import rollup
from sodam.db.session import current_url
from sodam.jobs.app import job_app

log = logging.getLogger(__name__)


@job_app.periodic(cron="* * * * * */5", periodic_id="reports-refresh")
@job_app.task(
    name="reports.refresh",
    queue="default",
    queueing_lock="reports.refresh",
    retry=RetryStrategy(max_attempts=3, wait=2),  # idempotent: a failed run left the cursor unmoved
)
async def refresh(timestamp: int) -> dict:
    """Bring the hourly rollup up to date; returns what it read."""
    result = await rollup.refresh(current_url(), wait=False)
    if result is None:
        return {"skipped": True}
    if result.seconds > 5:
        log.info(
            "reports rollup: %d events, %d conversations in %.1f s",
            result.events,
            result.conversations,
            result.seconds,
        )
    return {"events": result.events, "conversations": result.conversations, "gaps": result.gaps}


@job_app.periodic(cron="7 * * * *", periodic_id="reports-alerts")
@job_app.task(name="reports.alerts", queue="default", queueing_lock="reports.alerts", retry=3)
async def check_alerts(timestamp: int) -> dict:
    """Every hour: the last complete hour against thresholds and the same hour last week."""
    from datetime import UTC, datetime

    from sodam.analytics import alerts
    from sodam.db.session import session_scope

    # Fold in what the last minutes brought first, so the hour is complete.
    await rollup.refresh(current_url(), wait=True)
    async with session_scope() as session:
        return {"notices": await alerts.check(session, now=datetime.fromtimestamp(timestamp, UTC))}

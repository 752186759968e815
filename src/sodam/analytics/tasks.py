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


@job_app.periodic(cron="17 3 * * *", periodic_id="reports-churn-risk")
@job_app.task(name="reports.churn_retrain", queue="default", queueing_lock="reports.churn_retrain", retry=2)
async def churn_retrain(timestamp: int) -> dict:
    """Every night: retrain each workspace's churn model on its own history (time split, held-out
    AUC kept with it) and score its active customers (analytics/churnrisk.py)."""
    import psycopg

    from sodam.analytics import churnrisk

    out: dict[str, dict] = {}
    async with await psycopg.AsyncConnection.connect(current_url(), autocommit=True) as conn:
        workspaces = [
            r[0] for r in await (await conn.execute("SELECT id FROM workspaces ORDER BY id")).fetchall()
        ]
        for ws in workspaces:
            async with conn.transaction():
                out[str(ws)] = await churnrisk.retrain(conn, workspace_id=ws)
    return out


@job_app.periodic(cron="30 0 * * 1", periodic_id="reports-digest")  # Mondays 09:30 in Korea
@job_app.task(name="reports.weekly_digest", queue="default", queueing_lock="reports.weekly_digest", retry=3)
async def weekly_digest(timestamp: int) -> dict:
    """Every Monday: last week's insights digest e-mailed to each workspace's subscribers (once
    per workspace and week, through the workspace's own relay; analytics/digest.py)."""
    from datetime import UTC, datetime

    import psycopg

    from sodam.analytics import digest

    week = digest.last_full_week(datetime.fromtimestamp(timestamp, UTC).astimezone(digest.KST).date())
    out: dict[str, dict] = {}
    async with await psycopg.AsyncConnection.connect(current_url()) as conn:
        workspaces = [
            r[0]
            for r in await (
                await conn.execute("SELECT DISTINCT workspace_id FROM report_digest_subscribers ORDER BY 1")
            ).fetchall()
        ]
        await conn.commit()
        for ws in workspaces:
            try:
                out[str(ws)] = await digest.send_week(conn, workspace_id=ws, week=week)
            except Exception as exc:  # one workspace's relay must not stop the others
                log.warning("weekly digest of workspace %s failed: %s", ws, exc)
                out[str(ws)] = {"error": str(exc)[:200]}
    if any("error" in v for v in out.values()):  # retried: the workspaces already sent are skipped
        raise RuntimeError(f"weekly digest failed for some workspaces: {out}")
    return out

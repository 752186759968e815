"""The daily retention job: durable, idempotent, in batches of one transaction each."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sodam.audit import context as audit_context
from sodam.db.session import session_scope
from sodam.jobs.app import job_app
from sodam.privacy import service

log = logging.getLogger(__name__)


async def run_retention(
    now: datetime | None = None, *, batch: int = service.RETENTION_BATCH
) -> dict[int, int]:
    """Apply every workspace's retention; returns {workspace_id: conversations handled}."""
    now = now or datetime.now(UTC)
    async with session_scope() as session:
        workspaces = await service.retention_workspaces(session)
    done: dict[int, int] = {}
    for workspace_id in workspaces:
        done[workspace_id] = 0
        # The job acts as "system" in the audit log.
        with audit_context.scope(actor=audit_context.Actor(workspace_id, "system")):
            while True:
                async with session_scope() as session:
                    handled = await service.apply_retention_batch(
                        session, workspace_id=workspace_id, now=now, limit=batch
                    )
                if not handled:
                    break
                done[workspace_id] += handled
    return done


# Once a day; the queueing lock keeps at most one run waiting, the lock one running.
@job_app.periodic(cron="17 3 * * *", periodic_id="privacy-retention")
@job_app.task(
    name="privacy.apply_retention",
    queue="default",
    lock="privacy.apply_retention",
    queueing_lock="privacy.apply_retention",
    retry=3,
)
async def apply_retention(timestamp: int) -> dict[str, int]:
    """Delete or anonymise expired conversations of every workspace that turned retention on."""
    done = await run_retention(datetime.fromtimestamp(timestamp, UTC))
    if any(done.values()):
        log.info("retention applied: %s", done)
    return {str(k): v for k, v in done.items()}

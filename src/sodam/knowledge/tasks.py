"""Jobs of the knowledge domain: article sentence vectors, computed after each change, and the
weekly stale-article reminders."""

from __future__ import annotations

from procrastinate import RetryStrategy

from sodam.db.session import session_scope
from sodam.jobs.app import job_app
from sodam.knowledge import hygiene
from sodam.knowledge.embedding import embed_articles


@job_app.task(name="knowledge.embed_articles", queue="nlp", retry=RetryStrategy(max_attempts=5, wait=2))
async def embed_articles_job(**args) -> int:
    ids = args.get("article_ids")
    return await embed_articles(int(args["workspace_id"]), [int(i) for i in ids] if ids else None)


@job_app.periodic(cron="0 0 * * 1", periodic_id="knowledge-stale-reminders")
@job_app.task(name="knowledge.stale_reminders", queue="default", queueing_lock="knowledge.stale_reminders")
async def stale_reminders_job(timestamp: int | None = None) -> int:
    """Weekly (Monday 00:00 UTC = 09:00 KST): remind owners of their stale articles."""
    return await run_stale_reminders()


async def run_stale_reminders() -> int:
    """One round over every workspace with published articles; returns the reminders sent."""
    sent = 0
    async with session_scope() as session:
        workspace_ids = await hygiene.workspaces_with_articles(session)
    for workspace_id in workspace_ids:
        async with session_scope() as session:  # one workspace per transaction
            sent += len(await hygiene.send_reminders(session, workspace_id=workspace_id))
    return sent

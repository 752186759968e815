"""Durable jobs of campaigns: the run (batches at the campaign's rate, resumable after a
crash: the batch in flight rolls back and is claimed again) and the banner's live nudge when
an announcement starts or ends later."""

from __future__ import annotations

from sodam.db.session import session_scope
from sodam.jobs.app import job_app


@job_app.task(name="campaigns.run", queue="campaigns", retry=5)
async def run(campaign_id: int) -> str:
    from sodam.campaigns import send

    return await send.run(int(campaign_id))


@job_app.task(name="campaigns.banner_changed", queue="campaigns", retry=3)
async def banner_changed(workspace_id: int) -> bool:
    """An announcement starts or ends now: open widgets fetch their banner again."""
    from sodam.campaigns import live

    async with session_scope() as session:
        await live.publish_banner_changed(session, workspace_id=int(workspace_id))
        await session.commit()
    return True

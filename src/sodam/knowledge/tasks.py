"""Jobs of the knowledge domain: article sentence vectors, computed after each change, and the
weekly stale-article reminders."""

from __future__ import annotations

import logging

from procrastinate import RetryStrategy
from sqlalchemy import func, select

from sodam.db.session import session_scope
from sodam.jobs.app import job_app
from sodam.knowledge import hygiene
from sodam.knowledge import service as knowledge
from sodam.knowledge.embedding import embed_articles
from sodam.knowledge.models import KbArticle

log = logging.getLogger(__name__)


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


async def load_large_indexes(min_articles: int) -> list[int]:
    """Build, one after another, the search index of every workspace with at least
    `min_articles` published articles (SODAM_KB_PREBUILD_ARTICLES). A web server does it when it
    starts, so that the help center's first search after a start or a crash does not wait for the
    build: about 25 s at 10,000 articles, mostly Kiwi's analysis of every article (a worker builds
    the bot's: bot.knowledge_source.load_indexes). Returns those workspaces."""
    async with session_scope() as session:
        workspace_ids = list(
            await session.scalars(
                select(KbArticle.workspace_id)
                .where(KbArticle.status == "published")
                .group_by(KbArticle.workspace_id)
                .having(func.count() >= min_articles)
                .order_by(KbArticle.workspace_id)
            )
        )
    await build_indexes(workspace_ids)
    return workspace_ids


async def build_indexes(workspace_ids: list[int]) -> None:
    """Build these workspaces' search indexes in this process, one after another (a process's
    start: the web server's large bases, a worker's bot workspaces). A failure is logged and
    left to that workspace's first search."""
    for workspace_id in workspace_ids:
        try:
            async with session_scope() as session:
                await knowledge.load_index(session, workspace_id=workspace_id)
            log.info("workspace %d's search index built ahead", workspace_id)
        except Exception:  # its first search builds it then
            log.warning("could not build workspace %d's search index ahead", workspace_id, exc_info=True)

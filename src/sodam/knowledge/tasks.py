"""Jobs of the knowledge domain: article sentence vectors, computed after each change."""

from __future__ import annotations

from procrastinate import RetryStrategy

from sodam.jobs.app import job_app
from sodam.knowledge.embedding import embed_articles


@job_app.task(name="knowledge.embed_articles", queue="nlp", retry=RetryStrategy(max_attempts=5, wait=2))
async def embed_articles_job(**args) -> int:
    ids = args.get("article_ids")
    return await embed_articles(int(args["workspace_id"]), [int(i) for i in ids] if ids else None)

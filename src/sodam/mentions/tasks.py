"""The mention's job: its sentiment (CPU work on a thread), then the inbox's alert check."""

from __future__ import annotations

import asyncio

from sqlalchemy import update

from sodam.channels import service as inboxes
from sodam.db.session import session_scope
from sodam.jobs.app import job_app
from sodam.mentions import service
from sodam.mentions.models import Mention


@job_app.task(name="mentions.score", queue="nlp", retry=3)
async def score(mention_id: int) -> str | None:
    from sodam.conversations.tasks import scorer

    async with session_scope() as session:
        mention = await session.get(Mention, mention_id)
        if mention is None:
            return None
        result = await asyncio.to_thread(scorer().score, mention.content)
        await session.execute(
            update(Mention)
            .where(Mention.id == mention.id)
            .values(sentiment_score=result.score, sentiment_label=result.label)
        )
        if result.label == "negative":
            inbox = await inboxes.get(session, workspace_id=mention.workspace_id, inbox_id=mention.inbox_id)
            await service.check_alert(session, inbox=inbox)
        await session.commit()
        return result.label

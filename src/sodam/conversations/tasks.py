"""Jobs of the conversations domain: scoring each customer message's sentiment after commit."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from procrastinate import RetryStrategy
from sqlalchemy import update

from sodam.config import get_settings
from sodam.conversations.models import Message
from sodam.db.session import session_scope
from sodam.jobs.app import job_app
from sodam.jobs.reactions import Reaction, react
from sodam.nlp.sentiment import SentimentScorer, default_model_path


@lru_cache
def scorer() -> SentimentScorer:
    """The trained Korean model from the data dir when present, lexicons otherwise."""
    return SentimentScorer(default_model_path(get_settings().data_dir))


@job_app.task(name="conversations.score_sentiment", queue="nlp", retry=2)
async def score_sentiment(**args) -> str | None:
    """Store the sentiment of one customer message (the screen pop and analytics read it)."""
    async with session_scope() as session:
        message = await session.get(Message, int(args["message_id"]))
        if message is None:
            return None
        # CPU work off the event loop: the worker may share its process with the web server.
        result = await asyncio.to_thread(scorer().score, message.content)
        await session.execute(
            update(Message)
            .where(Message.id == message.id)
            .values(sentiment_score=result.score, sentiment_label=result.label)
        )
        return result.label


react(
    "message.created",
    Reaction(
        "conversations.score_sentiment",
        when=lambda p: p["sender_type"] == "contact" and p["kind"] == "text",
        queue="nlp",
    ),
)


@job_app.task(name="conversations.wake_snoozed", queue="default", retry=3)
async def wake_snoozed(**args) -> bool:
    """Open a snoozed conversation at its time (scheduled when it was snoozed)."""
    from sodam.conversations import triage

    async with session_scope() as session:
        woke = await triage.wake(session, conversation_id=int(args["conversation_id"]))
        await session.commit()
        return woke


@job_app.periodic(cron="* * * * *", periodic_id="conversations-snooze-sweep")
@job_app.task(
    name="conversations.wake_due_snoozes",
    queue="default",
    queueing_lock="conversations.wake_due_snoozes",
    retry=RetryStrategy(max_attempts=5, wait=2),  # idempotent: retried if the database restarts
)
async def wake_due_snoozes(timestamp: int) -> int:
    """Every minute: open the snoozed conversations whose time has passed (a lost job, a restore)."""
    from sodam.conversations import triage

    woke = 0
    async with session_scope() as session:
        for conversation_id in await triage.due(session):
            woke += int(await triage.wake(session, conversation_id=conversation_id))
        await session.commit()
    return woke

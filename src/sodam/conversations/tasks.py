"""Jobs of the conversations domain: scoring each customer message's sentiment after commit."""

from __future__ import annotations

from functools import lru_cache

from procrastinate import RetryStrategy
from sqlalchemy import text

from sodam.config import get_settings
from sodam.db.session import session_scope
from sodam.jobs.app import job_app
from sodam.jobs.cpu import map_chunks
from sodam.jobs.reactions import Reaction, react
from sodam.nlp.sentiment import SentimentScorer, default_model_path


@lru_cache
def scorer() -> SentimentScorer:
    """The trained Korean model from the data dir when present, lexicons otherwise."""
    return SentimentScorer(default_model_path(get_settings().data_dir))


# One job scores every customer message stored since the last one ran (a few hundred at
# 500 msg/s), instead of one job per message competing with the message path.
SENTIMENT_BATCH = 500
SENTIMENT_BATCHES_PER_JOB = 20
# The scoring jobs (batch, sweep) run one at a time: two at once only waited for each other
# (their triggers lock the same conversations' sentiment rows), each holding a worker slot.
SENTIMENT_LOCK = "conversations.sentiment"


def _score_all(texts) -> list:
    return scorer().score_many(texts)


# One statement writes a batch's scores (the statement trigger of migration 0044 then refreshes
# each conversation's sentiment once); rows locked first in id order, as the search indexer's
# FOR SHARE takes them, and a row scored meanwhile (the sweep, another caller) is left alone.
_WRITE_SQL = text(
    "WITH v AS (SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:scores AS float8[]),"
    " CAST(:labels AS text[])) AS v(id, score, label)),"
    " locked AS (SELECT m.id FROM messages m JOIN v ON v.id = m.id"
    " WHERE m.sentiment_score IS NULL ORDER BY m.id FOR NO KEY UPDATE OF m)"
    " UPDATE messages m SET sentiment_score = v.score, sentiment_label = v.label"
    " FROM v JOIN locked ON locked.id = v.id WHERE m.id = v.id"
)


async def score_unscored_messages(
    *, batch: int = SENTIMENT_BATCH, max_batches: int = SENTIMENT_BATCHES_PER_JOB
) -> int:
    """Score customer text messages that have no sentiment yet, oldest first; returns how many."""
    done = 0
    for _ in range(max_batches):
        # Read without a transaction held open: the scoring below is CPU work, and a
        # transaction (with row locks) held across it kept the search indexer waiting.
        async with session_scope() as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT id, content FROM messages"
                        " WHERE sentiment_score IS NULL AND sender_type = 'contact' AND kind = 'text'"
                        " ORDER BY id LIMIT :n"
                    ),
                    {"n": batch},
                )
            ).all()
        if not rows:
            return done
        # CPU work off the event loop, yielding to it: the worker may share its process
        # with the web server (jobs/cpu.py).
        results = await map_chunks(_score_all, [r.content or "" for r in rows])
        async with session_scope() as session:
            # One scoring transaction at a time (SENTIMENT_LOCK orders the jobs; this, any other
            # caller): they refresh the same conversations' sentiment rows.
            await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('sodam.score_sentiment'))"))
            await session.execute(
                _WRITE_SQL,
                {
                    "ids": [r.id for r in rows],
                    "scores": [res.score for res in results],
                    "labels": [res.label for res in results],
                },
            )
            await session.commit()
        done += len(rows)
        if len(rows) < batch:
            return done
    return done


@job_app.task(name="conversations.score_sentiment", queue="nlp", lock=SENTIMENT_LOCK, retry=2)
async def score_sentiment(**args) -> int:
    """Store the sentiment of the customer messages not scored yet (the screen pop,
    segments and reports read it); deferred by the message function as a batch job."""
    return await score_unscored_messages()


react(
    "message.created",
    Reaction(
        "conversations.score_sentiment",
        when=lambda p: p["sender_type"] == "contact" and p["kind"] == "text",
        queue="nlp",
        lock_key=SENTIMENT_LOCK,
        batch_seconds=0.5,
    ),
)


@job_app.periodic(cron="* * * * *", periodic_id="conversations-sentiment-sweep")
@job_app.task(
    name="conversations.sentiment_sweep",
    queue="nlp",
    lock=SENTIMENT_LOCK,
    queueing_lock="conversations.sentiment_sweep",
    retry=RetryStrategy(max_attempts=3, wait=2),
)
async def sentiment_sweep(timestamp: int) -> int:
    """Every minute: score what a batch job missed (stored just as one finished, a restore)."""
    return await score_unscored_messages()


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

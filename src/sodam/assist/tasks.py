"""Jobs of agent assist: a resolved conversation's agent answers join the past-replies index
(queue `nlp`: the questions are encoded), and a workspace's backfill."""

from __future__ import annotations

from sodam.db.session import session_scope
from sodam.jobs.app import job_app
from sodam.jobs.reactions import Reaction, react


@job_app.task(name="assist.index_conversation", queue="nlp", retry=3)
async def index_conversation(**args) -> int:
    """Pair the conversation's agent answers with the customer's questions and store them."""
    from sodam.assist import index

    async with session_scope() as session:
        added = await index.index_conversation(session, conversation_id=int(args["conversation_id"]))
        await session.commit()
        return added


@job_app.task(name="assist.index_workspace", queue="nlp", retry=3)
async def index_workspace(**args) -> int:
    """Backfill: every resolved conversation of a workspace (already stored answers are skipped)."""
    from sodam.assist import index

    workspace_id = int(args["workspace_id"])
    added = 0
    async with session_scope() as session:
        ids = await index.resolved_conversation_ids(session, workspace_id=workspace_id)
    for conversation_id in ids:
        async with session_scope() as session:
            added += await index.index_conversation(session, conversation_id=conversation_id)
            await session.commit()
    return added


@job_app.periodic(cron="17 * * * *", periodic_id="assist-backfill")
@job_app.task(name="assist.backfill", queue="nlp", queueing_lock="assist.backfill")
async def backfill(timestamp: int) -> int:
    """Every hour: a workspace with resolved conversations but nothing in the past-replies index
    (an upgrade, the demo data, an import) gets its backfill queued, once."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from sodam.jobs.app import defer_in_tx

    async with session_scope() as session:
        missing = list(
            await session.scalars(
                text(
                    "SELECT w.id FROM workspaces w"
                    " WHERE EXISTS (SELECT 1 FROM conversations c JOIN messages m ON m.conversation_id = c.id"
                    "                WHERE c.workspace_id = w.id AND c.status = 'resolved'"
                    "                  AND m.sender_type = 'agent')"
                    "   AND NOT EXISTS (SELECT 1 FROM assist_replies r WHERE r.workspace_id = w.id)"
                )
            )
        )
        for workspace_id in missing:
            try:
                async with session.begin_nested():
                    await defer_in_tx(
                        session,
                        "assist.index_workspace",
                        {"workspace_id": workspace_id},
                        queue="nlp",
                        queueing_lock=f"assist-backfill-{workspace_id}",
                    )
            except IntegrityError:
                pass  # its backfill is already waiting in the queue
        await session.commit()
    return len(missing)


react(
    "conversation.resolved",
    Reaction("assist.index_conversation", queue="nlp", lock_key="assist-conversation-{conversation_id}"),
)

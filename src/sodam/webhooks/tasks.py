"""Jobs of the webhooks domain: an agent's reply (or the bot's answer) in an API inbox becomes
a delivery to the inbox's callback URL; a subscription paused for failing is announced to the
admins; old deliveries are purged."""

from __future__ import annotations

from sqlalchemy import text

from sodam.db.session import session_scope
from sodam.jobs.app import job_app
from sodam.jobs.reactions import Reaction, react


@job_app.task(name="webhooks.inbox_callback", queue="default", retry=3)
async def inbox_callback(**args) -> int:
    """Queue the delivery of one agent reply to its API inbox's callback URL (a re-run adds nothing)."""
    from sodam.webhooks import events

    async with session_scope() as session:
        made = await events.enqueue_callback(
            session, workspace_id=int(args["workspace_id"]), message_id=int(args["message_id"])
        )
        if made:
            await session.execute(text("SELECT pg_notify('sodam_webhooks', '')"))
        await session.commit()
        return made


react(
    "message.created",
    Reaction(
        "webhooks.inbox_callback",
        # Public agent replies and bot answers in API inbox conversations (create_message and the
        # agent reply path add the channel_type hint); never private notes.
        when=lambda p: (
            p.get("channel_type") == "api" and p["kind"] != "note" and p["sender_type"] in ("agent", "bot")
        ),
    ),
)


@job_app.task(name="webhooks.subscription_paused", queue="default", retry=3)
async def subscription_paused(workspace_id: int, subscription_id: int, failures: int) -> int:
    """Tell the workspace's admins (a console notice each) that a subscription was paused."""
    from sodam.notifications import service as notifications
    from sodam.webhooks import service

    async with session_scope() as session:
        try:
            sub = await service.get(session, workspace_id=workspace_id, subscription_id=subscription_id)
        except Exception:
            return 0
        told = await notifications.notify_admins(
            session,
            workspace_id=workspace_id,
            kind="webhook_paused",
            details={"subscription_id": sub.id, "url": sub.url, "failures": failures},
        )
        await session.commit()
        return told


@job_app.periodic(cron="17 3 * * *", periodic_id="webhooks-purge")
@job_app.task(name="webhooks.purge", queue="default", queueing_lock="webhooks.purge", retry=2)
async def purge(timestamp: int) -> int:
    """Every night: drop deliveries (and their tries) finished more than webhook_keep_days ago."""
    from sodam.config import get_settings

    async with session_scope() as session:
        result = await session.execute(
            text(
                "DELETE FROM webhook_deliveries WHERE status <> 'pending'"
                " AND coalesce(delivered_at, next_attempt_at) < now() - make_interval(days => :d)"
            ),
            {"d": get_settings().webhook_keep_days},
        )
        await session.commit()
        return result.rowcount or 0

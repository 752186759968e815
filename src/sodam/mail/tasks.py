"""The e-mail channel's jobs: an answer in an e-mail conversation is sent by the inbox's relay."""

from __future__ import annotations

import logging

from sodam.db.session import session_scope
from sodam.jobs.app import job_app
from sodam.jobs.reactions import Reaction, react
from sodam.mail import imap, outbound, service

log = logging.getLogger(__name__)


@job_app.task(name=outbound.DELIVER_TASK, queue="mail")
async def deliver_reply(**args) -> str:
    """Send one answer (retries are jobs of their own, scheduled with a growing wait)."""
    attempt = int(args.get("attempt") or 1)
    async with session_scope() as session:
        out = await outbound.prepare(session, message_id=int(args["message_id"]), attempt=attempt)
    if isinstance(out, str):
        return out
    try:
        await outbound.send(out)
    except Exception as exc:  # refused, unreachable, timed out: all retried the same way
        log.warning("mail for message %s not sent (try %d): %s", out.message_id, attempt, exc)
        async with session_scope() as session:
            return await outbound.failed(session, out, attempt=attempt, error=f"{type(exc).__name__}: {exc}")
    async with session_scope() as session:
        await outbound.sent(session, out, attempt=attempt)
    return "sent"


react(
    "message.created",
    Reaction(
        outbound.DELIVER_TASK,
        # Public answers (agent or bot) in e-mail inboxes only: the hint comes from the message path.
        when=lambda p: (
            p["sender_type"] in ("agent", "bot")
            and p["kind"] in ("text", "bot")
            and p.get("channel_type") == "email"
        ),
        queue="mail",
    ),
)


@job_app.periodic(cron="* * * * *", periodic_id="mail-imap-poll")
@job_app.task(name="mail.poll_imap", queue="mail", queueing_lock="mail.poll_imap")
async def poll_imap(timestamp: int) -> int:
    """Every minute: read the new mail of every inbox with an IMAP mailbox (one at a time)."""
    async with session_scope() as session:
        inbox_ids = await service.polled_inboxes(session)
    stored = 0
    for inbox_id in inbox_ids:
        stored += await imap.poll_inbox(inbox_id)
    return stored

"""KakaoTalk jobs: an answer (or 알림톡) in a KakaoTalk conversation, or sent there from another
conversation by the channel picker, goes to the dealer; the agent's "end consultation" is told
to the dealer; templates' approval states are synced."""

from __future__ import annotations

import logging

from sodam.db.session import session_scope
from sodam.jobs.app import job_app
from sodam.jobs.reactions import Reaction, react
from sodam.kakao import alimtalk, dealer, outbound, service
from sodam.kakao.models import KakaoChannel

log = logging.getLogger(__name__)


@job_app.task(name=outbound.DELIVER_TASK, queue=outbound.QUEUE)
async def deliver(**args) -> str:
    """Send one answer (retries are jobs of their own, with a growing wait)."""
    return await outbound.deliver(int(args["message_id"]), int(args.get("attempt") or 1))


react(
    "message.created",
    Reaction(
        outbound.DELIVER_TASK,
        # Public answers whose channel is KakaoTalk (the message path's adapter hint).
        when=lambda p: (
            p.get("adapter") == "kakao"
            and p["sender_type"] in ("agent", "bot")
            and p["kind"] in ("text", "bot")
        ),
        queue=outbound.QUEUE,
    ),
)


@job_app.task(name="kakao.end_session", queue=outbound.QUEUE, retry=5)
async def end_session(channel_id: int, user_key: str) -> str:
    """Tell the dealer the agent ended the consultation (retried on failure)."""
    async with session_scope() as session:
        channel = await session.get(KakaoChannel, channel_id)
        if channel is None:
            return "gone"
        client, sender_key = dealer.client_for(channel), channel.sender_key
    await client.end_session(sender_key=sender_key, user_key=user_key)
    return "ended"


@job_app.periodic(cron="*/10 * * * *", periodic_id="kakao-template-sync")
@job_app.task(name="kakao.sync_templates", queue=outbound.QUEUE, queueing_lock="kakao.sync_templates")
async def sync_templates(timestamp: int) -> int:
    """Every 10 minutes: every connected inbox's 알림톡 templates brought to the dealer's state."""
    from sqlalchemy import select

    async with session_scope() as session:
        ids = list(await session.scalars(select(KakaoChannel.id)))
    changed = 0
    for channel_id in ids:
        try:
            changed += await sync_one(channel_id)
        except dealer.DealerError as exc:
            log.warning("kakao templates of channel %s not synced: %s", channel_id, exc)
    return changed


async def sync_one(channel_id: int) -> int:
    async with session_scope() as session:
        channel = await session.get(KakaoChannel, channel_id)
        client, sender_key = dealer.client_for(channel), channel.sender_key
    found = await client.list_templates(sender_key=sender_key)
    async with session_scope() as session:
        channel = await session.get(KakaoChannel, channel_id)
        changed = await alimtalk.apply_sync(session, channel=channel, found=found)
        await session.commit()
        return changed


__all__ = ["deliver", "end_session", "service", "sync_one", "sync_templates"]

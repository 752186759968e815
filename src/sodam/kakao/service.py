"""Connecting an API inbox to KakaoTalk, and the 상담톡 sessions. Never commits."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from sodam.channels import service as inboxes
from sodam.channels.models import ChannelType, Inbox
from sodam.conversations import service as conversations
from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.kakao import rules
from sodam.kakao.models import KakaoChannel, KakaoSession

IDENTITY_CHANNEL = "kakao"  # contact_identities.channel_type; external_id "{inbox_id}:{user_key}"
SECRET_PREFIX = "kksec_"  # noqa: S105 - a prefix, not a secret


def now() -> datetime:
    return datetime.now(UTC)


def identity(inbox_id: int, user_key: str) -> str:
    return f"{inbox_id}:{user_key}"


async def connect(
    session: AsyncSession,
    *,
    workspace_id: int,
    inbox_id: int,
    sender_key: str,
    dealer_url: str,
    dealer_api_key: str,
) -> tuple[KakaoChannel, str]:
    """Connect an API inbox to a KakaoTalk channel profile; returns it and the secret the dealer
    signs its events with (shown once)."""
    inbox = await inboxes.get(session, workspace_id=workspace_id, inbox_id=inbox_id)
    if inbox.channel_type != ChannelType.api:
        raise Conflict("only an API inbox can be connected to KakaoTalk", code="not_an_api_inbox")
    if not dealer_url.startswith(("https://", "http://")):
        raise Invalid("dealer_url must be an http(s) address", code="invalid_dealer_url")
    if await session.scalar(select(KakaoChannel.id).where(KakaoChannel.inbox_id == inbox_id)):
        raise Conflict("this inbox is already connected to KakaoTalk", code="kakao_connected")
    if await session.scalar(select(KakaoChannel.id).where(KakaoChannel.sender_key == sender_key)):
        raise Conflict("this sender_key is connected to another inbox", code="sender_key_taken")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    channel = KakaoChannel(
        workspace_id=workspace_id,
        inbox_id=inbox_id,
        sender_key=sender_key,
        dealer_url=dealer_url,
        dealer_api_key=dealer_api_key,
        inbound_secret=secret,
    )
    session.add(channel)
    inbox.settings = {**(inbox.settings or {}), "adapter": "kakao"}
    flag_modified(inbox, "settings")
    await session.flush()
    return channel, secret


async def channel_of(session: AsyncSession, *, workspace_id: int, inbox_id: int) -> KakaoChannel:
    """This workspace's inbox's KakaoTalk connection (404 `not_found` for another workspace's
    inbox, like any id; 404 `not_a_kakao_inbox` for one of ours not connected)."""
    await inboxes.get(session, workspace_id=workspace_id, inbox_id=inbox_id)
    channel = await session.scalar(
        select(KakaoChannel).where(
            KakaoChannel.workspace_id == workspace_id, KakaoChannel.inbox_id == inbox_id
        )
    )
    if channel is None:
        raise NotFound("this inbox is not connected to KakaoTalk", code="not_a_kakao_inbox")
    return channel


async def channel_for_events(session: AsyncSession, *, inbox_id: int) -> KakaoChannel | None:
    """The connection a dealer posts to (any workspace: the signature is what authenticates)."""
    return await session.scalar(select(KakaoChannel).where(KakaoChannel.inbox_id == inbox_id))


async def session_row(
    session: AsyncSession, *, workspace_id: int, inbox_id: int, contact_id: int
) -> KakaoSession | None:
    return await session.scalar(
        select(KakaoSession)
        .where(
            KakaoSession.workspace_id == workspace_id,
            KakaoSession.inbox_id == inbox_id,
            KakaoSession.contact_id == contact_id,
        )
        .order_by(KakaoSession.id.desc())
        .limit(1)
    )


async def lock_session(
    session: AsyncSession, *, workspace_id: int, inbox_id: int, user_key: str, contact_id: int
) -> KakaoSession:
    """The (inbox, user_key) session row, created if new, locked for this transaction."""
    await session.execute(
        pg_insert(KakaoSession)
        .values(workspace_id=workspace_id, inbox_id=inbox_id, user_key=user_key, contact_id=contact_id)
        .on_conflict_do_nothing(constraint="uq_kakao_sessions_inbox_user")
    )
    return await session.scalar(
        select(KakaoSession)
        .where(KakaoSession.inbox_id == inbox_id, KakaoSession.user_key == user_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def is_open(row: KakaoSession | None, *, at: datetime | None = None) -> bool:
    if row is None:
        return False
    return rules.session_open(
        opened_at=row.opened_at,
        last_user_message_at=row.last_user_message_at,
        ended_at=row.ended_at,
        blocked=row.blocked,
        now=at or now(),
    )


def state(row: KakaoSession | None, *, at: datetime | None = None) -> dict:
    """What the console and API show: open, until when, or why it is closed."""
    if row is None:
        return {"open": False, "reason": "never_opened"}
    if is_open(row, at=at):
        return {
            "open": True,
            "expires_at": rules.expires_at(
                opened_at=row.opened_at, last_user_message_at=row.last_user_message_at
            ),
        }
    if row.blocked:
        reason = "blocked"
    elif row.ended_at is not None and row.opened_at is not None and row.ended_at >= row.opened_at:
        reason = f"ended_by_{row.ended_by or 'user'}"
    elif row.opened_at is None:
        reason = "never_opened"
    else:
        reason = "expired"
    return {"open": False, "reason": reason}


async def end_by_agent(
    session: AsyncSession, *, workspace_id: int, conversation_id: int, agent_id: int | None
) -> tuple[KakaoChannel, KakaoSession]:
    """The agent's "end consultation": the session closes (the dealer is told by a job)."""
    conversation = await conversations.get(
        session, workspace_id=workspace_id, conversation_id=conversation_id
    )
    channel = await channel_of(session, workspace_id=workspace_id, inbox_id=conversation.inbox_id)
    row = await session_row(
        session, workspace_id=workspace_id, inbox_id=conversation.inbox_id, contact_id=conversation.contact_id
    )
    if not is_open(row):
        raise Conflict("the KakaoTalk session is not open", code="kakao_session_closed")
    row.ended_at = now()
    row.ended_by = "agent"
    await conversations.log_event(
        session,
        workspace_id=workspace_id,
        conversation_id=conversation.id,
        type="kakao.session",
        actor_type="agent",
        actor_id=agent_id,
        data={"state": "ended", "by": "agent"},
    )
    await session.flush()
    return channel, row


async def inbox(session: AsyncSession, *, workspace_id: int, inbox_id: int) -> Inbox:
    return await inboxes.get(session, workspace_id=workspace_id, inbox_id=inbox_id)

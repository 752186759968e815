"""Mentions: take one in (idempotently), list, score and alert, convert into a conversation,
dismiss. Services never commit: the caller owns the transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels import api_inbound
from sodam.channels.models import Inbox
from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.jobs.app import defer_in_tx
from sodam.mentions.models import Mention, MentionAlert

# The inbox setting `mention_alert_threshold`: this many negative mentions within an hour
# tell the 매니저 (once per clock hour).
DEFAULT_ALERT_THRESHOLD = 5
STATUSES = ("new", "converted", "dismissed")
SENTIMENTS = ("negative", "neutral", "positive")


def _checked_url(url: str | None) -> str | None:
    """Only http(s) links are kept: the console renders them as links."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("url must be an http(s) URL", code="invalid_url", details={"field": "url"})
    return url.strip()


async def take_in(
    session: AsyncSession,
    *,
    inbox: Inbox,
    external_id: str,
    platform: str,
    author_handle: str,
    content: str,
    author_name: str | None = None,
    url: str | None = None,
    posted_at: datetime | None = None,
) -> tuple[Mention, bool]:
    """Store a mention once per (inbox, external_id); returns (mention, created). The scoring
    job (sentiment, then the alert check) is deferred in the same transaction."""
    if not content.strip():
        raise Invalid("a mention needs its text", code="empty_mention", details={"field": "content"})
    if "\x00" in content:
        raise Invalid("text contains the NUL character", code="invalid_content", details={"field": "content"})
    inserted = await session.scalar(
        pg_insert(Mention)
        .values(
            workspace_id=inbox.workspace_id,
            inbox_id=inbox.id,
            external_id=external_id,
            platform=platform.strip().lower(),
            author_handle=author_handle.strip(),
            author_name=(author_name or "").strip() or None,
            url=_checked_url(url),
            content=content,
            posted_at=posted_at,
        )
        .on_conflict_do_nothing(constraint="uq_mentions_inbox_external")
        .returning(Mention.id)
    )
    if inserted is None:
        stored = await session.scalar(
            select(Mention).where(Mention.inbox_id == inbox.id, Mention.external_id == external_id)
        )
        return stored, False
    await defer_in_tx(session, "mentions.score", {"mention_id": inserted}, queue="nlp")
    return await session.get(Mention, inserted), True


async def get(session: AsyncSession, *, workspace_id: int, mention_id: int) -> Mention:
    mention = await session.scalar(
        select(Mention).where(Mention.id == mention_id, Mention.workspace_id == workspace_id)
    )
    if mention is None:
        raise NotFound("mention not found")
    return mention


async def list_(
    session: AsyncSession,
    *,
    workspace_id: int,
    sentiment: str | None = None,
    status: str | None = None,
    inbox_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Mention]:
    """Newest first; `before_id` pages on."""
    query = select(Mention).where(Mention.workspace_id == workspace_id)
    if sentiment:
        query = query.where(Mention.sentiment_label == sentiment)
    if status:
        query = query.where(Mention.status == status)
    if inbox_id:
        query = query.where(Mention.inbox_id == inbox_id)
    if before_id:
        query = query.where(Mention.id < before_id)
    return list(await session.scalars(query.order_by(Mention.id.desc()).limit(limit)))


async def counts(session: AsyncSession, *, workspace_id: int, since: datetime) -> dict[str, int]:
    """Mentions since a time by sentiment label ("unscored" for those not scored yet)."""
    label = func.coalesce(Mention.sentiment_label, "unscored")
    rows = await session.execute(
        select(label, func.count())
        .where(Mention.workspace_id == workspace_id, Mention.created_at >= since)
        .group_by(label)
    )
    return {label: n for label, n in rows}


def alert_threshold(inbox: Inbox) -> int:
    value = (inbox.settings or {}).get("mention_alert_threshold", DEFAULT_ALERT_THRESHOLD)
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return DEFAULT_ALERT_THRESHOLD


async def check_alert(
    session: AsyncSession, *, inbox: Inbox, now: datetime | None = None
) -> MentionAlert | None:
    """When the inbox's negative mentions of the last hour reach its threshold, record this
    clock hour's alert (once) and tell the 매니저; returns the new alert, else None."""
    now = now or datetime.now(UTC)
    negative = await session.scalar(
        select(func.count()).where(
            Mention.inbox_id == inbox.id,
            Mention.sentiment_label == "negative",
            Mention.created_at >= now - timedelta(hours=1),
        )
    )
    if negative < alert_threshold(inbox):
        return None
    hour = now.replace(minute=0, second=0, microsecond=0)
    alert_id = await session.scalar(
        pg_insert(MentionAlert)
        .values(workspace_id=inbox.workspace_id, inbox_id=inbox.id, hour=hour, negative_count=negative)
        .on_conflict_do_nothing(constraint="uq_mention_alerts_inbox_hour")
        .returning(MentionAlert.id)
    )
    if alert_id is None:
        return None
    from sodam.notifications import service as notifications

    await notifications.notify_managers(
        session,
        workspace_id=inbox.workspace_id,
        kind="mentions_negative",
        details={"inbox_id": inbox.id, "inbox": inbox.name, "count": negative},
    )
    return await session.get(MentionAlert, alert_id)


async def convert(session: AsyncSession, *, workspace_id: int, mention_id: int) -> Mention:
    """Open a conversation in the mention's API inbox for its author, with the post as the
    first message (agents' replies go to the inbox's callback URL like any API conversation).
    Converting twice returns the same conversation."""
    mention = await session.scalar(
        select(Mention)
        .where(Mention.id == mention_id, Mention.workspace_id == workspace_id)
        .with_for_update()
    )
    if mention is None:
        raise NotFound("mention not found")
    if mention.conversation_id is not None:
        return mention
    inbox = await api_inbound.api_inbox(session, workspace_id=workspace_id, inbox_id=mention.inbox_id)
    content = mention.content if not mention.url else f"{mention.content}\n\n{mention.url}"
    posted = await api_inbound.open_conversation(
        session,
        inbox=inbox,
        source_id=f"{mention.platform}:{mention.author_handle}",
        content=content,
        name=mention.author_name or mention.author_handle,
        key=f"mention-{mention.id}",
        digest=api_inbound.request_hash("mention", {"id": mention.id}),
    )
    await session.execute(
        update(Mention)
        .where(Mention.id == mention.id)
        .values(status="converted", conversation_id=posted.conversation.id)
    )
    await session.refresh(mention)
    return mention


async def dismiss(session: AsyncSession, *, workspace_id: int, mention_id: int) -> Mention:
    mention = await get(session, workspace_id=workspace_id, mention_id=mention_id)
    if mention.status == "converted":
        raise Conflict("a converted mention stays with its conversation", code="mention_converted")
    mention.status = "dismissed"
    await session.flush()
    return mention


def public(mention: Mention) -> dict[str, Any]:
    return {
        "id": mention.id,
        "inbox_id": mention.inbox_id,
        "external_id": mention.external_id,
        "platform": mention.platform,
        "author_handle": mention.author_handle,
        "author_name": mention.author_name,
        "url": mention.url,
        "content": mention.content,
        "posted_at": mention.posted_at,
        "sentiment_score": mention.sentiment_score,
        "sentiment_label": mention.sentiment_label,
        "status": mention.status,
        "conversation_id": mention.conversation_id,
        "created_at": mention.created_at,
    }

"""Webhook subscriptions and deliveries. Services never commit: callers own the transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import ChannelType, Inbox
from sodam.config import get_settings
from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.webhooks import signing, ssrf
from sodam.webhooks.models import Attempt, Delivery, OutboxEvent, Subscription

# The events a workspace can subscribe to. Later domains add theirs with register_event_type
# (and publish them with publish()); the conversation log's and new contacts' come from the
# database's triggers (migration 0019).
EVENT_TYPES: list[str] = [
    "conversation.created",
    "conversation.assigned",
    "conversation.resolved",
    "message.created",
    "contact.created",
]
CALLBACK_EVENTS = ["message.created"]


def register_event_type(event_type: str) -> None:
    """Make an event type subscribable (e.g. "survey.answered" from the surveys domain)."""
    if event_type not in EVENT_TYPES:
        EVENT_TYPES.append(event_type)


def _now() -> datetime:
    return datetime.now(UTC)


def envelope(
    *, event_id: str, type: str, created_at: datetime, workspace_id: int, data: dict[str, Any]
) -> str:
    """The exact body every try of a delivery sends (compact JSON, UTF-8 text as is)."""
    return json.dumps(
        {
            "id": event_id,
            "type": type,
            "created_at": created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "workspace_id": workspace_id,
            "data": data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


def _clean_events(events: list[str]) -> list[str]:
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise Invalid(
            "unknown event types",
            code="unknown_event_type",
            details={"unknown": unknown, "known": EVENT_TYPES},
        )
    if not events:
        raise Invalid("choose at least one event", code="no_events")
    return list(dict.fromkeys(events))


async def _callback_inbox(session: AsyncSession, *, workspace_id: int, inbox_id: int) -> Inbox:
    inbox = await session.scalar(
        select(Inbox).where(Inbox.workspace_id == workspace_id, Inbox.id == inbox_id)
    )
    if inbox is None:
        raise NotFound("inbox not found")
    if inbox.channel_type != ChannelType.api:
        raise Invalid("only an API inbox has a callback URL", code="not_an_api_inbox")
    return inbox


async def create(
    session: AsyncSession,
    *,
    workspace_id: int,
    url: str,
    events: list[str] | None = None,
    description: str = "",
    inbox_id: int | None = None,
) -> tuple[Subscription, str]:
    """Create a subscription (or an API inbox's callback); returns it and its secret (shown once)."""
    await ssrf.check_url(url, allow=get_settings().webhook_allow_networks)
    if inbox_id is not None:
        await _callback_inbox(session, workspace_id=workspace_id, inbox_id=inbox_id)
        taken = await session.scalar(select(Subscription.id).where(Subscription.inbox_id == inbox_id))
        if taken is not None:
            raise Conflict(
                "this inbox already has a callback URL", code="callback_exists", details={"id": taken}
            )
        events = CALLBACK_EVENTS
    secret = signing.new_secret()
    subscription = Subscription(
        workspace_id=workspace_id,
        inbox_id=inbox_id,
        url=url,
        secret=secret,
        events=_clean_events(list(events or [])),
        description=(description or "").strip()[:200],
        status="active",
        consecutive_failures=0,
    )
    session.add(subscription)
    await session.flush()
    return subscription, secret


async def get(session: AsyncSession, *, workspace_id: int, subscription_id: int) -> Subscription:
    """A subscription of this workspace."""
    found = await session.scalar(
        select(Subscription).where(
            Subscription.workspace_id == workspace_id, Subscription.id == subscription_id
        )
    )
    if found is None:
        raise NotFound("webhook subscription not found")
    return found


async def list_(session: AsyncSession, *, workspace_id: int) -> list[Subscription]:
    """Every subscription of a workspace, oldest first."""
    rows = await session.scalars(
        select(Subscription).where(Subscription.workspace_id == workspace_id).order_by(Subscription.id)
    )
    return list(rows)


async def update_(
    session: AsyncSession,
    *,
    workspace_id: int,
    subscription_id: int,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    status: str | None = None,
) -> Subscription:
    """Change a subscription; setting it active again resumes it (its failure count restarts)."""
    sub = await get(session, workspace_id=workspace_id, subscription_id=subscription_id)
    if url is not None and url != sub.url:
        await ssrf.check_url(url, allow=get_settings().webhook_allow_networks)
        sub.url = url
    if events is not None and sub.inbox_id is None:
        sub.events = _clean_events(events)
    if description is not None:
        sub.description = description.strip()[:200]
    if status is not None and status != sub.status:
        if status not in ("active", "paused"):
            raise Invalid("status is active or paused", code="invalid_status")
        sub.status = status
        sub.consecutive_failures = 0
        sub.paused_at = _now() if status == "paused" else None
    await session.flush()
    return sub


async def rotate_secret(
    session: AsyncSession, *, workspace_id: int, subscription_id: int
) -> tuple[Subscription, str]:
    """A new signing secret (the old one stops at once); returns it (shown once)."""
    sub = await get(session, workspace_id=workspace_id, subscription_id=subscription_id)
    sub.secret = signing.new_secret()
    sub.secret_rotated_at = _now()
    await session.flush()
    return sub, sub.secret


async def delete(session: AsyncSession, *, workspace_id: int, subscription_id: int) -> None:
    """Delete a subscription and its deliveries."""
    sub = await get(session, workspace_id=workspace_id, subscription_id=subscription_id)
    await session.delete(sub)
    await session.flush()


def delivery_rows(
    *,
    workspace_id: int,
    subscription_ids: list[int],
    event_key: str,
    type: str,
    data: dict[str, Any],
    occurred_at: datetime | None = None,
) -> list[dict[str, Any]]:
    """The deliveries of one event, one per subscription (all with the same body and id)."""
    event_id = f"evt_{event_key}"
    body = envelope(
        event_id=event_id, type=type, created_at=occurred_at or _now(), workspace_id=workspace_id, data=data
    )
    tries = get_settings().webhook_max_attempts
    return [
        {
            "workspace_id": workspace_id,
            "subscription_id": sid,
            "event_id": event_id,
            "event_type": type,
            "body": body,
            "max_attempts": tries,
        }
        for sid in subscription_ids
    ]


_INSERT_DELIVERIES = text(
    "INSERT INTO webhook_deliveries (workspace_id, subscription_id, event_id, event_type, body, max_attempts)"
    " SELECT * FROM unnest(CAST(:ws AS bigint[]), CAST(:sub AS bigint[]), CAST(:eid AS text[]),"
    " CAST(:etype AS text[]), CAST(:body AS text[]), CAST(:tries AS int[]))"
    " ON CONFLICT ON CONSTRAINT uq_webhook_deliveries_subscription_event DO NOTHING RETURNING id"
)


async def insert_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Store deliveries in one statement; one already there for its (subscription, event) is
    left alone (a re-run adds nothing). Returns how many are new."""
    if not rows:
        return 0
    result = await session.execute(
        _INSERT_DELIVERIES,
        {
            "ws": [r["workspace_id"] for r in rows],
            "sub": [r["subscription_id"] for r in rows],
            "eid": [r["event_id"] for r in rows],
            "etype": [r["event_type"] for r in rows],
            "body": [r["body"] for r in rows],
            "tries": [r["max_attempts"] for r in rows],
        },
    )
    return len(result.all())


async def enqueue(
    session: AsyncSession,
    *,
    workspace_id: int,
    subscription_ids: list[int],
    event_key: str,
    type: str,
    data: dict[str, Any],
    occurred_at: datetime | None = None,
) -> int:
    """One delivery per subscription for this event (again for the same key: nothing); returns how many."""
    rows = delivery_rows(
        workspace_id=workspace_id,
        subscription_ids=subscription_ids,
        event_key=event_key,
        type=type,
        data=data,
        occurred_at=occurred_at,
    )
    return await insert_deliveries(session, rows)


async def publish(
    session: AsyncSession, *, workspace_id: int, type: str, event_key: str, data: dict[str, Any]
) -> bool:
    """Queue an event of any registered type for the workspace's subscriptions (in the caller's
    transaction; the delivery worker fans it out). False when nobody subscribes to it."""
    wanted = await session.scalar(
        select(func.count())
        .select_from(Subscription)
        .where(
            Subscription.workspace_id == workspace_id,
            Subscription.inbox_id.is_(None),
            Subscription.status == "active",
            Subscription.events.any(type),
        )
    )
    if not wanted:
        return False
    session.add(OutboxEvent(workspace_id=workspace_id, event_key=event_key, type=type, ref={"data": data}))
    await session.flush()
    return True


async def deliveries(
    session: AsyncSession,
    *,
    workspace_id: int,
    subscription_id: int | None = None,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Delivery]:
    """Deliveries, newest first (optionally of one subscription, in one status)."""
    stmt = select(Delivery).where(Delivery.workspace_id == workspace_id)
    if subscription_id is not None:
        stmt = stmt.where(Delivery.subscription_id == subscription_id)
    if status is not None:
        stmt = stmt.where(Delivery.status == status)
    if before_id is not None:
        stmt = stmt.where(Delivery.id < before_id)
    return list(await session.scalars(stmt.order_by(Delivery.id.desc()).limit(limit)))


async def get_delivery(session: AsyncSession, *, workspace_id: int, delivery_id: int) -> Delivery:
    """A delivery of this workspace."""
    found = await session.scalar(
        select(Delivery).where(Delivery.workspace_id == workspace_id, Delivery.id == delivery_id)
    )
    if found is None:
        raise NotFound("webhook delivery not found")
    return found


async def attempts(session: AsyncSession, *, workspace_id: int, delivery_id: int) -> list[Attempt]:
    """Every try of a delivery, in order."""
    rows = await session.scalars(
        select(Attempt)
        .where(Attempt.workspace_id == workspace_id, Attempt.delivery_id == delivery_id)
        .order_by(Attempt.id)
    )
    return list(rows)


async def redeliver(session: AsyncSession, *, workspace_id: int, delivery_id: int) -> Delivery:
    """Send a delivery again now, with the same id and body (a fresh set of tries)."""
    delivery = await get_delivery(session, workspace_id=workspace_id, delivery_id=delivery_id)
    if delivery.status == "pending" and delivery.attempts == 0:
        return delivery
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery.id, Delivery.workspace_id == workspace_id)
        .values(
            status="pending",
            max_attempts=Delivery.attempts + get_settings().webhook_max_attempts,
            next_attempt_at=func.now(),
        )
    )
    await session.refresh(delivery)
    await session.execute(text("SELECT pg_notify('sodam_webhooks', '')"))
    return delivery


async def counts(session: AsyncSession, *, workspace_id: int) -> dict[str, int]:
    """Deliveries per status (the console's summary)."""
    rows = await session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.workspace_id == workspace_id)
        .group_by(Delivery.status)
    )
    return {"pending": 0, "delivered": 0, "dead": 0, **{status: n for status, n in rows.all()}}

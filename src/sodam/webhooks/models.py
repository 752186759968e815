"""Outgoing webhooks: subscriptions (a workspace's endpoints, an API inbox's callback URL),
deliveries (one per subscription and event, the exact body every try sends), attempts, and
the outbox the database's triggers fill (see migration 0019)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class Subscription(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "webhook_subscriptions"
    __audit__ = "webhook_subscription"
    __audit_ignore__ = ("consecutive_failures", "secret")
    # Set: the callback URL of this API inbox (agents' replies); unset: a workspace endpoint.
    inbox_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    # Signs every delivery (HMAC-SHA256); shown once when created or rotated, never listed.
    secret: Mapped[str] = mapped_column(String(80))
    events: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list)
    description: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | paused
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    secret_rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Delivery(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "webhook_deliveries"
    subscription_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    # The body's `id` and the Sodam-Webhook-Id header: the receiver's idempotency key.
    event_id: Mapped[str] = mapped_column(String(60))
    event_type: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Attempt(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "webhook_attempts"
    delivery_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(String(300))
    response_snippet: Mapped[str | None] = mapped_column(String(500))


class OutboxEvent(IdMixin, WorkspaceScoped, Base):
    """Written by triggers (conversation log, new contacts) or publish(); consumed by the worker."""

    __tablename__ = "webhook_outbox"
    event_key: Mapped[str] = mapped_column(String(60))
    type: Mapped[str] = mapped_column(String(60))
    ref: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

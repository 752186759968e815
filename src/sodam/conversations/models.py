"""Conversations, messages and the append-only conversation event log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class Status(str, enum.Enum):
    open = "open"
    pending = "pending"
    snoozed = "snoozed"
    resolved = "resolved"


class Priority(str, enum.Enum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"


class Direction(str, enum.Enum):
    incoming = "incoming"
    outgoing = "outgoing"
    internal = "internal"


class MessageKind(str, enum.Enum):
    text = "text"
    note = "note"
    system = "system"
    bot = "bot"


class SenderType(str, enum.Enum):
    contact = "contact"
    agent = "agent"
    bot = "bot"
    system = "system"


class Conversation(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "conversations"
    __audit__ = "conversation"
    __audit_ignore__ = (
        "last_seq",
        "last_message_at",
        "last_message_preview",
        "redacted_at",
        "queue_rank",
        "route",
        "assigned_at",
        "skipped_agent_ids",
        "first_response_due_at",
        "next_response_due_at",
        "resolution_due_at",
        "sla_policy_id",
        "sla_clocks",
        "sla_awaiting_customer",
    )
    __audit_values__ = ("status", "priority", "assignee_id", "team_id")
    __table_args__ = (
        Index("ix_conversations_ws_status_last", "workspace_id", "status", "last_message_at"),
        Index("ix_conversations_contact_inbox", "contact_id", "inbox_id"),
        Index("ix_conversations_ws_status_updated", "workspace_id", "status", "updated_at"),
    )
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"))
    status: Mapped[Status] = mapped_column(Enum(Status, name="conversation_status"), default=Status.open)
    priority: Mapped[Priority] = mapped_column(
        Enum(Priority, name="conversation_priority"), default=Priority.none
    )
    assignee_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("teams.id", ondelete="SET NULL"))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list, server_default="{}")
    language: Mapped[str | None] = mapped_column(String(8))
    # The bot is handling it: not unassigned work (no SLA clock, no queue place) until the
    # handoff, an agent's reply or an assignment. Set by a trigger from the inbox at insert.
    bot_handling: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # When it entered the human queue (handoff, or creation without the bot): clocks start here.
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Per-conversation sequence: taken under the row lock, so seq order is commit order
    # and a reconnecting client asks for "everything after seq N" without gaps.
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_message_preview: Mapped[str | None] = mapped_column(String(200))
    # Set when the messages were redacted (erasure on request, or retention's anonymise).
    redacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Snoozed (보류) until this time: a job opens it again then (or the customer writes first).
    snoozed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Routing (routing/): the queue is ordered by rank (SLA at risk, VIP, priority), then FIFO
    # by queued_at; `route` keeps what routing required and why; agents who let it wait or went
    # offline are not offered it again.
    queue_rank: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    route: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    skipped_agent_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list, server_default="{}")
    # SLA due times (sla domain, recomputed by a job): the console colours and sorts by
    # them, routing orders its queue by them. sla_clocks: each running clock's start, due,
    # amber time and whether it was breached.
    first_response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A foreign key to sla_policies in the database (ON DELETE SET NULL); not declared here,
    # so this domain's models need not load the sla domain.
    sla_policy_id: Mapped[int | None] = mapped_column(BigInteger)
    sla_clocks: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    sla_awaiting_customer: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # The e-mail subject (e-mail conversations): shown as the conversation's title.
    subject: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Message(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_seq", "conversation_id", "seq", unique=True),
        # Idempotency: a retried send with the same client_id returns the stored message.
        Index(
            "uq_messages_inbox_client_id",
            "inbox_id",
            "client_id",
            unique=True,
            postgresql_where=text("client_id IS NOT NULL"),
        ),
    )
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    direction: Mapped[Direction] = mapped_column(Enum(Direction, name="message_direction"))
    kind: Mapped[MessageKind] = mapped_column(Enum(MessageKind, name="message_kind"))
    sender_type: Mapped[SenderType] = mapped_column(Enum(SenderType, name="sender_type"))
    sender_id: Mapped[int | None] = mapped_column(BigInteger)
    content: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(String(64))
    # Structured extras a channel may render: quick replies, article links, lead form.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Scored after commit by a job (never on the message path).
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    sentiment_label: Mapped[str | None] = mapped_column(String(10))


class ConversationEvent(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """Append-only (a trigger refuses UPDATE and DELETE): analytics and audit read it."""

    __tablename__ = "conversation_events"
    __table_args__ = (Index("ix_conversation_events_conv", "conversation_id", "id"),)
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(40))
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class ConversationRead(WorkspaceScoped, Base):
    """How far an agent has read a conversation: the list shows an unread dot when a
    customer message has a higher seq."""

    __tablename__ = "conversation_reads"
    __table_args__ = (Index("ix_conversation_reads_agent", "agent_id"),)
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    last_read_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

"""Phone lines (an IVR per phone inbox), calls, the webhook's answered steps, incident
announcements and callbacks (전화 예약)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.campaigns.models import Announcement  # noqa: F401  (the one model; the IVR reads it)
from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped

OUTCOMES = ("answered", "voicemail", "abandoned", "forwarded", "callback_requested")
CALLBACK_STATUSES = ("scheduled", "due", "done", "no_answer", "cancelled")
CALLBACK_OUTCOMES = ("done", "no_answer", "rescheduled")


class PhoneLine(TimestampMixin, WorkspaceScoped, Base):
    """A phone inbox's line: its number, the provider's auth token (signs every webhook
    request) and the IVR menu tree."""

    __tablename__ = "phone_lines"
    __audit__ = "phone_line"
    __audit_ignore__ = ("auth_token",)
    __audit_target_id__ = "inbox_id"
    inbox_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[str | None] = mapped_column(String(40))
    # The provider account's auth token (Twilio: Auth Token): never in a URL nor in an API answer.
    auth_token: Mapped[str] = mapped_column(String(200))
    ivr: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # The team a caller who presses 0 (or gets lost in the menu) waits for; None: anyone.
    team_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("teams.id", ondelete="SET NULL"))
    # Callbacks one 30-minute slot can hold; None: the agents who take phone work (see slots.py).
    callbacks_per_slot: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Call(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("inbox_id", "call_sid", name="uq_calls_inbox_call_sid"),
        Index("ix_calls_contact", "contact_id", "started_at"),
    )
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    call_sid: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="SET NULL")
    )
    direction: Mapped[str] = mapped_column(String(10), default="inbound")
    from_number: Mapped[str] = mapped_column(String(40), default="")
    to_number: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(20), default="ringing")
    language: Mapped[str] = mapped_column(String(8), default="ko")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_s: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(20))
    # The menu path the caller took: [{"node": "main", "digits": "2"}, ...].
    path: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)


class CallStep(WorkspaceScoped, Base):
    """A webhook request already answered (CallSid + step): a provider's retry gets the same
    TwiML back and changes nothing."""

    __tablename__ = "call_steps"
    inbox_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    call_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    step: Mapped[str] = mapped_column(String(300), primary_key=True)
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Callback(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A callback (전화 예약): a customer asked to be called at a slot."""

    __tablename__ = "callbacks"
    __audit__ = "callback"
    __audit_values__ = ("status",)
    __table_args__ = (
        Index("ix_callbacks_inbox_slot", "inbox_id", "slot_at"),
        Index("ix_callbacks_contact", "contact_id"),
    )
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(40))
    slot_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    source: Mapped[str] = mapped_column(String(10))  # widget | ivr | api
    language: Mapped[str] = mapped_column(String(8), default="ko")
    note: Mapped[str] = mapped_column(Text, default="")
    team_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("teams.id", ondelete="SET NULL"))
    # Where the customer asked (the widget conversation): confirmations and reminders go there.
    origin_conversation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="SET NULL")
    )
    # The callback task an agent works: a conversation in the phone inbox's human queue.
    task_conversation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="SET NULL")
    )
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Every outcome recorded: [{"outcome", "at", "agent_id", "note", "slot_at"}].
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

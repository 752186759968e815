"""A browser call (영상/음성 통화) between a widget customer and an agent, on one conversation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped

KINDS = ("video", "voice")
# scheduled (booked at a slot) → ringing → active → ended; or ringing → ended (declined, missed)
STATUSES = ("scheduled", "ringing", "active", "ended", "cancelled")
OUTCOMES = ("completed", "declined", "missed", "failed")
LIVE = ("ringing", "active")


class WebCall(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "web_calls"
    __table_args__ = (
        Index("ix_web_calls_conversation", "conversation_id", "id"),
        Index("ix_web_calls_contact", "contact_id", "created_at"),
        Index("ix_web_calls_inbox_slot", "inbox_id", "scheduled_at"),
        Index(
            "ix_web_calls_in_play",
            "status",
            "scheduled_at",
            postgresql_where=text("status IN ('active', 'scheduled')"),
        ),
    )
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"))
    # The agent on the call (None while a customer's request waits for one).
    agent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(8), default="video")
    initiator: Mapped[str] = mapped_column(String(8))  # agent | contact
    status: Mapped[str] = mapped_column(String(12), default="ringing")
    outcome: Mapped[str | None] = mapped_column(String(12))
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ringing_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # answered
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A connected call's last sign of life from either side (the pages send one every 20 s):
    # a call both pages left without an end frame is ended by the sweep from this.
    alive_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # a booked call's
    duration_s: Mapped[int | None] = mapped_column(Integer)
    ended_by: Mapped[str | None] = mapped_column(String(8))  # agent | contact | system
    language: Mapped[str] = mapped_column(String(8), default="ko")

"""The bot's state per conversation, and its strictly counted outcome."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Enum, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class BotState(str, enum.Enum):
    listening = "listening"  # waiting for a question
    awaiting_feedback = "awaiting_feedback"  # answered; asked "도움이 되었나요?"
    offering_choices = "offering_choices"  # offered up to three articles
    collecting_lead = "collecting_lead"  # asking name / e-mail / phone before handoff
    handed_off = "handed_off"  # a person has it now; the bot stays quiet
    resolved = "resolved"


class BotOutcome(str, enum.Enum):
    confirmed = "confirmed"  # the customer said it helped
    assumed = "assumed"  # no further message within the window after an answer
    handed_off = "handed_off"


class BotConversation(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "bot_conversations"
    __table_args__ = (
        Index("uq_bot_conversations_conversation", "conversation_id", unique=True),
        Index("ix_bot_conversations_ws_outcome", "workspace_id", "outcome", "outcome_at"),
    )
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    state: Mapped[BotState] = mapped_column(Enum(BotState, name="bot_state"), default=BotState.listening)
    language: Mapped[str | None] = mapped_column(String(8))
    intent: Mapped[str | None] = mapped_column(String(80))
    last_question: Mapped[str | None] = mapped_column(Text)
    answered_article_id: Mapped[int | None] = mapped_column(BigInteger)
    offered_article_ids: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), default=list, server_default="{}"
    )
    lead: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    lead_pending: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list, server_default="{}")
    handoff_reason: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[BotOutcome | None] = mapped_column(Enum(BotOutcome, name="bot_outcome"))
    outcome_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answers: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

"""The bot's state per conversation, and its strictly counted outcome."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    func,
)
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
    # Articles already answered for the current question ("didn't help" moves past them).
    tried_article_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


PROPOSAL_KINDS = ("alternate_question", "draft_article")
PROPOSAL_STATUSES = ("pending", "accepted", "rejected")


class BotLearningProposal(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """What a person's answer to a handed-off question could teach the knowledge base.

    At most one per conversation (the bot hands a conversation off once), so a
    retried job never proposes twice; a 매니저 accepts or rejects it.
    """

    __tablename__ = "bot_learning_proposals"
    __audit__ = "bot_proposal"
    __audit_ignore__ = ("decided_by", "decided_at")
    __audit_values__ = ("status",)
    __mapper_args__ = {"eager_defaults": True}
    __table_args__ = (
        CheckConstraint("kind IN ('alternate_question', 'draft_article')", name="kind"),
        CheckConstraint("status IN ('pending', 'accepted', 'rejected')", name="status"),
        Index("uq_bot_learning_proposals_conversation", "conversation_id", unique=True),
        Index("ix_bot_learning_proposals_ws_status", "workspace_id", "status", "id"),
    )
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    # The agent's latest reply the proposal was built from (a draft grows with later replies).
    agent_message_id: Mapped[int | None] = mapped_column(BigInteger)
    agent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(24))
    # alternate_question: the article the agent linked; draft_article: the draft made on accept.
    article_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("kb_articles.id", ondelete="SET NULL"), index=True
    )
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="ko")
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    decided_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

"""Training scenarios (an anonymised copy of a resolved conversation), trainees' attempts with
their replies, and badges. Nothing here points at a live conversation's messages: a practice
never reaches a customer or a channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped

SPEEDS = (1, 2, 4)
BADGES = ("first_practice", "fast_reply", "five_resolved", "praised")


class TrainingScenario(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """The anonymised copy: `messages` is [{"role": customer|agent|bot, "text", "at_ms"}], at_ms
    from the first customer message. The original's figures are kept for scoring."""

    __tablename__ = "training_scenarios"
    __table_args__ = (
        Index("ix_training_scenarios_ws_id", "workspace_id", "id"),
        Index("uq_training_scenarios_source", "source_conversation_id", unique=True),
    )

    # Which conversation it came from (one scenario per conversation); no text of it.
    source_conversation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    customer_name: Mapped[str] = mapped_column(String(120))  # the stand-in
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    original_first_reply_ms: Mapped[int | None] = mapped_column(BigInteger)
    original_article_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    original_csat: Mapped[int | None] = mapped_column(SmallInteger)
    created_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="SET NULL"))


class TrainingAttempt(IdMixin, WorkspaceScoped, Base):
    """One trainee playing one scenario, at speed ×1, ×2 or ×4."""

    __tablename__ = "training_attempts"
    __table_args__ = (
        Index("ix_training_attempts_ws_finished", "workspace_id", "finished_at"),
        Index("ix_training_attempts_agent", "agent_id", "id"),
    )

    scenario_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("training_scenarios.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="CASCADE"))
    speed: Mapped[int] = mapped_column(SmallInteger, default=1)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    first_reply_ms: Mapped[int | None] = mapped_column(BigInteger)
    score: Mapped[int | None] = mapped_column(SmallInteger)
    parts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    review_comment: Mapped[str | None] = mapped_column(Text)
    praised: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewed_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TrainingReply(IdMixin, WorkspaceScoped, Base):
    """A trainee's reply within an attempt (never a message of any conversation)."""

    __tablename__ = "training_replies"

    attempt_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("training_attempts.id", ondelete="CASCADE"), index=True
    )
    content: Mapped[str] = mapped_column(Text)
    at_ms: Mapped[int] = mapped_column(BigInteger)  # since the attempt started, real time
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TrainingBadge(WorkspaceScoped, Base):
    """A badge an agent earned (once each), with the attempt that earned it."""

    __tablename__ = "training_badges"
    __table_args__ = (UniqueConstraint("agent_id", "badge", name="uq_training_badges_agent_badge"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    agent_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="CASCADE"))
    badge: Mapped[str] = mapped_column(String(30))
    attempt_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("training_attempts.id", ondelete="SET NULL")
    )
    awarded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

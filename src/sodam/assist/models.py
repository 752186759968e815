"""Past agent replies (each paired with the customer question it answered) and the daily
shown / inserted counters of the assist panel."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, WorkspaceScoped

KINDS = ("article", "reply", "canned", "empathy", "reminder")
QUESTION_MAX = 1000
REPLY_MAX = 2000


class AssistReply(IdMixin, WorkspaceScoped, Base):
    """One agent reply of a resolved conversation with the customer's words it answered."""

    __tablename__ = "assist_replies"
    __table_args__ = (Index("ix_assist_replies_ws_id", "workspace_id", "id"),)

    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    # the agent's (first) message of the answer: one pair per answer, however often indexed
    reply_message_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    agent_id: Mapped[int | None] = mapped_column(BigInteger)
    locale: Mapped[str] = mapped_column(String(8))
    question: Mapped[str] = mapped_column(Text)
    reply: Mapped[str] = mapped_column(Text)
    # e5 query vector of the question (None until the encoder ran, or with encoders off)
    vector: Mapped[list[float] | None] = mapped_column(ARRAY(Float(precision=24)))
    model: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AssistUsage(Base):
    """Per workspace, day and suggestion kind: how often it was shown and inserted."""

    __tablename__ = "assist_usage"

    workspace_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    shown: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    inserted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

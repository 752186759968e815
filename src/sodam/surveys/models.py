"""Surveys, who they were sent to, the answers, escalations, and anonymous employee feedback."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped

KINDS = ("csat", "nps", "ces", "custom")
AUDIENCES = ("customers", "agents")


class Survey(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A survey: its questions (ko/en texts) and how and when it is sent."""

    __tablename__ = "surveys"
    __audit__ = "survey"
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # csat | nps | ces | custom
    audience: Mapped[str] = mapped_column(String(10), default="customers", server_default="customers")
    # [{"id": "q1", "type": "csat|nps|ces|single|multi|scale|likert|text", "text": {"ko", "en"},
    #   "options": [{"id", "text": {"ko", "en"}}], "required": bool}]
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # Sent when a conversation of one of these inboxes is resolved (empty: never on resolution).
    on_resolve_inbox_ids: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), default=list, server_default="{}"
    )
    # An answer at or under (CES: at or over) this score escalates; None: the kind's default.
    escalate_at: Mapped[int | None] = mapped_column(Integer)
    escalate: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    expires_after_hours: Mapped[int] = mapped_column(Integer, default=168, server_default="168")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class SurveyRecipient(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One invitation: a contact asked one survey (after a conversation, by link, on a schedule).
    The token is the credential of the public page and the widget card."""

    __tablename__ = "survey_recipients"
    __table_args__ = (
        # A conversation is asked a survey once, however often it is resolved.
        Index(
            "uq_survey_recipients_conversation",
            "survey_id",
            "conversation_id",
            unique=True,
            postgresql_where=text("conversation_id IS NOT NULL"),
        ),
        Index("ix_survey_recipients_due", "send_at", postgresql_where=text("sent_at IS NULL")),
        Index("ix_survey_recipients_contact", "contact_id"),
        # A segment send asks each contact once, however often its job is re-run.
        Index(
            "uq_survey_recipients_send_contact",
            "send_id",
            "contact_id",
            unique=True,
            postgresql_where=text("send_id IS NOT NULL"),
        ),
    )
    survey_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("surveys.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="SET NULL")
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(12))  # widget | link | schedule
    language: Mapped[str] = mapped_column(String(8), default="ko")
    send_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    send_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("survey_sends.id", ondelete="CASCADE"))


class SurveySend(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A send to a segment too large for one request: a job invites its contacts in batches
    (each batch one transaction, resumed after a crash from the last contact invited)."""

    __tablename__ = "survey_sends"
    survey_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("surveys.id", ondelete="CASCADE"), index=True
    )
    segment_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("segments.id", ondelete="SET NULL"))
    send_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued | sending | done | failed
    total: Mapped[int | None] = mapped_column(Integer)  # the segment's size when the send began
    invited: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_contact_id: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="SET NULL"))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class SurveyAnswer(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A recipient's answer: one per recipient (a second submit updates it)."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("recipient_id", name="uq_survey_answers_recipient"),
        Index("ix_survey_answers_survey", "survey_id", "id"),
        Index("ix_survey_answers_contact", "contact_id", "created_at"),
    )
    survey_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("surveys.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("survey_recipients.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(10))
    # The headline score of a CSAT / NPS / CES survey (None for a custom one).
    score: Mapped[int | None] = mapped_column(Integer)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    comment: Mapped[str | None] = mapped_column(Text)
    comment_sentiment: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class SurveyEscalation(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A low score (or a strongly negative comment) handed to a 매니저: once per answer."""

    __tablename__ = "survey_escalations"
    answer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("survey_answers.id", ondelete="CASCADE"), unique=True
    )
    survey_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("surveys.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="SET NULL")
    )
    assignee_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(20))  # score | sentiment


class StaffAnswer(WorkspaceScoped, Base):
    """An agent's anonymous answer to an internal survey. Nothing here names the agent: a
    random id (no order), the day only, no reference to the invitation or to who answered."""

    __tablename__ = "staff_answers"
    __table_args__ = (Index("ix_staff_answers_survey", "survey_id"),)
    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    survey_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("surveys.id", ondelete="CASCADE"))
    answered_on: Mapped[date] = mapped_column(Date, server_default=func.current_date())
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class StaffAnswered(WorkspaceScoped, Base):
    """That an agent has answered an internal survey (so they are not asked twice) — and nothing
    else: no time, no reference to the answer."""

    __tablename__ = "staff_answered"
    survey_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )

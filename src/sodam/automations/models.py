"""Automation rules, their runs, each step's outcome, the event outbox and the settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, SmallInteger, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class Rule(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "automation_rules"
    __audit__ = "automation_rule"
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    trigger_type: Mapped[str] = mapped_column(String(40))
    trigger_config: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Marketing messages are never sent in quiet hours (held until they end).
    marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    # Messages of this rule go out only in the business hours (held until the next opening).
    business_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    template_key: Mapped[str | None] = mapped_column(String(60))
    created_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Settings(Base):
    __tablename__ = "automation_settings"
    workspace_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    daily_cap: Mapped[int] = mapped_column(Integer, default=3)
    quiet_start: Mapped[int] = mapped_column(SmallInteger, default=20)
    quiet_end: Mapped[int] = mapped_column(SmallInteger, default=8)
    timezone: Mapped[str] = mapped_column(String(60), default="Asia/Seoul")
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class Event(IdMixin, WorkspaceScoped, Base):
    __tablename__ = "automation_events"
    type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(100))
    contact_id: Mapped[int | None] = mapped_column(BigInteger)
    conversation_id: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    key: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Run(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "automation_runs"
    rule_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("automation_rules.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="SET NULL")
    )
    trigger_key: Mapped[str] = mapped_column(String(200))
    trigger_type: Mapped[str] = mapped_column(String(40))
    context: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="waiting")  # waiting done failed cancelled
    step: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RunStep(IdMixin, WorkspaceScoped, Base):
    __tablename__ = "automation_run_steps"
    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("automation_runs.id", ondelete="CASCADE"))
    rule_id: Mapped[int] = mapped_column(BigInteger)
    contact_id: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    # done | held (quiet or closed hours) | waiting | skipped_cap | failed
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

"""Campaigns, their recipients (one row per contact: claimed and sent in one transaction) and
incident announcements (the one announcement model: widget banner, bot, auto-reply, IVR)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
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

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped

CHANNELS = ("widget_message", "widget_banner", "email", "api", "alimtalk")
STATUSES = ("draft", "scheduled", "running", "paused", "done", "cancelled")
RECIPIENT_STATUSES = ("queued", "sent", "skipped", "cancelled")
SEVERITIES = ("info", "minor", "major", "critical")


class Campaign(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "campaigns"
    __audit__ = "campaign"
    __audit_values__ = ("status",)
    name: Mapped[str] = mapped_column(String(200))
    segment_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("segments.id", ondelete="SET NULL"))
    # The inbox the messages go out on (a widget, e-mail, API or KakaoTalk inbox).
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    subject_ko: Mapped[str] = mapped_column(String(200), default="")
    subject_en: Mapped[str] = mapped_column(String(200), default="")
    body_ko: Mapped[str] = mapped_column(Text, default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    # 알림톡: an approved template of the inbox and its variables ({name} filled per contact).
    template_code: Mapped[str | None] = mapped_column(String(64))
    template_variables: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # Messages a second (the throttle): batches of at most this many, one a second.
    rate_per_s: Mapped[int] = mapped_column(Integer, default=50)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The zone a schedule without an offset is read in (the workspace's: Asia/Seoul).
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Seoul")
    # A banner shows until then (None: until cancelled).
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The tracked links of the copy, in order (a click redirects to links[i]).
    # {survey_link} in the copy becomes each contact's own link to this survey.
    survey_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("surveys.id", ondelete="SET NULL"))
    links: Mapped[list[str]] = mapped_column(JSONB, default=list)
    materialized: Mapped[bool] = mapped_column(Boolean, default=False)
    total: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class CampaignRecipient(IdMixin, WorkspaceScoped, Base):
    """One contact of a campaign: unique, so nobody is sent the campaign twice."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id", name="uq_campaign_recipients_campaign_contact"),
        Index("ix_campaign_recipients_todo", "campaign_id", "id", postgresql_where="status = 'queued'"),
        Index("ix_campaign_recipients_conversation", "conversation_id"),
        Index("ix_campaign_recipients_message", "message_id"),
    )
    campaign_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    reason: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(8))
    conversation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="SET NULL")
    )
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    clicked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Announcement(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """An incident announcement (e.g. 결제 장애 안내). Active while not cleared and inside
    [starts_at, ends_at): the widget banner, the bot, the first auto-reply and the IVR say it."""

    __tablename__ = "announcements"
    __audit__ = "announcement"
    # False once cleared (the IVR's old on/off switch is the same column).
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    text_ko: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(10), default="major")
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

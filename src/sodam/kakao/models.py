"""KakaoTalk channels (an API inbox connected through a dealer), sessions, events, 알림톡 templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class KakaoChannel(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """An API inbox connected to a KakaoTalk channel profile (sender_key) through a dealer."""

    __tablename__ = "kakao_channels"
    __audit__ = "kakao_channel"
    __table_args__ = (
        UniqueConstraint("inbox_id", name="uq_kakao_channels_inbox"),
        UniqueConstraint("sender_key", name="uq_kakao_channels_sender_key"),
    )
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    sender_key: Mapped[str] = mapped_column(String(80))
    dealer_url: Mapped[str] = mapped_column(String(500))
    # Secrets: never returned by the API after creation, never in a URL.
    dealer_api_key: Mapped[str] = mapped_column(String(200))
    inbound_secret: Mapped[str] = mapped_column(String(80))


class KakaoSession(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """The 상담톡 session of one KakaoTalk user on one channel (its latest state)."""

    __tablename__ = "kakao_sessions"
    __table_args__ = (UniqueConstraint("inbox_id", "user_key", name="uq_kakao_sessions_inbox_user"),)
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    user_key: Mapped[str] = mapped_column(String(120))
    contact_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="SET NULL")
    )
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_user_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_by: Mapped[str | None] = mapped_column(String(20))  # agent | user | block
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class KakaoEvent(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A dealer event taken, by serial_number: a repeat returns what the first stored."""

    __tablename__ = "kakao_events"
    __table_args__ = (UniqueConstraint("inbox_id", "serial_number", name="uq_kakao_events_inbox_serial"),)
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    serial_number: Mapped[str] = mapped_column(String(80))
    type: Mapped[str] = mapped_column(String(20))
    conversation_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)


class KakaoTemplate(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """An 알림톡 template: `#{변수}` placeholders; sendable only once the dealer approved it."""

    __tablename__ = "kakao_templates"
    __audit__ = "kakao_template"
    __table_args__ = (UniqueConstraint("inbox_id", "code", name="uq_kakao_templates_inbox_code"),)
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    status: Mapped[str] = mapped_column(String(20), default="registered", server_default="registered")
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

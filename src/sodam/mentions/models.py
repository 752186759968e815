"""A mention (one public post naming the company) and the hourly alerts already sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class Mention(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "mentions"
    __table_args__ = (UniqueConstraint("inbox_id", "external_id", name="uq_mentions_inbox_external"),)
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    # The post's id on its platform: a repeated POST of it is the same mention.
    external_id: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(40))
    author_handle: Mapped[str] = mapped_column(String(200))
    author_name: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    content: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by the scoring job (None until it ran): -1 .. 1 and negative / neutral / positive.
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    sentiment_label: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default="new")  # new | converted | dismissed
    conversation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="SET NULL")
    )


class MentionAlert(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One per inbox and clock hour at most: the 매니저 are told once, not on every mention."""

    __tablename__ = "mention_alerts"
    __table_args__ = (UniqueConstraint("inbox_id", "hour", name="uq_mention_alerts_inbox_hour"),)
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    negative_count: Mapped[int] = mapped_column(Integer)

"""Knowledge base tables: categories, articles, alternate questions, votes and the search log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped

STATUSES = ("draft", "published")
ARTICLE_LOCALES = ("ko", "en")


class KbCategory(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "kb_categories"
    __audit__ = "kb_category"
    # Fetch server defaults (created_at) on INSERT: no lazy load after flush in async code.
    __mapper_args__ = {"eager_defaults": True}
    __table_args__ = (UniqueConstraint("workspace_id", "slug", name="uq_kb_categories_workspace_slug"),)
    slug: Mapped[str] = mapped_column(String(80))
    # {"ko": "시작하기", "en": "Getting started"}: one category serves both locales.
    names: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # {"ko": markdown, "en": markdown}: what a new article in this category starts from.
    template: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")

    def name(self, locale: str) -> str:
        """The name in `locale`, else any name, else the slug."""
        names = self.names or {}
        return names.get(locale) or next((v for v in names.values() if v), None) or self.slug


class KbArticle(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "kb_articles"
    __audit__ = "kb_article"
    __audit_ignore__ = (
        "published_at",
        "view_count",
        "helpful_count",
        "not_helpful_count",
        "bot_confirmed_count",
        "bot_unhelpful_count",
        "author_id",
        "last_viewed_at",
    )
    __audit_values__ = ("status", "locale")
    # Fetch server defaults (created_at) on INSERT: no lazy load after flush in async code.
    __mapper_args__ = {"eager_defaults": True}
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published')", name="status"),
        CheckConstraint("locale IN ('ko', 'en')", name="locale"),
        Index("ix_kb_articles_workspace_status", "workspace_id", "status"),
        Index("ix_kb_articles_workspace_review_by", "workspace_id", "review_by"),
    )
    category_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("kb_categories.id", ondelete="SET NULL"), index=True
    )
    locale: Mapped[str] = mapped_column(String(8), default="ko")
    title: Mapped[str] = mapped_column(String(300))
    # Markdown as the author wrote it; HTML is rendered and sanitised on every read.
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    author_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    view_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    helpful_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    not_helpful_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The bot's "도움이 되었나요?": yes (a confirmed resolution) / no, per answered article.
    bot_confirmed_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bot_unhelpful_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the article should be looked at again (set on every save; knowledge/hygiene.py).
    review_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The help center's last view of it (the "no views in N days" signal).
    last_viewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    alternate_questions: Mapped[list[KbAlternateQuestion]] = relationship(
        back_populates="article",
        cascade="all, delete-orphan",
        order_by="KbAlternateQuestion.id",
        lazy="selectin",
    )


class KbAlternateQuestion(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """ "Also asked as": another wording customers use for the same article."""

    __tablename__ = "kb_alternate_questions"
    __audit__ = "kb_question"
    # Fetch server defaults (created_at) on INSERT: no lazy load after flush in async code.
    __mapper_args__ = {"eager_defaults": True}
    article_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(String(500))
    article: Mapped[KbArticle] = relationship(back_populates="alternate_questions")


class KbVote(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One helpful / not-helpful vote per visitor and article (a second vote changes it)."""

    __tablename__ = "kb_votes"
    __table_args__ = (UniqueConstraint("article_id", "visitor", name="uq_kb_votes_article_visitor"),)
    article_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("kb_articles.id", ondelete="CASCADE"))
    visitor: Mapped[str] = mapped_column(String(64))
    helpful: Mapped[bool] = mapped_column(Boolean)


class KbSearch(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One search as typed (help center, bot or API): feeds most-searched and content gaps."""

    __tablename__ = "kb_searches"
    __table_args__ = (Index("ix_kb_searches_workspace_created", "workspace_id", "created_at"),)
    query: Mapped[str] = mapped_column(String(500))
    # Lower-cased, one space: groups "배송 기간" and "배송  기간 " together in reports.
    normalized: Mapped[str] = mapped_column(String(500))
    locale: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(16), default="helpcenter")
    result_count: Mapped[int] = mapped_column(Integer, default=0)
    top_article_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("kb_articles.id", ondelete="SET NULL")
    )
    clicked_article_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("kb_articles.id", ondelete="SET NULL")
    )


class KbSettings(Base):
    """The workspace's knowledge-base settings (no row: the defaults of knowledge/settings.py)."""

    __tablename__ = "kb_settings"
    workspace_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    # Hosts a video line may embed from; None = the default list.
    video_hosts: Mapped[list[str] | None] = mapped_column(ARRAY(String(253)))
    review_days: Mapped[int] = mapped_column(Integer, default=180, server_default="180")
    stale_view_days: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    min_downvotes: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    handoff_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class KbReviewReminder(IdMixin, WorkspaceScoped, Base):
    """The weekly stale-article reminder sent to one owner for one week (sent once)."""

    __tablename__ = "kb_review_reminders"
    __table_args__ = (
        UniqueConstraint("workspace_id", "agent_id", "week", name="uq_kb_review_reminders_week"),
    )
    agent_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="CASCADE"))
    week: Mapped[date] = mapped_column(Date)
    article_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

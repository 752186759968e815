"""Page rules (도움말 제안): when the widget offers help on a page, and what it reports back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class PageRule(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "page_rules"
    __audit__ = "page_rule"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_page_rules_workspace_name"),)
    # None: every widget inbox of the workspace.
    inbox_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    match_type: Mapped[str] = mapped_column(String(16))  # glob | prefix | contains | regex
    pattern: Mapped[str] = mapped_column(String(500))
    seconds: Mapped[int] = mapped_column(Integer, default=0)  # time on the page before it fires
    exit_intent: Mapped[bool] = mapped_column(Boolean, default=False)
    display: Mapped[str] = mapped_column(String(16), default="bubble")  # open | bubble
    message: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # {"ko": ..., "en": ...}
    article_mode: Mapped[str] = mapped_column(String(16), default="none")  # none | pick | auto
    article_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    search_query: Mapped[str | None] = mapped_column(String(200))  # auto: else the page's title
    cap_hours: Mapped[int] = mapped_column(Integer, default=24)  # once per visitor per N hours
    created_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class PageRuleEvent(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "page_rule_events"
    rule_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("page_rules.id", ondelete="CASCADE"))
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    visitor_key: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("contacts.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))  # shown | clicked_article | opened_chat
    article_id: Mapped[int | None] = mapped_column(BigInteger)

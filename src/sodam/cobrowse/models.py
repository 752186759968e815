"""Co-browsing (화면 함께 보기): the session log and the workspace's masking settings.

The page itself (rrweb's DOM snapshot and mutations) is relayed, never stored: a row holds
only who asked, whether and when the customer agreed, when it ended and who ended it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class CobrowseSession(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "cobrowse_sessions"
    __table_args__ = (
        Index("ix_cobrowse_sessions_conversation", "conversation_id", "id"),
        Index("ix_cobrowse_sessions_contact", "workspace_id", "contact_id", "created_at"),
        # At most one pending or active session per conversation.
        Index(
            "uq_cobrowse_sessions_open",
            "conversation_id",
            unique=True,
            postgresql_where=text("status IN ('requested', 'active')"),
        ),
    )
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"))
    requested_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="SET NULL"))
    # requested -> active -> ended; requested -> declined | expired (no answer in time)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_by: Mapped[str | None] = mapped_column(String(16))  # contact | agent | system
    ended_by_agent_id: Mapped[int | None] = mapped_column(BigInteger)
    end_reason: Mapped[str | None] = mapped_column(String(40))


class CobrowseSettings(Base):
    """One row per workspace (absent: co-browsing on, no extra selectors)."""

    __tablename__ = "cobrowse_settings"
    __audit__ = "cobrowse_settings"
    __audit_target_id__ = "workspace_id"
    workspace_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # CSS selectors masked in the customer's browser on top of passwords and [data-sodam-mask].
    mask_selectors: Mapped[list[str]] = mapped_column(JSONB, default=list)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

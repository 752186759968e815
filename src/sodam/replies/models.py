"""A canned reply: a shortcut, a title and a body with placeholders, owned by one agent, one
team or the whole workspace."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class ReplyScope(str, enum.Enum):
    personal = "personal"  # only its owner sees it
    team = "team"  # the team's members (and managers)
    workspace = "workspace"  # everyone in the workspace


SHORTCUT_MAX = 60
TITLE_MAX = 200
BODY_MAX = 5000


class CannedReply(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "canned_replies"
    __audit__ = "canned_reply"
    __audit_values__ = ("scope",)
    __audit_ignore__ = ("usage_count", "last_used_at", "search_terms", "updated_at", "updated_by_id")
    __table_args__ = (
        CheckConstraint(
            "(scope = 'personal' AND owner_agent_id IS NOT NULL AND team_id IS NULL)"
            " OR (scope = 'team' AND team_id IS NOT NULL AND owner_agent_id IS NULL)"
            " OR (scope = 'workspace' AND owner_agent_id IS NULL AND team_id IS NULL)",
            name="scope_owner",
        ),
        # A shortcut is unique within its owner: one agent's, one team's, the workspace's.
        Index(
            "uq_canned_replies_shortcut",
            "workspace_id",
            "scope",
            text("coalesce(owner_agent_id, 0)"),
            text("coalesce(team_id, 0)"),
            text("lower(shortcut)"),
            unique=True,
        ),
    )

    scope: Mapped[str] = mapped_column(String(12))
    owner_agent_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    shortcut: Mapped[str] = mapped_column(String(SHORTCUT_MAX))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("agents.id", ondelete="SET NULL")
    )
    updated_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("agents.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    usage_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Morphemes of shortcut, title and body (kiwipiepy), computed when the reply is saved so
    # a search only analyses the query.
    search_terms: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")

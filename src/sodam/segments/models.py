"""A segment: a named, saved filter over the contacts of one workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class Segment(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "segments"
    __audit__ = "segment"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_segments_workspace_name"),)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    # The filter as validated by segments.filters (all/any groups of conditions).
    filter: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

"""Per-workspace privacy settings (one row per workspace once an admin saves them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base

RETENTION_ACTIONS = ("anonymise", "delete")


class PrivacySettings(Base):
    __tablename__ = "privacy_settings"
    __audit__ = "privacy_settings"
    __audit_target_id__ = "workspace_id"
    __audit_values__ = ("retention_months", "retention_action")
    workspace_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    # Resolved conversations with no activity for this many months are deleted or
    # anonymised by the daily retention job; None keeps them (the default).
    retention_months: Mapped[int | None] = mapped_column(Integer)
    retention_action: Mapped[str] = mapped_column(String(12), default="anonymise", server_default="anonymise")
    # Where customers send export / erasure requests (shown on the public privacy page).
    contact_email: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

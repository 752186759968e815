"""A company of a workspace; contacts point at it with `contacts.company_id`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class Company(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "companies"
    __audit__ = "company"
    __table_args__ = (
        # One company per domain and workspace (case-insensitive); many may have none.
        Index(
            "uq_companies_domain",
            "workspace_id",
            text("lower(domain)"),
            unique=True,
            postgresql_where=text("domain IS NOT NULL"),
        ),
        Index("ix_companies_name", "workspace_id", text("lower(name)")),
    )
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(253))
    plan: Mapped[str | None] = mapped_column(String(60))
    custom_attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

"""SLA policies (the due times themselves are columns of `conversations`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, String, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class SlaPolicy(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """Targets by priority and contact tier. `targets` is a list of rows
    {"tier": "vip"|"*", "priority": "urgent"|"*", "first_response_s", "next_response_s",
    "resolution_s"} (seconds, None = no target); the most specific row for a conversation
    wins. The default policy covers every inbox no other policy names."""

    __tablename__ = "sla_policies"
    __audit__ = "sla_policy"
    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # True: measured in the inbox's business hours; False: calendar hours.
    business_hours: Mapped[bool] = mapped_column(Boolean, default=True)
    inbox_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

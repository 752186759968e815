"""The append-only audit log (a trigger refuses UPDATE, DELETE and TRUNCATE)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class AuditEntry(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "audit_log"
    # agent: a console session; token: an API token (agent_id is the agent it acts as);
    # system: a job (retention).
    actor_type: Mapped[str] = mapped_column(String(10))
    agent_id: Mapped[int | None] = mapped_column(BigInteger)
    token_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int | None] = mapped_column(BigInteger)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # Which fields changed, counts, flags: never the personal values themselves.
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)

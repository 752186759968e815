"""Routing: agents' availability, capacity and skills, and the rules that say who fits."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class Availability(str, enum.Enum):
    online = "online"  # takes new conversations
    busy = "busy"  # present, keeps their conversations, takes no new ones
    away = "away"  # set after inactivity (or by the agent); no new ones
    offline = "offline"  # no console open; their waiting conversations are re-routed


class AgentState(WorkspaceScoped, Base):
    __tablename__ = "agent_states"
    agent_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    availability: Mapped[Availability] = mapped_column(
        Enum(Availability, name="agent_availability"), default=Availability.offline
    )
    # The agent picked it in the rail: automatic changes (away after inactivity, online on
    # return) leave a chosen busy/away alone.
    chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_activity_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # After-contact work: no new conversation until then.
    wrap_up_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Concurrent open conversations per channel type: {"default": 3, "email": 8}.
    capacity: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))


DEFAULT_CAPACITY = 3


def capacity_for(capacity: dict[str, Any] | None, channel: str) -> int:
    """An agent's concurrent-conversation limit for a channel (else their default, else 3)."""
    capacity = capacity or {}
    return int(capacity.get(channel, capacity.get("default", DEFAULT_CAPACITY)))


class AgentPresence(WorkspaceScoped, Base):
    """Console sockets of one agent in one serving process (heartbeat in seen_at)."""

    __tablename__ = "agent_presence"
    agent_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    process_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    sockets: Mapped[int] = mapped_column(Integer, default=0)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AgentSkill(WorkspaceScoped, Base):
    __tablename__ = "agent_skills"
    __audit__ = "agent_skill"
    __audit_target_id__ = "agent_id"
    agent_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[str] = mapped_column(String(80), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, default=3)


class RuleKind(str, enum.Enum):
    page = "page"  # the customer's current page URL contains the pattern (or matches a * glob)
    keyword = "keyword"  # a customer message holds the word (compared as Korean morphemes)


class RoutingRule(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "routing_rules"
    __audit__ = "routing_rule"
    kind: Mapped[str] = mapped_column(String(20))
    pattern: Mapped[str] = mapped_column(String(300))
    skill: Mapped[str | None] = mapped_column(String(80))
    team_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("teams.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)

"""Workspaces, agents, teams and API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class Workspace(IdMixin, TimestampMixin, Base):
    __tablename__ = "workspaces"
    __audit__ = "workspace"
    __audit_workspace_attr__ = "id"
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    default_locale: Mapped[str] = mapped_column(String(8), default="ko")
    # Per-workspace rate-limit overrides: {"rule": {"limit": N, "period_s": S}} (core/ratelimit.py).
    rate_limits: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    # Sign-in rules: {"require_2fa": bool, "password_min_length": int, "allowed_email_domains": [..]}
    # (accounts/policy.py).
    security: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    # Attachments: {"max_bytes": N, "allowed": ["images", "documents", ...]} (attachments/policy.py).
    attachment_policy: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))


class Role(str, enum.Enum):
    admin = "admin"
    supervisor = "supervisor"
    agent = "agent"


class Agent(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "agents"
    __audit__ = "agent"
    __audit_values__ = ("role", "is_active", "locale")
    __audit_ignore__ = ("totp_last_step",)
    __table_args__ = (UniqueConstraint("email", name="uq_agents_email"),)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Enum(Role, name="agent_role"), default=Role.agent)
    locale: Mapped[str] = mapped_column(String(8), default="ko")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change / logout-everywhere: invalidates old session cookies.
    session_version: Mapped[int] = mapped_column(default=1)
    # Two-factor sign-in (accounts/twofactor.py): the TOTP secret is set at enrolment and
    # counts only once confirmed (totp_enabled_at); the last accepted time step stops a
    # code being used twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # What customers see in the widget: a public name (else `name`) and an avatar image
    # (an attachment's public id, else an initial-letter avatar).
    display_name: Mapped[str | None] = mapped_column(String(200))
    avatar_id: Mapped[str | None] = mapped_column(String(40))

    @property
    def public_name(self) -> str:
        return self.display_name or self.name

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None


class Team(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "teams"
    __audit__ = "team"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_teams_workspace_name"),)
    name: Mapped[str] = mapped_column(String(200))
    # How routing picks inside the team: least_busy (then longest idle) or round_robin.
    routing_method: Mapped[str] = mapped_column(String(20), default="least_busy", server_default="least_busy")
    # The team's own business hours (sodam.hours); None: the inbox's hours apply.
    business_hours: Mapped[dict | None] = mapped_column(JSONB)


class TeamMember(WorkspaceScoped, Base):
    __tablename__ = "team_members"
    __audit__ = "team"
    __audit_target_id__ = "team_id"
    __audit_verbs__ = {"created": "member_added", "deleted": "member_removed"}
    team_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )

    def __audit_details__(self) -> dict[str, int]:
        return {"agent_id": self.agent_id}


class ApiToken(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "api_tokens"
    __audit__ = "token"
    __audit_ignore__ = ("last_used_at",)
    __audit_verbs__ = {"revoked_at": "revoked"}
    name: Mapped[str] = mapped_column(String(200))
    # Tokens act as an agent (for attribution and permissions).
    agent_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AgentNotice(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """Something an agent must see on their next console visit (e.g. their account was
    locked after failed sign-ins); kept until they dismiss it."""

    __tablename__ = "agent_notices"
    agent_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AgentSession(IdMixin, WorkspaceScoped, Base):
    """One signed-in console (a browser): listed on the agent's account page, revocable."""

    __tablename__ = "agent_sessions"
    agent_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # Signed in with the second factor (or the agent had none then).
    second_factor: Mapped[bool] = mapped_column(Boolean, default=False)


class AgentRecoveryCode(IdMixin, WorkspaceScoped, Base):
    """A one-time code that stands in for the TOTP code when the phone is lost (hash only)."""

    __tablename__ = "agent_recovery_codes"
    agent_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("agents.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

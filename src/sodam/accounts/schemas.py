"""Wire shapes for agents and teams (REST API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sodam.accounts.models import Role
from sodam.core.pagination import MAX_ID


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    email: str
    role: Role
    locale: str
    is_active: bool
    created_at: datetime


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    member_ids: list[int] = []
    created_at: datetime


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    agent_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list, max_length=500, description="Initial members."
    )

    @field_validator("name")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain the NUL character")
        return value

    @field_validator("agent_ids")
    @classmethod
    def _unique_ids(cls, value: list[int]) -> list[int]:
        return list(dict.fromkeys(value))


def _no_nul(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise ValueError("must not contain the NUL character")
    return value


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(
        min_length=8, max_length=1024, description="At least 8 characters; stored as argon2."
    )
    role: Role = Role.agent
    locale: Literal["ko", "en"] = "ko"

    _check = field_validator("email", "name", "password")(_no_nul)


class AgentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    locale: Literal["ko", "en"] | None = None
    is_active: bool | None = Field(
        default=None,
        description="false deactivates: sessions and tokens stop working; history keeps the name.",
    )
    password: str | None = Field(default=None, min_length=8, max_length=1024)

    _check = field_validator("name", "password")(_no_nul)


class TeamPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    agent_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        default=None, max_length=500, description="Replaces the members."
    )

    _check = field_validator("name")(_no_nul)


class RateLimitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(ge=1, le=1_000_000, description="Requests allowed per period (also the burst).")
    period_s: int = Field(ge=1, le=86_400, description="The period in seconds.")


class RateLimitOut(BaseModel):
    limit: int
    period_s: float
    source: Literal["default", "workspace"]
    default: RateLimitIn


RuleName = Literal[
    "widget_session_ip",
    "widget_session_inbox",
    "widget_message_visitor",
    "widget_message_ip",
    "widget_read_ip",
    "helpcenter_search_ip",
    "helpcenter_vote_ip",
    "api_token",
]


class RateLimitsOut(BaseModel):
    rules: dict[RuleName, RateLimitOut]


class RateLimitsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: dict[RuleName, RateLimitIn | None] = Field(
        description="The rules to change; null puts a rule back to the server default (SODAM_RATE_LIMIT_*)."
    )


class SecurityPolicyOut(BaseModel):
    """The workspace's sign-in rules."""

    require_2fa: bool
    password_min_length: int
    allowed_email_domains: list[str]


class SecurityPolicyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    require_2fa: bool | None = None
    password_min_length: int | None = Field(default=None, ge=8, le=64)
    allowed_email_domains: list[Annotated[str, Field(max_length=253)]] | None = Field(
        default=None, max_length=50
    )


class AgentSessionOut(BaseModel):
    """A signed-in console (browser) of an agent."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    second_factor: bool
    current: bool = False


class TwoFactorStatusOut(BaseModel):
    agent_id: int
    enabled: bool

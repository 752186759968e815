"""Routing's API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from sodam.routing.models import Availability


class AvailabilityIn(BaseModel):
    availability: Availability


class AgentRoutingOut(BaseModel):
    agent_id: int
    name: str
    availability: Availability
    chosen: bool
    changed_at: datetime | None
    wrap_up_until: datetime | None
    last_assigned_at: datetime | None
    capacity: dict[str, int]
    skills: dict[str, int]
    open_conversations: int


class AgentRoutingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    capacity: dict[str, int] | None = Field(
        default=None, description='Concurrent open conversations per channel: {"default": 3, "email": 8}.'
    )
    skills: dict[str, int] | None = Field(
        default=None,
        description='Replaces the skills: {"lang:ko": 5, "topic:refund": 3, "vip": 4} (levels 1-5).',
    )


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(description="`page` (the customer's page URL) or `keyword` (Korean morphemes).")
    pattern: str = Field(max_length=300)
    skill: str | None = Field(default=None, max_length=80)
    team_id: int | None = Field(default=None, ge=1)
    position: int = Field(default=0, ge=0, le=10_000)


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    pattern: str
    skill: str | None
    team_id: int | None
    position: int


class TeamMethodIn(BaseModel):
    method: str = Field(description="`least_busy` (then longest idle) or `round_robin`.")


class QueueOut(BaseModel):
    waiting: int
    longest_wait_seconds: float | None
    agents: dict[str, int]
    teams: list[dict]

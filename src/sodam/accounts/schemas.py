"""Wire shapes for agents and teams (REST API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

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

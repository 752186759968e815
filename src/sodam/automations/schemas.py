"""Wire shapes for automations (REST API). Triggers, conditions and steps are checked by
automations.rules (422 `invalid_rule` with the path of the bad part), not by Pydantic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

RULE_HELP = "see docs/automations.md for triggers, conditions and steps"


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    trigger_type: str = Field(max_length=40, description=RULE_HELP)
    trigger_config: dict[str, Any] = Field(default_factory=dict)
    conditions: list[dict[str, Any]] = Field(default_factory=list, max_length=30)
    steps: list[dict[str, Any]] = Field(max_length=20)
    marketing: bool = False
    business_hours: bool = False
    enabled: bool = False


class RuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    trigger_type: str | None = Field(default=None, max_length=40)
    trigger_config: dict[str, Any] | None = None
    conditions: list[dict[str, Any]] | None = Field(default=None, max_length=30)
    steps: list[dict[str, Any]] | None = Field(default=None, max_length=20)
    marketing: bool | None = None
    business_hours: bool | None = None
    enabled: bool | None = None


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    description: str | None
    trigger_type: str
    trigger_config: dict[str, Any]
    conditions: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    enabled: bool
    marketing: bool
    business_hours: bool
    template_key: str | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    rule_id: int
    contact_id: int
    conversation_id: int | None
    trigger_type: str
    trigger_key: str
    status: str
    step: int
    next_at: datetime
    attempts: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    steps: list[dict[str, Any]] = Field(default_factory=list)


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    daily_cap: int | None = Field(default=None, ge=0, le=100)
    quiet_start: int | None = Field(default=None, ge=0, le=23)
    quiet_end: int | None = Field(default=None, ge=0, le=23)
    timezone: str | None = Field(default=None, max_length=60)


class SettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    daily_cap: int
    quiet_start: int
    quiet_end: int
    timezone: str


class ContactRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int | None = Field(default=None, ge=1, le=2**62)
    external_id: str | None = Field(default=None, min_length=1, max_length=320)
    email: str | None = Field(default=None, min_length=3, max_length=320)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact: ContactRef
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,99}$")
    properties: dict[str, Any] = Field(default_factory=dict)


class EventOut(BaseModel):
    id: int
    name: str
    contact_id: int
    properties: dict[str, Any]
    occurred_at: datetime
    created: bool

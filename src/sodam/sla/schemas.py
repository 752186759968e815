"""API shapes of SLA policies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from sodam.conversations.models import Priority
from sodam.core.pagination import MAX_ID

MAX_TARGET_S = 90 * 24 * 3600
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
InboxId = Annotated[int, Field(ge=1, le=MAX_ID)]


class TargetRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tier: str = Field(
        default="*",
        min_length=1,
        max_length=40,
        pattern=PRINTABLE,
        description='A contact tier ("vip") or "*".',
    )
    priority: Priority | Literal["*"] = Field(default="*", description='A conversation priority or "*".')
    first_response_s: int | None = Field(default=None, ge=60, le=MAX_TARGET_S)
    next_response_s: int | None = Field(default=None, ge=60, le=MAX_TARGET_S)
    resolution_s: int | None = Field(default=None, ge=60, le=MAX_TARGET_S)


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, pattern=PRINTABLE)
    is_default: bool = False
    business_hours: bool = Field(
        default=True, description="Measured in the inbox's business hours, else calendar."
    )
    inbox_ids: list[InboxId] = Field(default_factory=list, max_length=200)
    targets: list[TargetRow] = Field(default_factory=list, max_length=100)


class PolicyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=PRINTABLE)
    is_default: bool | None = None
    business_hours: bool | None = None
    inbox_ids: list[InboxId] | None = Field(default=None, max_length=200)
    targets: list[TargetRow] | None = Field(default=None, max_length=100)


class PolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    is_default: bool
    business_hours: bool
    inbox_ids: list[int]
    targets: list[TargetRow]
    created_at: datetime
    updated_at: datetime

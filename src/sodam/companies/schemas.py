"""Wire shapes for companies (REST API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sodam.contacts.schemas import Attributes, Text


class CompanyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text = Field(min_length=1, max_length=200)
    domain: Text | None = Field(
        default=None, max_length=253, description="e.g. sodam.kr (unique per workspace)"
    )
    plan: Text | None = Field(default=None, max_length=60)
    custom_attributes: Attributes = Field(default_factory=dict)


class CompanyUpdate(BaseModel):
    """Only the fields sent change; custom_attributes is merged key by key (null removes a key)."""

    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    domain: Text | None = Field(default=None, max_length=253)
    plan: Text | None = Field(default=None, max_length=60)
    custom_attributes: Attributes = Field(default_factory=dict)


class CompanyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    domain: str | None
    plan: str | None
    custom_attributes: dict[str, Any]
    contact_count: int = 0
    created_at: datetime
    updated_at: datetime

"""Wire shapes for segments (REST API). The filter is checked by segments.filters (422
`invalid_filter` with the path of the bad condition), not by Pydantic, so the error can point
into the nesting."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

FILTER_HELP = (
    '{"all": [...]} or {"any": [...]} of conditions {field, op, value, key, days} or nested groups; '
    "see docs/segments.md for the fields and operators."
)


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    filter: dict[str, Any] = Field(description=FILTER_HELP)


class SegmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    filter: dict[str, Any] | None = Field(default=None, description=FILTER_HELP)


class SegmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    description: str | None
    filter: dict[str, Any]
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filter: dict[str, Any] = Field(description=FILTER_HELP)
    limit: int = Field(default=10, ge=0, le=100, description="How many matching contacts to return.")


class CountOut(BaseModel):
    segment_id: int | None = None
    count: int

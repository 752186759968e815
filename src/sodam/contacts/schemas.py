"""Wire shapes for contacts (REST API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field


def no_nul(value: Any) -> Any:
    """PostgreSQL stores no NUL character in text or JSONB: refuse it as a 422, not a 500."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain the NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            no_nul(key)
            no_nul(item)
    elif isinstance(value, list):
        for item in value:
            no_nul(item)
    return value


Text = Annotated[str, AfterValidator(no_nul)]
Attributes = Annotated[dict[str, Any], AfterValidator(no_nul)]


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str | None
    email: str | None
    phone: str | None
    company: str | None
    language: str | None
    custom_attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(default=None, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=320)
    phone: Text | None = Field(default=None, max_length=40)
    company: Text | None = Field(default=None, max_length=200)
    language: Text | None = Field(default=None, max_length=8, description="e.g. ko, en")
    custom_attributes: Attributes = Field(default_factory=dict)


class ContactUpdate(BaseModel):
    """Only the fields sent change; null clears a field. custom_attributes is merged key by key."""

    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(default=None, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=320)
    phone: Text | None = Field(default=None, max_length=40)
    company: Text | None = Field(default=None, max_length=200)
    language: Text | None = Field(default=None, max_length=8)
    custom_attributes: Attributes = Field(
        default_factory=dict, description="Merged into the stored attributes (shallow, key by key)."
    )

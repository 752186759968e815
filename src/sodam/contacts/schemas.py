"""Wire shapes for contacts (REST API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

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
    company_id: int | None
    language: str | None
    custom_attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(default=None, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=320)
    phone: Text | None = Field(default=None, max_length=40)
    company: Text | None = Field(
        default=None, max_length=200, description="The company's name: found (case-insensitive) or created."
    )
    company_id: int | None = Field(default=None, ge=1, le=2**63 - 1, description="An existing company's id.")
    company_domain: Text | None = Field(
        default=None,
        max_length=253,
        description="The company's domain: found or created (with `company` as name).",
    )
    language: Text | None = Field(default=None, max_length=8, description="e.g. ko, en")
    custom_attributes: Attributes = Field(default_factory=dict)


class ContactUpdate(BaseModel):
    """Only the fields sent change; null clears a field. custom_attributes is merged key by key."""

    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(default=None, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=320)
    phone: Text | None = Field(default=None, max_length=40)
    company: Text | None = Field(
        default=None, max_length=200, description="The company's name: found (case-insensitive) or created."
    )
    company_id: int | None = Field(default=None, ge=1, le=2**63 - 1, description="An existing company's id.")
    company_domain: Text | None = Field(
        default=None,
        max_length=253,
        description="The company's domain: found or created (with `company` as name).",
    )
    language: Text | None = Field(default=None, max_length=8)
    custom_attributes: Attributes = Field(
        default_factory=dict, description="Merged into the stored attributes (shallow, key by key)."
    )


AttributeType = Literal["text", "number", "money", "date", "list", "boolean"]


class AttributeDefinitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Text = Field(min_length=1, max_length=60, description="lowercase letters, digits and _ ; e.g. tier")
    label: Text = Field(default="", max_length=200, description="What agents see, e.g. 등급")
    type: AttributeType
    options: list[Annotated[Text, Field(max_length=200)]] = Field(
        default_factory=list, max_length=100, description="The allowed values of a list attribute."
    )
    currency: Text = Field(default="KRW", min_length=3, max_length=3, description="Money's default currency.")
    applies_to: Literal["contact", "company"] = "contact"
    position: int | None = Field(default=None, ge=0, le=10000)


class AttributeDefinitionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Text | None = Field(default=None, max_length=200)
    options: list[Annotated[Text, Field(max_length=200)]] | None = Field(default=None, max_length=100)
    currency: Text | None = Field(default=None, min_length=3, max_length=3)
    position: int | None = Field(default=None, ge=0, le=10000)


class AttributeDefinitionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    key: str
    label: str
    type: str
    options: list[str]
    currency: str
    applies_to: str
    position: int
    created_at: datetime


Side = Literal["winner", "loser"]


class MergeIn(BaseModel):
    """Merge contact `other_id` into the path's contact (the winner); `other_id` is removed."""

    model_config = ConfigDict(extra="forbid")
    other_id: int = Field(ge=1, le=2**63 - 1, description="The contact merged in (the loser).")
    choices: dict[Literal["name", "email", "phone", "language", "company"], Side] = Field(
        default_factory=dict, description="Whose value wins a conflicting field (the winner's by default)."
    )
    attribute_choices: dict[Annotated[str, Field(max_length=60)], Side] = Field(
        default_factory=dict, description="Whose value wins a conflicting custom attribute."
    )


class MergeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    winner_id: int
    loser_id: int
    moved: dict[str, int] = Field(description="How many rows moved, by table.column.")
    created_at: datetime
    expires_at: datetime
    undone_at: datetime | None


class ImportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    filename: str
    status: str
    total: int
    processed: int
    created_count: int
    updated_count: int
    failed: int
    errors: list[dict[str, Any]]
    message: str | None
    created_at: datetime

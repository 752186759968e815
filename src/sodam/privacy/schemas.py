"""Wire shapes for privacy settings, exports and erasures."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class PrivacySettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    retention_months: int | None = Field(description="null: conversations are kept until deleted.")
    retention_action: Literal["anonymise", "delete"]
    contact_email: str | None


class PrivacySettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retention_months: int | None = Field(
        default=None,
        ge=1,
        le=120,
        description="Months after a resolved conversation's last activity; null turns retention off.",
    )
    retention_action: Literal["anonymise", "delete"] | None = None
    contact_email: EmailStr | None = Field(default=None, max_length=320)


class ErasureOut(BaseModel):
    contact_id: int
    conversations: int
    messages: int
    identities: int
    erased_at: str

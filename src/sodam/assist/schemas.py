"""Request bodies of agent assist (unknown fields refused)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sodam.assist.models import KINDS

DRAFT_MAX = 2000


class AssistIn(BaseModel):
    """What the agent has typed so far (optional): kept out of the URL."""

    model_config = ConfigDict(extra="forbid")
    draft: str = Field("", max_length=DRAFT_MAX)


class UsageIn(BaseModel):
    """Suggestions shown and inserted since the last report, per kind."""

    model_config = ConfigDict(extra="forbid")
    shown: dict[str, int] = Field(default_factory=dict)
    inserted: dict[str, int] = Field(default_factory=dict)

    @field_validator("shown", "inserted")
    @classmethod
    def _kinds(cls, value: dict[str, int]) -> dict[str, int]:
        for kind, n in value.items():
            if kind not in KINDS:
                raise ValueError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
            if not 0 <= n <= 100:
                raise ValueError("counts are 0..100 per report")
        return value

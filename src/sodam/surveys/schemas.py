"""Wire shapes for surveys (REST API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sodam.core.params import MAX_ID

Kind = Literal["csat", "nps", "ces", "custom"]
Audience = Literal["customers", "agents"]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class SurveyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    audience: Audience = "customers"
    questions: list[dict[str, Any]] | None = Field(
        default=None,
        description="[{id, type: csat|nps|ces|single|multi|scale|likert|text, text: {ko, en}, "
        "options: [{id, text: {ko, en}}], required}]. CSAT / NPS / CES get default questions when omitted.",
    )
    on_resolve_inbox_ids: list[Id] = Field(
        default_factory=list,
        max_length=100,
        description="Sent when a conversation of these inboxes is resolved.",
    )
    escalate_at: int | None = Field(
        default=None,
        ge=0,
        le=10,
        description="Escalate at or under this score (CES: at or over). Default CSAT 2, NPS 3, CES 6.",
    )
    escalate: bool = True
    expires_after_hours: int = Field(default=168, ge=1, le=24 * 365)
    is_active: bool = True


class SurveyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    questions: list[dict[str, Any]] | None = None
    on_resolve_inbox_ids: list[Id] | None = Field(default=None, max_length=100)
    escalate_at: int | None = Field(default=None, ge=0, le=10)
    escalate: bool | None = None
    expires_after_hours: int | None = Field(default=None, ge=1, le=24 * 365)
    is_active: bool | None = None


class SurveyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    kind: str
    audience: str
    questions: list[dict[str, Any]]
    on_resolve_inbox_ids: list[int]
    escalate_at: int | None
    escalate: bool
    expires_after_hours: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


class SendIn(BaseModel):
    """Exactly one of contact_ids and segment_id."""

    model_config = ConfigDict(extra="forbid")
    contact_ids: list[Id] | None = Field(default=None, min_length=1, max_length=1000)
    segment_id: Id | None = Field(
        default=None,
        description="Send to this segment's contacts as they are now (over 1,000: by a job, 202).",
    )
    send_at: datetime | None = Field(default=None, description="When to send (default: now).")

    @model_validator(mode="after")
    def _one_audience(self) -> SendIn:
        if (self.contact_ids is None) == (self.segment_id is None):
            raise ValueError("give exactly one of contact_ids and segment_id")
        return self


class SendOut(BaseModel):
    """A send to a large segment and its progress."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    survey_id: int
    segment_id: int | None
    send_at: datetime
    status: str = Field(description="queued | sending | done | failed")
    total: int | None = Field(
        description="The segment's size when the send began (the invited count when done)."
    )
    invited: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class RecipientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    survey_id: int
    contact_id: int
    conversation_id: int | None
    channel: str
    language: str
    send_at: datetime | None
    sent_at: datetime | None
    expires_at: datetime
    url: str = Field(description="The public page (/s/{token}): the token is the recipient's credential.")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: dict[str, Any] = Field(description="{question id: value}")


class AnswerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    survey_id: int
    contact_id: int
    conversation_id: int | None
    kind: str
    score: int | None
    answers: dict[str, Any]
    comment: str | None
    comment_sentiment: float | None
    created_at: datetime
    updated_at: datetime


class StaffAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: dict[str, Any]

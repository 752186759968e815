"""Webhook API shapes. A secret appears only in the answers that create or rotate it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000, description="http(s) URL on a public address.")
    events: list[str] = Field(
        default_factory=list, max_length=50, description="Event types (GET /webhooks/event-types)."
    )
    description: str = Field(default="", max_length=200)
    inbox_id: int | None = Field(
        default=None, ge=1, description="An API inbox: this URL becomes its callback (agents' replies)."
    )


class SubscriptionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, max_length=2000)
    events: list[str] | None = Field(default=None, max_length=50)
    description: str | None = Field(default=None, max_length=200)
    status: str | None = Field(
        default=None, pattern="^(active|paused)$", description="`active` resumes a paused one."
    )


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    inbox_id: int | None
    url: str
    events: list[str]
    description: str
    status: str
    consecutive_failures: int
    paused_at: datetime | None
    created_at: datetime


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(description="Signs every delivery. Shown only now: keep it.")


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    attempt: int
    status_code: int | None
    latency_ms: float
    error: str | None
    response_snippet: str | None
    created_at: datetime


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    subscription_id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryDetail(DeliveryOut):
    body: str
    tries: list[AttemptOut]

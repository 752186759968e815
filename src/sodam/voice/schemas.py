"""API shapes of the phone line: lines, announcements, calls, callbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    inbox_id: int
    number: str | None
    team_id: int | None
    callbacks_per_slot: int | None
    ivr: dict[str, Any]
    webhook_url: str = Field(description="Point the provider's voice webhook (POST) here.")
    status_callback_url: str = Field(description="The provider's call status callback (POST).")


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ivr: dict[str, Any] | None = Field(default=None, description="The menu tree (docs/phone.md).")
    number: str | None = Field(default=None, max_length=40)
    auth_token: str | None = Field(
        default=None, min_length=8, max_length=200, description="The provider's auth token (write-only)."
    )
    team_id: int | None = None
    callbacks_per_slot: int | None = Field(default=None, ge=0, le=1000)


class AnnouncementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text_ko: str = Field(min_length=1, max_length=600)
    text_en: str = Field(default="", max_length=600)
    active: bool = True


class AnnouncementPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text_ko: str | None = Field(default=None, min_length=1, max_length=600)
    text_en: str | None = Field(default=None, max_length=600)
    active: bool | None = None


class AnnouncementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    active: bool
    text_ko: str
    text_en: str
    created_at: datetime


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    inbox_id: int
    call_sid: str
    contact_id: int | None
    conversation_id: int | None
    direction: str
    from_number: str
    to_number: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration_s: int | None
    outcome: str | None
    path: list[dict[str, Any]]


class SlotOut(BaseModel):
    start: datetime
    left: int


class SlotsOut(BaseModel):
    inbox_id: int
    timezone: str
    slots: list[SlotOut]


class CallbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inbox_id: int = Field(ge=1, description="The phone inbox that will call.")
    phone: str = Field(min_length=3, max_length=40)
    slot_at: datetime = Field(description="One of GET /callbacks/slots (with its time zone).")
    contact_id: int | None = Field(default=None, ge=1)
    name: str | None = Field(default=None, max_length=200)
    note: str = Field(default="", max_length=1000)
    language: Literal["ko", "en"] | None = None
    team_id: int | None = Field(default=None, ge=1)


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["done", "no_answer", "rescheduled"]
    slot_at: datetime | None = Field(default=None, description="The new slot, when rescheduled.")
    note: str = Field(default="", max_length=1000)


class CallbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    inbox_id: int
    contact_id: int
    phone: str
    slot_at: datetime
    status: str
    source: str
    language: str
    note: str
    team_id: int | None
    origin_conversation_id: int | None
    task_conversation_id: int | None
    reminded_at: datetime | None
    history: list[dict[str, Any]]
    created_at: datetime

"""API shapes of campaigns and announcements."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["widget_message", "widget_banner", "email", "api", "alimtalk"]
Severity = Literal["info", "minor", "major", "critical"]


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    segment_id: int = Field(ge=1, le=2**62)
    inbox_id: int = Field(ge=1, le=2**62)
    channel: Channel
    subject_ko: str = Field(default="", max_length=200)
    subject_en: str = Field(default="", max_length=200)
    body_ko: str = Field(default="", max_length=10_000)
    body_en: str = Field(default="", max_length=10_000)
    template_code: str | None = Field(default=None, max_length=64)
    template_variables: dict[str, str] = Field(default_factory=dict, max_length=20)
    rate_per_s: int = Field(default=50, ge=1, le=10_000)
    timezone: str = Field(default="Asia/Seoul", max_length=64)
    scheduled_at: datetime | None = None
    ends_at: datetime | None = None
    survey_id: int | None = Field(
        default=None,
        ge=1,
        le=2**62,
        description="`{survey_link}` in the copy becomes each contact's own link.",
    )


class CampaignPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    segment_id: int | None = Field(default=None, ge=1, le=2**62)
    inbox_id: int | None = Field(default=None, ge=1, le=2**62)
    channel: Channel | None = None
    subject_ko: str | None = Field(default=None, max_length=200)
    subject_en: str | None = Field(default=None, max_length=200)
    body_ko: str | None = Field(default=None, max_length=10_000)
    body_en: str | None = Field(default=None, max_length=10_000)
    template_code: str | None = Field(default=None, max_length=64)
    template_variables: dict[str, str] | None = Field(default=None, max_length=20)
    rate_per_s: int | None = Field(default=None, ge=1, le=10_000)
    timezone: str | None = Field(default=None, max_length=64)
    ends_at: datetime | None = None
    survey_id: int | None = Field(default=None, ge=1, le=2**62)


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scheduled_at: datetime


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    segment_id: int | None
    inbox_id: int
    channel: str
    subject_ko: str
    subject_en: str
    body_ko: str
    body_en: str
    template_code: str | None
    template_variables: dict[str, str]
    rate_per_s: int
    status: str
    scheduled_at: datetime | None
    timezone: str
    ends_at: datetime | None
    links: list[str]
    survey_id: int | None
    total: int
    started_at: datetime | None
    finished_at: datetime | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class StatsOut(BaseModel):
    campaign_id: int
    status: str
    total: int
    queued: int
    sent: int
    skipped: int
    cancelled: int
    delivered: int
    opened: int
    clicked: int
    replied: int
    progress: float


class AnnouncementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text_ko: str = Field(min_length=1, max_length=1000)
    text_en: str = Field(default="", max_length=1000)
    severity: Severity = "major"
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class AnnouncementPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text_ko: str | None = Field(default=None, min_length=1, max_length=1000)
    text_en: str | None = Field(default=None, max_length=1000)
    severity: Severity | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool | None = None


class AnnouncementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    text_ko: str
    text_en: str
    severity: str
    starts_at: datetime | None
    ends_at: datetime | None
    active: bool
    live: bool = False
    cleared_at: datetime | None
    created_at: datetime
    updated_at: datetime

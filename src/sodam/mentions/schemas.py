"""Request and response bodies of the mentions API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MentionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    external_id: str = Field(
        min_length=1,
        max_length=200,
        description="The post's id on its platform: posting it again is a no-op.",
    )
    platform: str = Field(min_length=1, max_length=40, description="e.g. instagram, x, youtube, naver_blog.")
    author_handle: str = Field(min_length=1, max_length=200)
    author_name: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=2000, description="An http(s) link to the post.")
    content: str = Field(min_length=1, max_length=20_000)
    posted_at: datetime | None = None


class MentionOut(BaseModel):
    id: int
    inbox_id: int
    external_id: str
    platform: str
    author_handle: str
    author_name: str | None
    url: str | None
    content: str
    posted_at: datetime | None
    sentiment_score: float | None = Field(description="-1..1; null until scored (a job, within seconds).")
    sentiment_label: Literal["negative", "neutral", "positive"] | None
    status: Literal["new", "converted", "dismissed"]
    conversation_id: int | None
    created_at: datetime

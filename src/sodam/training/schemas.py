"""Request and response bodies of the training sandbox (unknown fields refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sodam.core.params import MAX_ID
from sodam.training.service import MAX_COMMENT_CHARS, MAX_REPLY_CHARS


class ScenarioIn(BaseModel):
    """The resolved conversation to copy (anonymised) into a scenario."""

    model_config = ConfigDict(extra="forbid")
    conversation_id: int = Field(ge=1, le=MAX_ID)


class AttemptIn(BaseModel):
    """Playback speed: the original pace (1) or sped up ×2 / ×4."""

    model_config = ConfigDict(extra="forbid")
    speed: Literal[1, 2, 4] = 1


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str = Field(min_length=1, max_length=MAX_REPLY_CHARS)


class FinishIn(BaseModel):
    """End the practice; `resolved` marks it resolved (as the original was)."""

    model_config = ConfigDict(extra="forbid")
    resolved: bool


class ReviewIn(BaseModel):
    """A 매니저's comment (the trainee sees it) and/or praise (a badge)."""

    model_config = ConfigDict(extra="forbid")
    comment: str = Field("", max_length=MAX_COMMENT_CHARS)
    praise: bool = False


class ScenarioOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    title: str
    language: str
    customer_name: str
    customer_messages: int
    original_first_reply_ms: int | None
    original_article_ids: list[int]
    original_csat: int | None
    created_by: int | None
    created_at: datetime
    # The original's whole anonymised transcript: for 매니저 and trainees who finished it once.
    messages: list[dict[str, Any]] | None = None


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    scenario_id: int
    agent_id: int
    speed: int
    started_at: datetime
    finished_at: datetime | None
    resolved: bool
    first_reply_ms: int | None
    score: int | None
    parts: list[dict[str, Any]] | None
    review_comment: str | None
    praised: bool
    reviewed_by: int | None
    reviewed_at: datetime | None

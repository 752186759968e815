"""Wire shapes for the bot's per-conversation record and its outcome counts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class BotConversationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    conversation_id: int
    state: str
    outcome: str | None
    outcome_at: datetime | None
    handoff_reason: str | None
    language: str | None
    intent: str | None
    answered_article_id: int | None
    answers: int
    lead: dict


class BotResolutionsOut(BaseModel):
    """Strictly counted: confirmed = the customer said it helped; assumed = no further
    message within the window after an answer; handed_off = a person took over."""

    since: datetime | None
    conversations: int
    confirmed: int
    assumed: int
    handed_off: int
    open: int
    resolution_rate: float | None
    confirmed_rate: float | None

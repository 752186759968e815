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


class ProposalOut(BaseModel):
    """What an agent's answer to a handed-off question could teach the knowledge base.

    kind alternate_question: add `question` (the customer's wording) to article
    `article_id`, the article the agent linked; kind draft_article: a draft titled
    `question` with the agent's `answer` as its body (`article_id` is the draft once accepted).
    """

    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    status: str
    conversation_id: int
    agent_message_id: int | None
    agent_id: int | None
    article_id: int | None
    question: str
    answer: str
    language: str
    decided_by: int | None
    decided_at: datetime | None
    created_at: datetime

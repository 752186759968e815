"""Wire shapes of page rules (REST API). Patterns are checked by pagehelp.patterns (422
`invalid_pattern` with the reason), not by Pydantic, so the reason can be specific."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MatchType = Literal["glob", "prefix", "contains", "regex"]
Display = Literal["open", "bubble"]
ArticleMode = Literal["none", "pick", "auto"]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ko: str = Field(default="", max_length=1000)
    en: str = Field(default="", max_length=1000)


class PageRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    inbox_id: int | None = Field(default=None, ge=1, description="One widget inbox, or every one (null).")
    enabled: bool = True
    match_type: MatchType = "glob"
    pattern: str = Field(min_length=1, max_length=500, description="See docs/pagehelp.md.")
    seconds: int = Field(default=0, ge=0, le=3600, description="Time on the page before it fires.")
    exit_intent: bool = Field(default=False, description="Fire only when the visitor is about to leave.")
    display: Display = "bubble"
    message: Message = Field(default_factory=Message)
    article_mode: ArticleMode = "none"
    article_ids: list[int] = Field(default_factory=list, max_length=5)
    search_query: str | None = Field(default=None, max_length=200)
    cap_hours: int = Field(default=24, ge=1, le=8760, description="Once per visitor per this many hours.")


class PageRuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    inbox_id: int | None = Field(default=None, ge=1)
    enabled: bool | None = None
    match_type: MatchType | None = None
    pattern: str | None = Field(default=None, min_length=1, max_length=500)
    seconds: int | None = Field(default=None, ge=0, le=3600)
    exit_intent: bool | None = None
    display: Display | None = None
    message: Message | None = None
    article_mode: ArticleMode | None = None
    article_ids: list[int] | None = Field(default=None, max_length=5)
    search_query: str | None = Field(default=None, max_length=200)
    cap_hours: int | None = Field(default=None, ge=1, le=8760)


class PageRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    inbox_id: int | None
    enabled: bool
    match_type: str
    pattern: str
    seconds: int
    exit_intent: bool
    display: str
    message: dict[str, str]
    article_mode: str
    article_ids: list[int]
    search_query: str | None
    cap_hours: int
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class StatsOut(BaseModel):
    rule_id: int
    days: int
    shown: int = Field(description="Times the widget showed it.")
    reached: int = Field(description="Distinct visitors it was shown to.")
    clicked_article: int = Field(description="Visitors who opened a suggested article.")
    opened_chat: int = Field(description="Visitors who opened the chat from it.")
    needed_agent: int = Field(
        description="Visitors who within 24 h of a showing waited for a person or got an agent's reply."
    )
    self_served: int = Field(description="Visitors whose 24 h passed with no agent needed.")
    pending: int = Field(description="Visitors still inside their 24 h.")
    self_served_rate: float | None = Field(description="self_served ÷ (self_served + needed_agent).")

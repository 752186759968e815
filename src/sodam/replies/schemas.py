"""Wire shapes for canned replies (REST API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from sodam.contacts.schemas import no_nul
from sodam.replies.models import BODY_MAX, SHORTCUT_MAX, TITLE_MAX, ReplyScope


def _shortcut(value: str) -> str:
    value = value.strip().lstrip("/").strip()
    if not value:
        raise ValueError("must not be empty")
    if any(ch.isspace() for ch in value):
        raise ValueError("must be one word (no spaces): it is typed after '/'")
    return value


def _stripped(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


Shortcut = Annotated[str, AfterValidator(no_nul), AfterValidator(_shortcut)]
Title = Annotated[str, AfterValidator(no_nul), AfterValidator(_stripped)]
Body = Annotated[str, AfterValidator(no_nul), AfterValidator(_stripped)]


class CannedReplyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    scope: ReplyScope
    owner_agent_id: int | None = Field(description="The owner of a personal reply.")
    team_id: int | None = Field(description="The team of a team reply.")
    shortcut: str = Field(description="Typed after `/` in the reply box, e.g. `배송`.")
    title: str
    body: str = Field(description="Plain text with line breaks and `{{placeholders}}`.")
    created_by_id: int | None
    updated_by_id: int | None
    usage_count: int
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime


class CannedReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shortcut: Shortcut = Field(max_length=SHORTCUT_MAX, examples=["배송"])
    title: Title = Field(max_length=TITLE_MAX, examples=["배송 지연 안내"])
    body: Body = Field(
        max_length=BODY_MAX,
        examples=["{{contact.first_name}}님, 안녕하세요. 상담원 {{agent.name}}입니다."],
    )
    scope: ReplyScope = Field(
        default=ReplyScope.personal,
        description="personal (yours), team (needs team_id) or workspace; shared ones need replies.manage.",
    )
    team_id: int | None = Field(default=None, ge=1, le=2**63 - 1)

    @model_validator(mode="after")
    def _team_matches_scope(self):
        if self.scope is ReplyScope.team and self.team_id is None:
            raise ValueError("team_id is required for a team reply")
        if self.scope is not ReplyScope.team and self.team_id is not None:
            raise ValueError("team_id is only for team replies")
        return self


class CannedReplyUpdate(BaseModel):
    """Only the fields sent change. Moving a reply to another scope is allowed with the same rules
    as creating it there."""

    model_config = ConfigDict(extra="forbid")
    shortcut: Shortcut | None = Field(default=None, max_length=SHORTCUT_MAX + 1)
    title: Title | None = Field(default=None, max_length=TITLE_MAX)
    body: Body | None = Field(default=None, max_length=BODY_MAX)
    scope: ReplyScope | None = None
    team_id: int | None = Field(default=None, ge=1, le=2**63 - 1)


class RenderedReply(BaseModel):
    text: str = Field(description="The body with placeholders filled; unknown ones left as typed.")

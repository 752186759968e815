"""Wire shapes for conversations and messages (API, widget and sockets share them)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from sodam.conversations.models import Priority, Status


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    conversation_id: int
    seq: int
    direction: str
    kind: str
    sender_type: str
    sender_id: int | None
    sender_name: str | None = None
    # An agent's public avatar (attachment id) as customers see it; None: initial-letter avatar.
    sender_avatar: str | None = None
    content: str
    client_id: str | None
    payload: dict | None = None
    sentiment_score: float | None = None
    sentiment_label: str | None = None
    created_at: datetime


class ConversationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    inbox_id: int
    contact_id: int
    status: Status
    priority: Priority
    assignee_id: int | None
    team_id: int | None
    tags: list[str]
    language: str | None
    last_seq: int
    last_message_at: datetime | None
    last_message_preview: str | None
    snoozed_until: datetime | None = None
    queued_at: datetime | None = None
    sla_policy_id: int | None = None
    first_response_due_at: datetime | None = None
    next_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    # The e-mail subject of an e-mail conversation (None for other channels).
    subject: str | None = None
    created_at: datetime
    updated_at: datetime


class LinkButton(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=14)
    url: str = Field(min_length=8, max_length=500, pattern=r"^https?://")


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str = Field(
        default="",
        description="Plain text; HTML is shown as text, never rendered. May be empty with attachments.",
    )
    client_id: str | None = Field(
        default=None,
        max_length=64,
        description="Idempotency key: a retry with the same id returns the stored message.",
    )
    private: bool = Field(default=False, description="Agent only: a private note the customer never sees.")
    attachments: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Ids from POST /conversations/{id}/attachments: the files go with this message.",
    )
    via_inbox_id: int | None = Field(
        default=None,
        ge=1,
        description="Answer on another of the contact's channels (an inbox id): e-mail, an API or "
        "KakaoTalk inbox the contact has. Default: the conversation's own inbox.",
    )
    buttons: list[LinkButton] = Field(
        default_factory=list, max_length=5, description="Link buttons (KakaoTalk shows them)."
    )


class ConversationStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inbox_id: int = Field(ge=1, description="The inbox (channel) the conversation is on.")
    contact_id: int = Field(ge=1, description="The contact: reachable on that inbox.")
    content: str = Field(default="", max_length=100_000, description="An optional first message (agent).")
    subject: str | None = Field(default=None, max_length=300, description="E-mail: the subject.")
    client_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="Idempotency key, when not in the header."
    )


class ConversationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Status | None = None
    priority: Priority | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    tags: list[str] | None = None
    snoozed_until: datetime | None = Field(
        default=None, description="With status `snoozed`: when it opens again (or when the customer writes)."
    )


def message_out(message, sender_name: str | None = None) -> dict:
    return (
        MessageOut.model_validate(message)
        .model_copy(update={"sender_name": sender_name})
        .model_dump(mode="json")
    )

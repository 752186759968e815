"""Wire shapes for inboxes and the widget."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from sodam.channels.models import ChannelType


class InboxOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    channel_type: ChannelType
    public_token: str
    allowed_origins: list[str]
    settings: dict[str, Any]
    created_at: datetime


class InboxIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    channel_type: ChannelType = ChannelType.web_widget
    allowed_origins: list[str] = []
    settings: dict[str, Any] = {}


class InboxUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    allowed_origins: list[str] | None = None
    settings: dict[str, Any] | None = None


class WidgetMember(BaseModel):
    """Sodam("boot", {...}) from the host site: who the logged-in member is (docs/widget.md)."""

    model_config = ConfigDict(extra="forbid")
    member_id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    attributes: dict[str, Any] | None = None
    hash: str | None = Field(default=None, max_length=128)


class WidgetSessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visitor_token: str | None = None
    member: WidgetMember | None = None
    name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    locale: str | None = Field(default=None, max_length=16)


class WidgetMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str = ""
    client_id: str = Field(min_length=1, max_length=64)
    # Ids from POST /attachments: the files travel with the message (same client_id rules).
    attachments: list[str] = Field(default_factory=list, max_length=10)

"""Inboxes: one channel instance each (web widget now; email, API later)."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class ChannelType(str, enum.Enum):
    web_widget = "web_widget"
    email = "email"
    api = "api"
    phone = "phone"  # a voice line (sodam.voice): IVR, voicemail, callbacks


class Inbox(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "inboxes"
    __audit__ = "inbox"
    name: Mapped[str] = mapped_column(String(200))
    channel_type: Mapped[ChannelType] = mapped_column(
        Enum(ChannelType, name="channel_type"), default=ChannelType.web_widget
    )
    # Public identifier embedded in the widget snippet; not a secret.
    public_token: Mapped[str] = mapped_column(String(40), unique=True)
    allowed_origins: Mapped[list[str]] = mapped_column(ARRAY(String(300)), default=list)
    # color, position, greeting_ko/en, prechat_form (bool), company_name
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # Identity verification (Sodam("boot", {memberId, hash})): hash = hex HMAC-SHA256 of the
    # member id with this secret. Kept out of `settings`, which the API returns to agents.
    identity_secret: Mapped[str | None] = mapped_column(String(80))


class ApiIdempotencyKey(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """An API-channel request's Idempotency-Key (unique per inbox): the hash of the request it
    came with and what that request created, so a retry gets the same resource back."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("inbox_id", "key", name="uq_api_idempotency_keys_inbox_key"),)
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)

"""Contacts and their per-channel identities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class Contact(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "contacts"
    __audit__ = "contact"
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    company: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    custom_attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ContactIdentity(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One identity per channel (widget visitor id, e-mail address, phone, social id)."""

    __tablename__ = "contact_identities"
    __audit__ = "contact_identity"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel_type", "external_id", name="uq_contact_identity"),
    )
    contact_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"))
    channel_type: Mapped[str] = mapped_column(String(30))
    external_id: Mapped[str] = mapped_column(String(320))


class VisitorPage(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A page a widget visitor opened (reported by the widget, browser parsed on the server)."""

    __tablename__ = "visitor_pages"
    __table_args__ = (Index("ix_visitor_pages_contact", "contact_id", "id"),)
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"))
    visit_id: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(String(2000))
    title: Mapped[str | None] = mapped_column(String(300))
    referrer: Mapped[str | None] = mapped_column(String(2000))
    browser: Mapped[str | None] = mapped_column(String(80))
    os: Mapped[str | None] = mapped_column(String(80))
    device: Mapped[str | None] = mapped_column(String(20))

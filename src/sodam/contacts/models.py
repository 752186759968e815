"""Contacts and their per-channel identities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sodam.companies import models as _companies  # noqa: F401  (contacts.company_id)
from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class Contact(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "contacts"
    __audit__ = "contact"
    __audit_ignore__ = ("phone_normalized",)
    __table_args__ = (
        # One contact per e-mail (case-insensitive) and per phone (E.164) in a workspace.
        Index(
            "uq_contacts_email",
            "workspace_id",
            text("lower(email)"),
            unique=True,
            postgresql_where=text("email IS NOT NULL"),
        ),
        Index(
            "uq_contacts_phone",
            "workspace_id",
            "phone_normalized",
            unique=True,
            postgresql_where=text("phone_normalized IS NOT NULL"),
        ),
    )
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    # The company's name, kept in step with `company_id` (readers that want only the name,
    # e.g. lists and the API's `company` field, need no join).
    company: Mapped[str | None] = mapped_column(String(200))
    company_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    # `phone` as E.164 (KR by default), set by the service: one contact per number and workspace.
    phone_normalized: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(8))
    custom_attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ContactAttributeDefinition(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A typed custom attribute of contacts or companies (values live in their JSONB
    `custom_attributes` under `key`; keys without a definition stay free text)."""

    __tablename__ = "contact_attribute_definitions"
    __audit__ = "contact_attribute"
    __table_args__ = (
        UniqueConstraint("workspace_id", "applies_to", "key", name="uq_contact_attribute_definitions_key"),
    )
    applies_to: Mapped[str] = mapped_column(String(10), default="contact")  # contact | company
    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(10))  # text number money date list boolean
    options: Mapped[list[str]] = mapped_column(JSONB, default=list)  # the allowed values of a list
    currency: Mapped[str] = mapped_column(String(3), default="KRW")  # money's default currency
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ContactMerge(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """Two contacts made one: enough of the loser to put it back within UNDO_HOURS."""

    __tablename__ = "contact_merges"
    __audit__ = "contact_merge"
    winner_id: Mapped[int] = mapped_column(BigInteger, index=True)
    loser_id: Mapped[int] = mapped_column(BigInteger)
    loser: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the loser's row as it was
    winner_before: Mapped[dict[str, Any]] = mapped_column(JSONB)  # fields the merge changed
    winner_after: Mapped[dict[str, Any]] = mapped_column(JSONB)
    moved: Mapped[dict[str, list[int]]] = mapped_column(JSONB)  # "table.column" -> row ids
    agent_id: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ContactImport(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A CSV uploaded in the console, imported by a durable job; its bad rows stay for download."""

    __tablename__ = "contact_imports"
    __audit_ignore__ = ("content", "processed", "updated_at")
    __audit__ = "contact_import"
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued running done failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)  # [{line, reason}]
    message: Mapped[str | None] = mapped_column(String(500))
    agent_id: Mapped[int | None] = mapped_column(BigInteger)
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

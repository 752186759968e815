"""E-mail inboxes (address and relay) and the Message-IDs of every e-mail conversation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class MailInbox(TimestampMixin, WorkspaceScoped, Base):
    """An e-mail inbox's address (RCPT TO routes by it) and its outbound relay."""

    __tablename__ = "mail_inboxes"
    __audit__ = "mail_inbox"
    __audit_ignore__ = (
        "smtp_password",
        "imap_password",
        "imap_uidvalidity",
        "imap_last_uid",
        "imap_checked_at",
        "imap_error",
    )
    __audit_target_id__ = "inbox_id"
    inbox_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str] = mapped_column(String(320), unique=True)
    smtp_host: Mapped[str | None] = mapped_column(String(255))
    smtp_port: Mapped[int] = mapped_column(Integer, default=587, server_default="587")
    # starttls | tls | none
    smtp_security: Mapped[str] = mapped_column(String(10), default="starttls", server_default="starttls")
    smtp_username: Mapped[str | None] = mapped_column(String(320))
    # Kept here, never in the inbox's `settings` (which the API returns) nor in any response.
    smtp_password: Mapped[str | None] = mapped_column(String(500))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    signature_ko: Mapped[str] = mapped_column(Text, default="", server_default="")
    signature_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Optional: a mailbox polled over IMAP (when mail cannot be pointed at the SMTP listener).
    imap_host: Mapped[str | None] = mapped_column(String(255))
    imap_port: Mapped[int] = mapped_column(Integer, default=993, server_default="993")
    imap_security: Mapped[str] = mapped_column(String(10), default="tls", server_default="tls")
    imap_username: Mapped[str | None] = mapped_column(String(320))
    imap_password: Mapped[str | None] = mapped_column(String(500))
    imap_folder: Mapped[str] = mapped_column(String(200), default="INBOX", server_default="INBOX")
    imap_uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    imap_last_uid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    imap_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    imap_error: Mapped[str | None] = mapped_column(String(300))


class MailMessageId(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One Message-ID of a conversation: the customer's (theirs) or one we sent (ours)."""

    __tablename__ = "mail_message_ids"
    __table_args__ = (
        Index("uq_mail_message_ids_inbox_mail_id", "inbox_id", "mail_id", unique=True),
        Index("ix_mail_message_ids_conversation", "conversation_id", "id"),
        Index("ix_mail_message_ids_message", "message_id"),
    )
    inbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    message_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("messages.id", ondelete="CASCADE"))
    # Without the angle brackets.
    mail_id: Mapped[str] = mapped_column(String(998))
    ours: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

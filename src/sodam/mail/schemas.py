"""Wire shapes of an e-mail inbox's settings (the relay password is written, never read)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MailConfigOut(BaseModel):
    inbox_id: int
    address: str
    smtp_host: str | None
    smtp_port: int
    smtp_security: Literal["starttls", "tls", "none"]
    smtp_username: str | None
    has_password: bool
    reply_to: str | None
    signature_ko: str
    signature_en: str
    imap_host: str | None
    imap_port: int
    imap_security: Literal["starttls", "tls", "none"]
    imap_username: str | None
    has_imap_password: bool
    imap_folder: str
    imap_checked_at: datetime | None
    imap_error: str | None

    @classmethod
    def of(cls, config) -> MailConfigOut:
        return cls(
            inbox_id=config.inbox_id,
            address=config.address,
            smtp_host=config.smtp_host,
            smtp_port=config.smtp_port,
            smtp_security=config.smtp_security,
            smtp_username=config.smtp_username,
            has_password=bool(config.smtp_password),
            reply_to=config.reply_to,
            signature_ko=config.signature_ko or "",
            signature_en=config.signature_en or "",
            imap_host=config.imap_host,
            imap_port=config.imap_port,
            imap_security=config.imap_security,
            imap_username=config.imap_username,
            has_imap_password=bool(config.imap_password),
            imap_folder=config.imap_folder,
            imap_checked_at=config.imap_checked_at,
            imap_error=config.imap_error,
        )


class MailConfigIn(BaseModel):
    """Absent fields stay as they are; a password "" removes the stored one. `imap_host` set:
    the mailbox is polled every minute (empty string: no polling)."""

    model_config = ConfigDict(extra="forbid")
    address: str | None = Field(default=None, max_length=320)
    smtp_host: str | None = Field(default=None, max_length=255)
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] | None = None
    smtp_username: str | None = Field(default=None, max_length=320)
    smtp_password: str | None = Field(default=None, max_length=500)
    reply_to: str | None = Field(default=None, max_length=320)
    signature_ko: str | None = Field(default=None, max_length=2000)
    signature_en: str | None = Field(default=None, max_length=2000)
    imap_host: str | None = Field(default=None, max_length=255)
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    imap_security: Literal["starttls", "tls", "none"] | None = None
    imap_username: str | None = Field(default=None, max_length=320)
    imap_password: str | None = Field(default=None, max_length=500)
    imap_folder: str | None = Field(default=None, max_length=200)

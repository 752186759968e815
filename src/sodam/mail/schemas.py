"""Wire shapes of an e-mail inbox's settings (the relay password is written, never read)."""

from __future__ import annotations

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
        )


class MailConfigIn(BaseModel):
    """Absent fields stay as they are; `smtp_password` "" removes the stored password."""

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

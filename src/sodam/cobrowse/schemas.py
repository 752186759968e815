"""Co-browsing's API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

RRWEB_VERSION = "2.2.2"  # web/static/vendor/rrweb-<version>.min.js (vendor/rrweb-README.md)


class SessionOut(BaseModel):
    """One co-browsing session: the log of it, never the page."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    conversation_id: int
    contact_id: int
    requested_by: int | None
    status: str = Field(description="requested | active | declined | expired | ended")
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    ended_by: str | None = Field(description="contact | agent | system")
    end_reason: str | None
    duration_s: int | None = Field(description="From the customer's consent to the end.")


class SettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    enabled: bool
    mask_selectors: list[str] = Field(
        description="Masked in the customer's browser on top of password fields and [data-sodam-mask]."
    )


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    mask_selectors: list[str] | None = Field(default=None, max_length=200)


def session_out(row, status: str) -> SessionOut:
    from sodam.cobrowse.service import duration_s

    return SessionOut(
        id=row.id,
        conversation_id=row.conversation_id,
        contact_id=row.contact_id,
        requested_by=row.requested_by,
        status=status,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        ended_by=row.ended_by,
        end_reason=row.end_reason,
        duration_s=duration_s(row),
    )

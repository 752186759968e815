"""Wire shapes and filters of the audit log."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict

from sodam.core.errors import Invalid
from sodam.core.pagination import MAX_ID

# What the log holds (for the console's filter); an action is "<target type>.<verb>".
TARGET_TYPES = (
    "contact",
    "conversation",
    "inbox",
    "agent",
    "team",
    "token",
    "kb_article",
    "kb_category",
    "kb_question",
    "bot_proposal",
    "privacy_settings",
    "workspace",
    "canned_reply",
    "sla_policy",
    "webhook_subscription",
    "retention",
    "audit",
)
EXPORT_FIELDS = (
    "id",
    "created_at",
    "actor_type",
    "agent_id",
    "token_id",
    "action",
    "target_type",
    "target_id",
    "ip",
    "user_agent",
    "details",
)


class AuditEntryOut(BaseModel):
    """One entry: who (actor), did what (action) to what (target), when, from where."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime
    actor_type: Literal["agent", "token", "system"]
    agent_id: int | None
    token_id: int | None
    action: str
    target_type: str
    target_id: int | None
    ip: str | None
    user_agent: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class AuditFilters:
    actor_type: str | None = None
    agent_id: int | None = None
    token_id: int | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def as_kwargs(self) -> dict[str, Any]:
        return asdict(self)

    def as_details(self) -> dict[str, Any]:
        """The filters an export used (for the export's own audit entry)."""
        return {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in asdict(self).items()
            if v is not None
        }


def audit_filters(
    actor_type: Literal["agent", "token", "system"] | None = Query(default=None),
    agent_id: int | None = Query(
        default=None, ge=1, le=MAX_ID, description="The agent (or the agent a token acts as)."
    ),
    token_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    action: str | None = Query(
        default=None,
        max_length=60,
        pattern=r"^[a-z_]+(\.[a-z_]*)?$",
        description='e.g. "contact.read", or "contact." for every contact action.',
    ),
    target_type: str | None = Query(default=None, max_length=40, pattern=r"^[a-z_]+$"),
    target_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    since: datetime | None = Query(default=None, description="From this time on (ISO 8601)."),
    until: datetime | None = Query(default=None, description="Before this time (ISO 8601)."),
) -> AuditFilters:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise Invalid(
                f"{name} needs a time zone (e.g. 2026-01-01T00:00:00+09:00)", code="validation_error"
            )
    if since and until and since >= until:
        raise Invalid("since must be before until", code="validation_error")
    return AuditFilters(actor_type, agent_id, token_id, action or None, target_type, target_id, since, until)

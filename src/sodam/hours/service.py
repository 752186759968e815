"""Business hours of inboxes and teams: read and save (validated). Services never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.channels import service as inboxes
from sodam.core.errors import Invalid
from sodam.hours import validate
from sodam.hours.calendar import DEFAULT_HOURS


def _checked(config: dict[str, Any]) -> dict[str, Any]:
    cleaned, problems = validate.check_config(config)
    if problems:
        raise Invalid(
            "the business hours are not valid",
            code="invalid_business_hours",
            details={"problems": [{"field": p.field, "code": p.code, **p.params} for p in problems]},
        )
    return cleaned


async def inbox_hours(session: AsyncSession, *, workspace_id: int, inbox_id: int) -> dict[str, Any]:
    """An inbox's hours (the default — weekdays 09:00–18:00 in Seoul, Korean holidays — until set)."""
    inbox = await inboxes.get(session, workspace_id=workspace_id, inbox_id=inbox_id)
    return (inbox.settings or {}).get("business_hours") or DEFAULT_HOURS


async def save_inbox_hours(
    session: AsyncSession, *, workspace_id: int, inbox_id: int, config: dict[str, Any]
) -> dict[str, Any]:
    """Validate and store an inbox's hours."""
    cleaned = _checked(config)
    await inboxes.update(
        session, workspace_id=workspace_id, inbox_id=inbox_id, settings={"business_hours": cleaned}
    )
    return cleaned


async def team_hours(session: AsyncSession, *, workspace_id: int, team_id: int) -> dict[str, Any] | None:
    """A team's own hours, or None (the inbox's apply)."""
    team = await accounts.get_team(session, workspace_id=workspace_id, team_id=team_id)
    return team.business_hours


async def save_team_hours(
    session: AsyncSession, *, workspace_id: int, team_id: int, config: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Validate and store a team's hours (None: follow the inbox's)."""
    team = await accounts.get_team(session, workspace_id=workspace_id, team_id=team_id)
    team.business_hours = _checked(config) if config is not None else None
    await session.flush()
    return team.business_hours

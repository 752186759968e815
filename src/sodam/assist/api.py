"""REST API v1: agent assist for a conversation, usage reports and the usage figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from sodam.accounts.auth import ApiSession, ReadPrincipal, WritePrincipal
from sodam.assist import service
from sodam.assist.schemas import AssistIn, UsageIn
from sodam.core.errors import Invalid
from sodam.core.params import IdPath

router = APIRouter(prefix="/api/v1", tags=["assist"])
MAX_DAYS = 366


@router.post(
    "/conversations/{conversation_id}/assist",
    summary="Suggestions for the agent's reply",
    description="For the customer's last question: the top knowledge-base `articles` and past agent "
    "`replies` (each with `insert_text`), a `canned` reply, an `empathy` prompt when the customer's "
    "sentiment is negative (else null), and a `reminder` when a promised time is within 15 minutes "
    "or past (else null). `draft` (what the agent typed) re-ranks the suggestions. A POST, so that "
    "drafts stay out of URLs; it changes nothing.",
)
async def assist(
    conversation_id: IdPath, body: AssistIn, principal: ReadPrincipal, session: ApiSession
) -> dict:
    return await service.suggest(
        session,
        workspace_id=principal.workspace_id,
        conversation_id=conversation_id,
        agent_id=principal.agent_id,
        role=principal.role,
        draft=body.draft,
        ui_locale=principal.locale,
    )


@router.post("/assist/usage", status_code=204, summary="Report suggestions shown / inserted")
async def usage(body: UsageIn, principal: WritePrincipal, session: ApiSession) -> None:
    await service.record(
        session, workspace_id=principal.workspace_id, shown=body.shown, inserted=body.inserted
    )


@router.get(
    "/assist/stats",
    summary="How often suggestions are used",
    description="Shown / inserted per kind (article, reply, canned, empathy, reminder) and per day "
    "(UTC) over `since`..`until` (default: the last 7 days), with the insert rate.",
)
async def stats(
    principal: ReadPrincipal,
    session: ApiSession,
    since: Annotated[date | None, Query()] = None,
    until: Annotated[date | None, Query()] = None,
) -> dict:
    today = datetime.now(UTC).date()
    until = until or today
    if since is None:
        since = until - timedelta(days=6) if until.toordinal() > 6 else date.min
    if since > until or (until - since).days >= MAX_DAYS:
        raise Invalid(
            f"since must be on or before until, at most {MAX_DAYS} days apart", code="invalid_range"
        )
    return await service.stats(session, workspace_id=principal.workspace_id, since=since, until=until)

"""REST API v1: a contact's screen pop and timeline (read with `work`, like the contact)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from sodam.accounts.auth import ApiSession, ReadPrincipal
from sodam.audit import service as audit
from sodam.core.errors import Invalid
from sodam.core.pagination import PageQuery, decode_cursor, encode_cursor
from sodam.core.params import IdPath
from sodam.crm import screen_pop, timeline
from sodam.segments import service as segments

router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])


@router.get(
    "/{contact_id}/summary",
    summary="A contact's screen pop",
    description="Name, company, tier (`tier`/`segment`/`plan` attribute), account value "
    "(`account_value` attribute), customer since and tenure, lifetime and open conversations, the "
    "last CSAT / NPS / CES answers, the sentiment of the last interaction (−1..1 with its label), "
    "recent conversations on every channel, the page the customer is on now, and the segments "
    "the contact is in (`segments`: id and name; the first 20 segments by name are checked), and the "
    "churn risk (`churn_risk`: score 0–1, the reasons pushing it up most, when it was scored; null "
    "before the workspace's model has scored the customer).",
)
async def contact_summary(contact_id: IdPath, principal: ReadPrincipal, session: ApiSession) -> dict:
    data = await screen_pop.summary(session, workspace_id=principal.workspace_id, contact_id=contact_id)
    data["segments"] = await _segments_of(session, principal.workspace_id, contact_id)
    await audit.record(session, action="contact.read", target_type="contact", target_id=contact_id)
    return data


async def _segments_of(session, workspace_id: int, contact_id: int) -> list[dict]:
    rows = await segments.of_contact(session, workspace_id=workspace_id, contact_id=contact_id)
    return [{"id": s.id, "name": s.name} for s in rows]


@router.get(
    "/{contact_id}/timeline",
    summary="A contact's timeline, newest first",
    description="Conversations (with their message summary), status changes and survey answers "
    f"across every channel; `kind` filters (known: {', '.join(timeline.SOURCES)}). Keyset-paginated.",
)
async def contact_timeline(
    contact_id: IdPath,
    principal: ReadPrincipal,
    session: ApiSession,
    page: PageQuery,
    kind: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> dict:
    after = None
    if page.cursor:
        at = decode_cursor(page.cursor, "timeline", {"at": str, "e": str, "id": int})
        try:
            after = (datetime.fromisoformat(at["at"]), at["e"], at["id"])
        except ValueError:
            raise Invalid("bad cursor", code="invalid_cursor") from None
    rows = await timeline.page(
        session,
        workspace_id=principal.workspace_id,
        contact_id=contact_id,
        after=after,
        limit=page.limit + 1,
        kinds=kind,
    )
    cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last = rows[-1]
        cursor = encode_cursor(
            "timeline", {"at": last["at"].isoformat(), "e": last["kind"], "id": last["id"]}
        )
    await audit.record(session, action="contact.read", target_type="contact", target_id=contact_id)
    return {"data": rows, "next_cursor": cursor}

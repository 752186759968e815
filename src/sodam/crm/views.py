"""Console: the screen pop in a conversation's right pane and a contact's timeline (fragments
loaded by htmx as the conversation or the contact page opens)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query

from sodam.accounts.sessions import Console, console
from sodam.core.pagination import decode_cursor, encode_cursor
from sodam.core.params import IdPath
from sodam.crm import screen_pop, timeline
from sodam.segments import service as segments

router = APIRouter(prefix="/console/contacts", include_in_schema=False)
PAGE = 20


@router.get("/{contact_id}/screen-pop")
async def screen_pop_fragment(
    contact_id: IdPath, conversation: int | None = Query(default=None, ge=1), ctx: Console = Depends(console)
):
    """Who the customer is, at a glance (the contact read is logged by the page that loads it)."""
    data = await screen_pop.summary(ctx.session, workspace_id=ctx.workspace_id, contact_id=contact_id)
    data["segments"] = await segments.of_contact(
        ctx.session, workspace_id=ctx.workspace_id, contact_id=contact_id
    )
    if data["churn_risk"]:  # the reasons in the agent's language (the reports' wording)
        for reason in data["churn_risk"]["reasons"]:
            key = "reports.churn.feature." + reason["feature"] + "." + reason["direction"]
            reason["label"] = ctx.t(key) if ctx.t(key) != key else reason["feature"]
    return ctx.render("crm/_screen_pop.html", {"pop": data, "current_conversation": conversation})


@router.get("/{contact_id}/timeline")
async def timeline_fragment(
    contact_id: IdPath,
    cursor: str | None = Query(default=None, max_length=400),
    ctx: Console = Depends(console),
):
    """One page of the contact's timeline, with a "more" button for the next."""
    after = None
    if cursor:
        at = decode_cursor(cursor, "timeline", {"at": str, "e": str, "id": int})
        after = (datetime.fromisoformat(at["at"]), at["e"], at["id"])
    rows = await timeline.page(
        ctx.session, workspace_id=ctx.workspace_id, contact_id=contact_id, after=after, limit=PAGE + 1
    )
    next_cursor = None
    if len(rows) > PAGE:
        rows = rows[:PAGE]
        last = rows[-1]
        next_cursor = encode_cursor(
            "timeline", {"at": last["at"].isoformat(), "e": last["kind"], "id": last["id"]}
        )
    return ctx.render(
        "crm/_timeline.html",
        {"entries": rows, "next_cursor": next_cursor, "contact_id": contact_id, "more": bool(cursor)},
    )

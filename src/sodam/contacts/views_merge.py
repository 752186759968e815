"""Console: merging another contact into this one (pick, preview with a winner per
conflicting field, merge) and undoing a merge within 24 hours."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.audit import service as audit
from sodam.contacts import attributes, merge
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.core.errors import Conflict
from sodam.core.params import IdPath

router = APIRouter(prefix="/console", include_in_schema=False)
manage = console_access(Permission.contacts_manage)
FIELDS = ("name", "email", "phone", "language", "company")


def _rows(winner, loser) -> list[dict[str, Any]]:
    found = merge.conflicts(winner, loser)
    rows = []
    for field in FIELDS:
        rows.append(
            {
                "field": field,
                "mine": getattr(winner, field) or "",
                "theirs": getattr(loser, field) or "",
                "conflict": field in found["fields"],
            }
        )
    return rows


@router.get("/contacts/{contact_id}/merge")
async def merge_page(
    contact_id: IdPath,
    q: str | None = Query(default=None, max_length=200),
    other: int | None = Query(default=None, ge=1, le=2**63 - 1),
    ctx: Console = Depends(manage),
):
    """Find the contact to merge in, then preview what the merge does."""
    contact = await contacts.get(ctx.session, workspace_id=ctx.workspace_id, contact_id=contact_id)
    context: dict[str, Any] = {"section": "contacts", "contact": contact, "q": q or "", "candidates": []}
    if other is not None:
        loser = await contacts.get(ctx.session, workspace_id=ctx.workspace_id, contact_id=other)
        found = merge.conflicts(contact, loser)
        definitions = await attributes.definitions(ctx.session, workspace_id=ctx.workspace_id)
        moving = await conversations.list_(
            ctx.session, workspace_id=ctx.workspace_id, contact_id=loser.id, status=None, limit=200
        )
        identities = await contacts.identities(
            ctx.session, workspace_id=ctx.workspace_id, contact_id=loser.id
        )
        context.update(
            other=loser,
            rows=_rows(contact, loser),
            attribute_conflicts=[
                {
                    "key": k,
                    "label": definitions[k].label if k in definitions else k,
                    "mine": attributes.display(definitions.get(k), contact.custom_attributes[k]),
                    "theirs": attributes.display(definitions.get(k), loser.custom_attributes[k]),
                }
                for k in found["attributes"]
            ],
            moving_conversations=len(moving),
            moving_identities=len(identities),
            same=loser.id == contact.id,
        )
    elif q and q.strip():
        found = await contacts.list_(ctx.session, workspace_id=ctx.workspace_id, query=q.strip(), limit=20)
        context["candidates"] = [c for c in found if c.id != contact.id]
    return ctx.render("console/contact_merge.html", context)


@router.post("/contacts/{contact_id}/merge")
async def merge_now(contact_id: IdPath, request: Request, ctx: Console = Depends(manage)):
    """Merge the chosen contact into this one, then show this one (with the undo button)."""
    form = await request.form()
    try:
        other_id = int(str(form.get("other_id") or "0"))
    except ValueError:
        other_id = 0
    choices: dict[str, Any] = {f: "loser" for f in FIELDS if form.get(f"choice.{f}") == "loser"}
    choices["attributes"] = {
        key.removeprefix("attr_choice."): "loser"
        for key, value in form.items()
        if key.startswith("attr_choice.") and value == "loser"
    }
    record = await merge.merge(
        ctx.session,
        workspace_id=ctx.workspace_id,
        winner_id=contact_id,
        loser_id=other_id,
        choices=choices,
        agent_id=ctx.agent.id,
    )
    await audit.record(
        ctx.session,
        action="contact.merged",
        target_type="contact",
        target_id=contact_id,
        details={"merge_id": record.id, "loser_id": other_id},
    )
    await ctx.session.commit()
    return _redirect(request, f"/console/contacts/{contact_id}")


@router.post("/contact-merges/{merge_id}/undo")
async def undo(merge_id: IdPath, request: Request, ctx: Console = Depends(manage)):
    """Put the merged contact back; then show it (or say why not on the merged contact's page)."""
    workspace_id = ctx.workspace_id  # read before a rollback expires the agent
    try:
        async with ctx.session.begin_nested():
            record = await merge.undo(ctx.session, workspace_id=workspace_id, merge_id=merge_id)
    except (merge.MergeExpired, Conflict) as exc:
        found = await merge.get(ctx.session, workspace_id=workspace_id, merge_id=merge_id)
        return _redirect(request, f"/console/contacts/{found.winner_id}?undo_failed={exc.code}")
    await audit.record(
        ctx.session,
        action="contact.merge_undone",
        target_type="contact",
        target_id=record.loser_id,
        details={"merge_id": record.id, "winner_id": record.winner_id},
    )
    await ctx.session.commit()
    return _redirect(request, f"/console/contacts/{record.loser_id}?undone=1")


def _redirect(request: Request, url: str):
    if request.headers.get("hx-request"):
        from fastapi import Response

        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)

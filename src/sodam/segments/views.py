"""Console: 세그먼트 — the list with live counts (each loaded on its own), the builder (rows of
conditions; console-segments.js keeps the JSON filter and refreshes the count through the
preview as conditions change), a segment's contacts, and the contacts list's segment picker."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console, console_access
from sodam.audit import service as audit
from sodam.core.errors import AppError, Invalid
from sodam.core.params import IdPath
from sodam.segments import service
from sodam.segments.filters import CHANNELS, FIELDS, SENTIMENT_LABELS, parse

router = APIRouter(prefix="/console/segments", include_in_schema=False)
Manager = Depends(console_access(Permission.segments_manage))
PAGE = 50
MAX_FILTER_CHARS = 20_000
STARTER = {"all": [{"field": "tier", "op": "eq", "value": "VIP"}]}


def builder_context(ctx: Console) -> dict:
    """What the builder's rows offer: fields with their operators, labelled in the agent's language."""
    return {
        "fields": {f: list(ops) for f, ops in FIELDS.items()},
        "field_labels": {f: ctx.t(f"segments.field.{f}") for f in FIELDS},
        "op_labels": {op: ctx.t(f"segments.op.{op}") for ops in FIELDS.values() for op in ops},
        "channels": list(CHANNELS),
        "sentiments": {s: ctx.t(f"crm.sentiment.{s}") for s in SENTIMENT_LABELS},
    }


def _filter_from(raw: str) -> dict:
    if len(raw) > MAX_FILTER_CHARS:
        raise Invalid(
            "the filter is too long", code="invalid_filter", details={"path": "filter", "reason": "too long"}
        )
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        raise Invalid(
            "the filter is not JSON", code="invalid_filter", details={"path": "filter", "reason": "not JSON"}
        ) from None
    parse(value)
    return value


@router.get("")
async def segments_page(ctx: Console = Depends(console)):
    """Every segment; each row's count is fetched live by its own request (no slow page)."""
    rows = await service.list_(ctx.session, workspace_id=ctx.workspace_id, limit=500)
    rows.sort(key=lambda s: s.name)
    return ctx.render(
        "segments/list.html",
        {"section": "segments", "segments": rows, "saved": ctx.request.query_params.get("saved")},
    )


@router.get("/picker")
async def picker(current: int | None = Query(default=None, ge=1), ctx: Console = Depends(console)):
    """The contacts list's "filter by segment" control."""
    rows = await service.list_(ctx.session, workspace_id=ctx.workspace_id, limit=500)
    rows.sort(key=lambda s: s.name)
    return ctx.render("segments/_picker.html", {"segments": rows, "current": current})


@router.get("/browse")
async def browse(segment: int | None = Query(default=None, ge=1), ctx: Console = Depends(console)):
    """The picker's form target: to the segment's contacts (or back to every contact)."""
    if segment is None:
        return RedirectResponse("/console/contacts", status_code=303)
    found = await service.get(ctx.session, workspace_id=ctx.workspace_id, segment_id=segment)
    return RedirectResponse(f"/console/segments/{found.id}/contacts", status_code=303)


@router.get("/new")
async def new_segment(ctx: Console = Manager):
    return ctx.render(
        "segments/edit.html",
        {
            "section": "segments",
            "segment": None,
            "filter_json": json.dumps(STARTER, ensure_ascii=False),
            "error": None,
        }
        | builder_context(ctx),
    )


@router.post("/preview")
async def preview(request: Request, ctx: Console = Depends(console)):
    """The builder's live count: {count} or {error: {path, reason}} (JSON, for the script)."""
    form = await request.form()
    try:
        value = _filter_from(str(form.get("filter") or ""))
        total = await service.count(ctx.session, workspace_id=ctx.workspace_id, filter=value)
    except AppError as exc:
        return JSONResponse(exc.body(), status_code=exc.status_code)
    return JSONResponse({"count": total})


async def _save(request: Request, ctx: Console, segment_id: int | None):
    form = await request.form()
    name = str(form.get("name") or "").strip()[:200]
    description = str(form.get("description") or "").strip()[:1000] or None
    raw = str(form.get("filter") or "")
    try:
        if not name:
            raise Invalid(ctx.t("segments.error.name"), code="invalid_name")
        value = _filter_from(raw)
        if segment_id is None:
            segment = await service.create(
                ctx.session,
                workspace_id=ctx.workspace_id,
                name=name,
                description=description,
                filter=value,
                created_by=ctx.agent.id,
            )
        else:
            segment = await service.update(
                ctx.session,
                workspace_id=ctx.workspace_id,
                segment_id=segment_id,
                name=name,
                description=description,
                filter=value,
            )
    except AppError as exc:
        if exc.status_code == 404:
            raise
        # Nothing was written (the checks come first; a taken name rolled back its savepoint):
        # show the form again with what was typed, the stored segment reloaded as it is.
        current = None
        if segment_id is not None:
            current = await service.get(ctx.session, workspace_id=ctx.workspace_id, segment_id=segment_id)
            await ctx.session.refresh(current)
        details = exc.details if isinstance(exc.details, dict) else {}
        error = exc.message if "path" not in details else f"{details['path']}: {details.get('reason')}"
        return ctx.render(
            "segments/edit.html",
            {
                "section": "segments",
                "segment": current,
                "name": name,
                "description": description,
                "filter_json": raw,
                "error": error,
            }
            | builder_context(ctx),
            status_code=exc.status_code,
        )
    await ctx.session.commit()
    return RedirectResponse(f"/console/segments?saved={segment.id}", status_code=303)


@router.post("")
async def create_segment(request: Request, ctx: Console = Manager):
    return await _save(request, ctx, None)


@router.get("/{segment_id}")
async def edit_segment(segment_id: IdPath, ctx: Console = Manager):
    segment = await service.get(ctx.session, workspace_id=ctx.workspace_id, segment_id=segment_id)
    return ctx.render(
        "segments/edit.html",
        {
            "section": "segments",
            "segment": segment,
            "filter_json": json.dumps(segment.filter, ensure_ascii=False),
            "error": None,
        }
        | builder_context(ctx),
    )


@router.post("/{segment_id}")
async def update_segment(segment_id: IdPath, request: Request, ctx: Console = Manager):
    return await _save(request, ctx, segment_id)


@router.post("/{segment_id}/delete")
async def delete_segment(segment_id: IdPath, ctx: Console = Manager):
    await service.delete(ctx.session, workspace_id=ctx.workspace_id, segment_id=segment_id)
    await ctx.session.commit()
    return RedirectResponse("/console/segments", status_code=303)


@router.get("/{segment_id}/count")
async def count_fragment(segment_id: IdPath, ctx: Console = Depends(console)):
    """One segment's live count (the list loads each row's on its own)."""
    segment = await service.get(ctx.session, workspace_id=ctx.workspace_id, segment_id=segment_id)
    total = await service.count(ctx.session, workspace_id=ctx.workspace_id, filter=segment.filter)
    return ctx.render("segments/_count.html", {"count": total, "segment": segment})


@router.get("/{segment_id}/contacts")
async def segment_contacts(
    segment_id: IdPath, before: int | None = Query(default=None, ge=1), ctx: Console = Depends(console)
):
    """The contacts list, filtered by a segment (newest first, 50 a page)."""
    segment = await service.get(ctx.session, workspace_id=ctx.workspace_id, segment_id=segment_id)
    people = await service.contacts(
        ctx.session, workspace_id=ctx.workspace_id, filter=segment.filter, after_id=before, limit=PAGE + 1
    )
    more = people[PAGE - 1].id if len(people) > PAGE else None
    people = people[:PAGE]
    total = await service.count(ctx.session, workspace_id=ctx.workspace_id, filter=segment.filter)
    await audit.record(
        ctx.session,
        action="contact.listed",
        target_type="contact",
        details={"contact_ids": [c.id for c in people], "segment_id": segment.id},
    )
    return ctx.render(
        "segments/contacts.html",
        {"section": "contacts", "segment": segment, "contacts": people, "count": total, "more": more},
    )

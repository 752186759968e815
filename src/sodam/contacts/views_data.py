"""Console: typed attribute settings (contacts.manage), CSV import as a job with its progress
and bad-row report, and the export download (contacts.import)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse, StreamingResponse

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.audit import service as audit
from sodam.contacts import attributes, csvio, importer, imports
from sodam.core.errors import AppError
from sodam.core.params import IdPath

router = APIRouter(prefix="/console", include_in_schema=False)
manage = console_access(Permission.contacts_manage)
transfer = console_access(Permission.contacts_import)


async def _attributes_page(ctx: Console, **extra):
    rows = list(await attributes.list_all(ctx.session, workspace_id=ctx.workspace_id))
    return ctx.render(
        "console/contact_attributes.html",
        {"section": "contacts", "definitions": rows, "types": attributes.TYPES, **extra},
    )


@router.get("/settings/contact-attributes")
async def attributes_page(ctx: Console = Depends(manage)):
    return await _attributes_page(ctx)


@router.post("/settings/contact-attributes")
async def create_attribute(
    key: str = Form(default="", max_length=60),
    label: str = Form(default="", max_length=200),
    type: str = Form(default="text", max_length=10),  # noqa: A002
    options: str = Form(default="", max_length=5000),
    currency: str = Form(default="KRW", max_length=3),
    applies_to: str = Form(default="contact", max_length=10),
    ctx: Console = Depends(manage),
):
    """Define an attribute (options one per line or comma-separated)."""
    try:
        async with ctx.session.begin_nested():
            await attributes.create(
                ctx.session,
                workspace_id=ctx.workspace_id,
                key=key.strip().lower(),
                label=label,
                type=type,
                options=[o for line in options.splitlines() for o in line.split(",")],
                currency=currency or "KRW",
                applies_to=applies_to,
            )
    except AppError as exc:
        return await _attributes_page(
            ctx,
            error=ctx.t(f"contacts.attributes.error.{exc.code}", name=key),
            form={"key": key, "label": label},
        )
    await ctx.session.commit()
    return await _attributes_page(ctx, notice=ctx.t("contacts.attributes.created", name=key.strip().lower()))


@router.post("/settings/contact-attributes/{definition_id}")
async def update_attribute(
    definition_id: IdPath,
    label: str = Form(default="", max_length=200),
    options: str = Form(default="", max_length=5000),
    ctx: Console = Depends(manage),
):
    try:
        async with ctx.session.begin_nested():
            await attributes.update(
                ctx.session,
                workspace_id=ctx.workspace_id,
                definition_id=definition_id,
                label=label or None,
                options=[o for line in options.splitlines() for o in line.split(",")]
                if options.strip()
                else None,
            )
    except AppError as exc:
        return await _attributes_page(ctx, error=ctx.t(f"contacts.attributes.error.{exc.code}", name=""))
    await ctx.session.commit()
    return await _attributes_page(ctx, notice=ctx.t("console.saved"))


@router.post("/settings/contact-attributes/{definition_id}/delete")
async def delete_attribute(definition_id: IdPath, ctx: Console = Depends(manage)):
    await attributes.delete(ctx.session, workspace_id=ctx.workspace_id, definition_id=definition_id)
    await ctx.session.commit()
    return await _attributes_page(ctx, notice=ctx.t("contacts.attributes.deleted"))


@router.get("/contact-imports")
async def imports_page(ctx: Console = Depends(transfer)):
    recent = await imports.recent(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render("console/contact_imports.html", {"section": "contacts", "imports": recent})


@router.post("/contact-imports")
async def upload(request: Request, file: UploadFile = File(...), ctx: Console = Depends(transfer)):
    """Store the file and start its import job; then show its progress."""
    data = await file.read(csvio.MAX_BYTES + 1)
    if not data or len(data) > csvio.MAX_BYTES:
        recent = await imports.recent(ctx.session, workspace_id=ctx.workspace_id)
        return ctx.render(
            "console/contact_imports.html",
            {"section": "contacts", "imports": recent, "error": ctx.t("contacts.import.bad_file")},
        )
    row = await imports.start(
        ctx.session,
        workspace_id=ctx.workspace_id,
        filename=file.filename or "contacts.csv",
        data=data,
        agent_id=ctx.agent.id,
    )
    await ctx.session.commit()
    return RedirectResponse(f"/console/contact-imports/{row.id}", status_code=303)


@router.get("/contact-imports/{import_id}")
async def import_page(import_id: IdPath, ctx: Console = Depends(transfer)):
    """One import's progress (the panel polls itself while the job runs)."""
    row = await imports.get(ctx.session, workspace_id=ctx.workspace_id, import_id=import_id)
    template = "console/_contact_import.html" if ctx.is_htmx else "console/contact_import.html"
    reasons = [(e["line"], csvio.reason_in(e, ctx.t)) for e in (row.errors or [])[:50]]
    return ctx.render(
        template, {"section": "contacts", "job": row, "failed": len(row.errors or []), "reasons": reasons}
    )


@router.get("/contact-imports/{import_id}/errors.csv")
async def import_errors(import_id: IdPath, ctx: Console = Depends(transfer)):
    row = await imports.get(ctx.session, workspace_id=ctx.workspace_id, import_id=import_id)
    return Response(
        csvio.errors_csv(row.errors or [], ctx.t),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{row.id}-errors.csv"'},
    )


@router.get("/contact-exports")
async def export(ctx: Console = Depends(transfer)):
    await audit.record(
        ctx.session, action="contact.exported", target_type="contact", details={"streamed": True}
    )
    await ctx.session.commit()
    return StreamingResponse(
        importer.streamed_export(ctx.workspace_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="contacts.csv"'},
    )

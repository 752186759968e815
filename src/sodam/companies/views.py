"""Console: companies (list with contact counts, one company with its contacts, editing)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import RedirectResponse

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console, console_access
from sodam.companies import service
from sodam.contacts import service as contacts
from sodam.core.errors import AppError
from sodam.core.params import IdPath

router = APIRouter(prefix="/console/companies", include_in_schema=False)
manage = console_access(Permission.contacts_manage)


async def _list_page(ctx: Console, q: str = "", **extra):
    rows = await service.list_(ctx.session, workspace_id=ctx.workspace_id, query=q.strip() or None, limit=200)
    counts = await contacts.counts_by_company(
        ctx.session, workspace_id=ctx.workspace_id, company_ids=[r.id for r in rows]
    )
    return ctx.render(
        "console/companies.html",
        {"section": "companies", "companies": rows, "counts": counts, "q": q, **extra},
    )


@router.get("")
async def companies_page(q: str = Query(default="", max_length=200), ctx: Console = Depends(console)):
    return await _list_page(ctx, q)


@router.post("")
async def create_company(
    name: str = Form(default="", max_length=200),
    domain: str = Form(default="", max_length=253),
    plan: str = Form(default="", max_length=60),
    ctx: Console = Depends(manage),
):
    try:
        async with ctx.session.begin_nested():
            row = await service.create(
                ctx.session,
                workspace_id=ctx.workspace_id,
                name=name,
                domain=domain or None,
                plan=plan or None,
            )
    except AppError as exc:
        return await _list_page(
            ctx,
            error=ctx.t(f"companies.error.{exc.code}"),
            form={"name": name, "domain": domain, "plan": plan},
        )
    await ctx.session.commit()
    return RedirectResponse(f"/console/companies/{row.id}", status_code=303)


async def _company_page(ctx: Console, company_id: int, **extra):
    row = await service.get(ctx.session, workspace_id=ctx.workspace_id, company_id=company_id)
    people = await contacts.of_company(
        ctx.session, workspace_id=ctx.workspace_id, company_id=row.id, limit=200
    )
    return ctx.render(
        "console/company.html", {"section": "companies", "company": row, "people": people, **extra}
    )


@router.get("/{company_id}")
async def company_page(company_id: IdPath, ctx: Console = Depends(console)):
    return await _company_page(ctx, company_id)


@router.post("/{company_id}")
async def update_company(
    company_id: IdPath,
    name: str = Form(default="", max_length=200),
    domain: str = Form(default="", max_length=253),
    plan: str = Form(default="", max_length=60),
    ctx: Console = Depends(manage),
):
    try:
        async with ctx.session.begin_nested():
            row = await service.update(
                ctx.session,
                workspace_id=ctx.workspace_id,
                company_id=company_id,
                name=name,
                domain=domain or None,
                plan=plan,
            )
            await contacts.rename_company(
                ctx.session, workspace_id=ctx.workspace_id, company_id=row.id, name=row.name
            )
    except AppError as exc:
        return await _company_page(ctx, company_id, error=ctx.t(f"companies.error.{exc.code}"))
    await ctx.session.commit()
    return await _company_page(ctx, company_id, saved=True)

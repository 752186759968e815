"""REST API v1: companies of the caller's workspace, with their contact counts and contacts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from sodam.accounts.auth import ApiSession, ReadPrincipal, api_access
from sodam.accounts.permissions import Permission
from sodam.companies import service
from sodam.companies.schemas import CompanyIn, CompanyOut, CompanyUpdate
from sodam.contacts import service as contacts
from sodam.contacts.schemas import ContactOut
from sodam.core.deps import Principal
from sodam.core.pagination import Page, PageQuery, decode_cursor, encode_cursor, page_of
from sodam.core.params import IdPath

router = APIRouter(prefix="/api/v1/companies", tags=["companies"])

Manager = Annotated[Principal, Depends(api_access(Permission.contacts_manage, "write"))]


async def with_counts(session, workspace_id: int, rows) -> list[dict]:
    counts = await contacts.counts_by_company(
        session, workspace_id=workspace_id, company_ids=[r.id for r in rows]
    )
    return [{**CompanyOut.model_validate(r).model_dump(), "contact_count": counts.get(r.id, 0)} for r in rows]


@router.get(
    "", summary="List or search companies (newest first) with contact counts", response_model=Page[CompanyOut]
)
async def list_companies(
    principal: ReadPrincipal,
    session: ApiSession,
    page: PageQuery,
    q: str | None = Query(default=None, max_length=200, description="Substring of the name or domain."),
):
    after = decode_cursor(page.cursor, "companies", {"id": int})["id"] if page.cursor else None
    query = q.replace("\x00", "").strip() if q else None
    rows = await service.list_(
        session, workspace_id=principal.workspace_id, query=query, after_id=after, limit=page.limit + 1
    )
    rows, cursor = page_of(rows, page.limit, lambda c: encode_cursor("companies", {"id": c.id}))
    return {"data": await with_counts(session, principal.workspace_id, rows), "next_cursor": cursor}


@router.post(
    "", summary="Create a company (409 when its domain is taken)", status_code=201, response_model=CompanyOut
)
async def create_company(body: CompanyIn, principal: Manager, session: ApiSession):
    row = await service.create(session, workspace_id=principal.workspace_id, **body.model_dump())
    await session.refresh(row)
    return (await with_counts(session, principal.workspace_id, [row]))[0]


@router.get("/{company_id}", summary="Get a company", response_model=CompanyOut)
async def get_company(company_id: IdPath, principal: ReadPrincipal, session: ApiSession):
    row = await service.get(session, workspace_id=principal.workspace_id, company_id=company_id)
    return (await with_counts(session, principal.workspace_id, [row]))[0]


@router.patch(
    "/{company_id}", summary="Update a company (custom_attributes merged)", response_model=CompanyOut
)
async def update_company(company_id: IdPath, body: CompanyUpdate, principal: Manager, session: ApiSession):
    row = await service.update(
        session,
        workspace_id=principal.workspace_id,
        company_id=company_id,
        **body.model_dump(exclude_unset=True),
    )
    if body.name is not None:
        await contacts.rename_company(
            session, workspace_id=principal.workspace_id, company_id=row.id, name=row.name
        )
    await session.refresh(row)
    return (await with_counts(session, principal.workspace_id, [row]))[0]


@router.delete("/{company_id}", summary="Delete a company (its contacts stay, without one)", status_code=204)
async def delete_company(company_id: IdPath, principal: Manager, session: ApiSession):
    await service.get(session, workspace_id=principal.workspace_id, company_id=company_id)
    await contacts.clear_company(session, workspace_id=principal.workspace_id, company_id=company_id)
    await service.delete(session, workspace_id=principal.workspace_id, company_id=company_id)
    return Response(status_code=204)


@router.get(
    "/{company_id}/contacts",
    summary="The contacts of a company (newest first)",
    response_model=Page[ContactOut],
)
async def company_contacts(
    company_id: IdPath, principal: ReadPrincipal, session: ApiSession, page: PageQuery
):
    await service.get(session, workspace_id=principal.workspace_id, company_id=company_id)
    after = decode_cursor(page.cursor, "company_contacts", {"id": int})["id"] if page.cursor else None
    rows = await contacts.of_company(
        session,
        workspace_id=principal.workspace_id,
        company_id=company_id,
        after_id=after,
        limit=page.limit + 1,
    )
    rows, cursor = page_of(rows, page.limit, lambda c: encode_cursor("company_contacts", {"id": c.id}))
    return {"data": rows, "next_cursor": cursor}

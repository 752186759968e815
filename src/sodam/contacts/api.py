"""REST API v1: contacts of the caller's workspace.

A contact's conversations (/contacts/{id}/conversations) are served by the
conversations router, which owns conversation listing and its cursor.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from sodam.accounts.auth import ApiSession, ReadPrincipal, WritePrincipal
from sodam.audit import service as audit
from sodam.contacts import service
from sodam.contacts.schemas import ContactIn, ContactOut, ContactUpdate
from sodam.core.pagination import MAX_ID, Page, PageQuery, decode_cursor, encode_cursor, page_of

router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("", summary="List or search contacts (newest first)", response_model=Page[ContactOut])
async def list_contacts(
    principal: ReadPrincipal,
    session: ApiSession,
    page: PageQuery,
    q: str | None = Query(
        default=None, max_length=200, description="Substring of the name, e-mail or phone (case-insensitive)."
    ),
):
    after = decode_cursor(page.cursor, "contacts", {"id": int})["id"] if page.cursor else None
    query = q.replace("\x00", "").strip() if q else None
    rows = await service.list_(
        session, workspace_id=principal.workspace_id, query=query, after_id=after, limit=page.limit + 1
    )
    rows, cursor = page_of(rows, page.limit, lambda c: encode_cursor("contacts", {"id": c.id}))
    await audit.record(
        session,
        action="contact.listed",
        target_type="contact",
        details={"contact_ids": [c.id for c in rows], "searched": bool(query)},
    )
    return {"data": rows, "next_cursor": cursor}


@router.post("", summary="Create a contact", status_code=201, response_model=ContactOut)
async def create_contact(body: ContactIn, principal: WritePrincipal, session: ApiSession):
    return await service.create(session, workspace_id=principal.workspace_id, **body.model_dump())


@router.get("/{contact_id}", summary="Get a contact", response_model=ContactOut)
async def get_contact(contact_id: Id, principal: ReadPrincipal, session: ApiSession):
    contact = await service.get(session, workspace_id=principal.workspace_id, contact_id=contact_id)
    await audit.record(session, action="contact.read", target_type="contact", target_id=contact.id)
    return contact


@router.patch(
    "/{contact_id}", summary="Update a contact (custom_attributes are merged)", response_model=ContactOut
)
async def update_contact(contact_id: Id, body: ContactUpdate, principal: WritePrincipal, session: ApiSession):
    contact = await service.update(
        session,
        workspace_id=principal.workspace_id,
        contact_id=contact_id,
        **body.model_dump(exclude_unset=True),
    )
    # updated_at is set by the database (onupdate): load it here, while async IO is allowed.
    await session.refresh(contact)
    return contact

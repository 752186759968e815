"""REST API v1: inboxes (channel instances). Reading is for every agent; writing needs inboxes.manage."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from sodam.accounts.auth import ApiSession, ReadPrincipal, api_access
from sodam.accounts.permissions import Permission
from sodam.channels import service
from sodam.channels.schemas import InboxIn, InboxOut, InboxUpdate
from sodam.core.deps import Principal
from sodam.core.errors import Invalid
from sodam.core.pagination import MAX_ID, Page, PageQuery, decode_cursor, encode_cursor, page_of

router = APIRouter(prefix="/api/v1/inboxes", tags=["inboxes"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
InboxesManager = Annotated[Principal, Depends(api_access(Permission.inboxes_manage, "write"))]
MANAGERS_ONLY = {
    403: {"description": "The token's agent lacks inboxes.manage (`permission_required`) or write."}
}


def _no_nul(value: Any) -> None:
    """PostgreSQL cannot store NUL in text or JSONB: a clear 422 instead of a 500."""
    if isinstance(value, str) and "\x00" in value:
        raise Invalid("text must not contain the NUL character", code="validation_error")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _no_nul(item)
    if isinstance(value, list):
        for item in value:
            _no_nul(item)


def _check(body: InboxIn | InboxUpdate) -> None:
    _no_nul(body.model_dump())
    for origin in body.allowed_origins or []:
        if len(origin) > 300:
            raise Invalid("an origin is at most 300 characters", code="invalid_origin")


@router.get("", summary="List inboxes", response_model=Page[InboxOut])
async def list_inboxes(principal: ReadPrincipal, session: ApiSession, page: PageQuery):
    after = decode_cursor(page.cursor, "inboxes", {"id": int})["id"] if page.cursor else None
    rows = await service.list_page(
        session, workspace_id=principal.workspace_id, after_id=after, limit=page.limit + 1
    )
    rows, cursor = page_of(rows, page.limit, lambda i: encode_cursor("inboxes", {"id": i.id}))
    return {"data": rows, "next_cursor": cursor}


@router.get("/{inbox_id}", summary="Get an inbox", response_model=InboxOut)
async def get_inbox(inbox_id: Id, principal: ReadPrincipal, session: ApiSession):
    return await service.get(session, workspace_id=principal.workspace_id, inbox_id=inbox_id)


@router.post(
    "",
    summary="Create an inbox (inboxes.manage)",
    status_code=201,
    response_model=InboxOut,
    responses=MANAGERS_ONLY,
)
async def create_inbox(body: InboxIn, principal: InboxesManager, session: ApiSession):
    _check(body)
    return await service.create(
        session,
        workspace_id=principal.workspace_id,
        name=body.name,
        channel_type=body.channel_type,
        allowed_origins=body.allowed_origins,
        settings=body.settings,
    )


@router.patch(
    "/{inbox_id}",
    summary="Update an inbox's name, allowed origins or widget settings (inboxes.manage)",
    response_model=InboxOut,
    responses=MANAGERS_ONLY,
    description="`allowed_origins` replaces the list; `settings` is merged key by key.",
)
async def update_inbox(inbox_id: Id, body: InboxUpdate, principal: InboxesManager, session: ApiSession):
    _check(body)
    return await service.update(
        session,
        workspace_id=principal.workspace_id,
        inbox_id=inbox_id,
        name=body.name,
        allowed_origins=body.allowed_origins,
        settings=body.settings,
    )

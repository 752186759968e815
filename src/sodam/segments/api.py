"""REST API v1: segments — saved contact filters, their live counts and members, and a
preview of an unsaved filter. Reading needs `work`; changing needs `segments.manage`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.audit import service as audit
from sodam.contacts.schemas import ContactOut
from sodam.core.deps import Principal
from sodam.core.pagination import Page, PageQuery, decode_cursor, encode_cursor, page_of
from sodam.core.params import IdPath
from sodam.segments import service
from sodam.segments.schemas import CountOut, PreviewIn, SegmentIn, SegmentOut, SegmentUpdate

router = APIRouter(prefix="/api/v1/segments", tags=["segments"])

Reader = Annotated[Principal, Depends(api_access(Permission.work, "read"))]
Writer = Annotated[Principal, Depends(api_access(Permission.segments_manage, "write"))]


@router.get("", summary="List segments", response_model=Page[SegmentOut])
async def list_segments(principal: Reader, session: ApiSession, page: PageQuery):
    after = decode_cursor(page.cursor, "segments", {"id": int})["id"] if page.cursor else None
    rows = await service.list_(
        session, workspace_id=principal.workspace_id, after_id=after, limit=page.limit + 1
    )
    rows, cursor = page_of(rows, page.limit, lambda s: encode_cursor("segments", {"id": s.id}))
    return {"data": rows, "next_cursor": cursor}


@router.post(
    "",
    summary="Create a segment",
    status_code=201,
    response_model=SegmentOut,
    responses={
        409: {"description": "The name is taken (`segment_name_taken`)."},
        422: {"description": "A bad filter (`invalid_filter`, details: path and reason)."},
    },
)
async def create_segment(body: SegmentIn, principal: Writer, session: ApiSession):
    segment = await service.create(
        session,
        workspace_id=principal.workspace_id,
        name=body.name,
        description=body.description,
        filter=body.filter,
        created_by=principal.agent_id,
    )
    await session.refresh(segment)
    return segment


@router.post(
    "/preview",
    summary="Count and first contacts of an unsaved filter",
    description="What a segment with this filter would hold now: `count` and the newest `limit` contacts.",
)
async def preview(body: PreviewIn, principal: Reader, session: ApiSession) -> dict:
    ws = principal.workspace_id
    total = await service.count(session, workspace_id=ws, filter=body.filter)
    rows = await service.contacts(session, workspace_id=ws, filter=body.filter, limit=body.limit)
    await audit.record(
        session, action="contact.listed", target_type="contact", details={"contact_ids": [c.id for c in rows]}
    )
    return {"count": total, "contacts": [ContactOut.model_validate(c).model_dump(mode="json") for c in rows]}


@router.get("/{segment_id}", summary="Get a segment", response_model=SegmentOut)
async def get_segment(segment_id: IdPath, principal: Reader, session: ApiSession):
    return await service.get(session, workspace_id=principal.workspace_id, segment_id=segment_id)


@router.patch("/{segment_id}", summary="Change a segment", response_model=SegmentOut)
async def update_segment(segment_id: IdPath, body: SegmentUpdate, principal: Writer, session: ApiSession):
    return await service.update(
        session,
        workspace_id=principal.workspace_id,
        segment_id=segment_id,
        **body.model_dump(exclude_unset=True),
    )


@router.delete("/{segment_id}", summary="Delete a segment", status_code=204)
async def delete_segment(segment_id: IdPath, principal: Writer, session: ApiSession):
    await service.delete(session, workspace_id=principal.workspace_id, segment_id=segment_id)
    return Response(status_code=204)


@router.get("/{segment_id}/count", summary="A segment's live count", response_model=CountOut)
async def segment_count(segment_id: IdPath, principal: Reader, session: ApiSession):
    segment = await service.get(session, workspace_id=principal.workspace_id, segment_id=segment_id)
    total = await service.count(session, workspace_id=principal.workspace_id, filter=segment.filter)
    return {"segment_id": segment.id, "count": total}


@router.get(
    "/{segment_id}/contacts",
    summary="A segment's contacts now, newest first",
    response_model=Page[ContactOut],
)
async def segment_contacts(segment_id: IdPath, principal: Reader, session: ApiSession, page: PageQuery):
    segment = await service.get(session, workspace_id=principal.workspace_id, segment_id=segment_id)
    after = decode_cursor(page.cursor, "segment_contacts", {"id": int})["id"] if page.cursor else None
    rows = await service.contacts(
        session,
        workspace_id=principal.workspace_id,
        filter=segment.filter,
        after_id=after,
        limit=page.limit + 1,
    )
    rows, cursor = page_of(rows, page.limit, lambda c: encode_cursor("segment_contacts", {"id": c.id}))
    await audit.record(
        session,
        action="contact.listed",
        target_type="contact",
        details={"contact_ids": [c.id for c in rows], "segment_id": segment.id},
    )
    return {"data": rows, "next_cursor": cursor}

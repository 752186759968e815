"""REST API v1 of the phone line: lines and their IVR (phone.manage), incident announcements
(phone.manage), calls and callbacks (every agent: permission `work`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.channels.promise import business_hours
from sodam.contacts import service as contacts
from sodam.core.deps import Principal
from sodam.core.pagination import MAX_ID
from sodam.hours import calendar
from sodam.voice import callbacks, service, slots, timeline
from sodam.voice.schemas import (
    AnnouncementIn,
    AnnouncementOut,
    AnnouncementPatch,
    CallbackIn,
    CallbackOut,
    CallOut,
    LineIn,
    LineOut,
    OutcomeIn,
    SlotsOut,
)
from sodam.voice.webhook import hook_base

router = APIRouter(prefix="/api/v1", tags=["phone"])
timeline.register()

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
ManagerReader = Annotated[Principal, Depends(api_access(Permission.phone_manage, "read"))]
ManagerWriter = Annotated[Principal, Depends(api_access(Permission.phone_manage, "write"))]
Reader = Annotated[Principal, Depends(api_access(Permission.work, "read"))]
Writer = Annotated[Principal, Depends(api_access(Permission.work, "write"))]


def line_out(request: Request, inbox, line) -> dict:
    base = hook_base(request, inbox.public_token)
    return {
        "inbox_id": inbox.id,
        "number": line.number,
        "team_id": line.team_id,
        "callbacks_per_slot": line.callbacks_per_slot,
        "ivr": line.ivr,
        "webhook_url": f"{base}/incoming",
        "status_callback_url": f"{base}/status",
    }


@router.get("/phone/lines/{inbox_id}", summary="Get a phone line and its IVR menu", response_model=LineOut)
async def get_line(inbox_id: Id, request: Request, principal: ManagerReader, session: ApiSession):
    inbox, line = await service.get_line(session, workspace_id=principal.workspace_id, inbox_id=inbox_id)
    return line_out(request, inbox, line)


@router.put(
    "/phone/lines/{inbox_id}",
    summary="Change a phone line: IVR menu, number, auth token, team, slot capacity",
    response_model=LineOut,
    responses={422: {"description": "The menu is not valid (`invalid_ivr`, with every problem)."}},
)
async def put_line(
    inbox_id: Id, body: LineIn, request: Request, principal: ManagerWriter, session: ApiSession
):
    line = await service.save_line(
        session,
        workspace_id=principal.workspace_id,
        inbox_id=inbox_id,
        changes=body.model_dump(exclude_unset=True),
    )
    inbox, _ = await service.get_line(session, workspace_id=principal.workspace_id, inbox_id=inbox_id)
    return line_out(request, inbox, line)


@router.get(
    "/phone/announcements", summary="List incident announcements", response_model=list[AnnouncementOut]
)
async def list_announcements(principal: ManagerReader, session: ApiSession):
    return await service.list_announcements(session, workspace_id=principal.workspace_id)


@router.post(
    "/phone/announcements",
    summary="Create an incident announcement (the IVR plays active ones first)",
    status_code=201,
    response_model=AnnouncementOut,
)
async def create_announcement(body: AnnouncementIn, principal: ManagerWriter, session: ApiSession):
    return await service.create_announcement(
        session, workspace_id=principal.workspace_id, **body.model_dump()
    )


@router.patch(
    "/phone/announcements/{announcement_id}", summary="Change an announcement", response_model=AnnouncementOut
)
async def patch_announcement(
    announcement_id: Id, body: AnnouncementPatch, principal: ManagerWriter, session: ApiSession
):
    return await service.update_announcement(
        session,
        workspace_id=principal.workspace_id,
        announcement_id=announcement_id,
        changes=body.model_dump(exclude_unset=True),
    )


@router.delete("/phone/announcements/{announcement_id}", summary="Delete an announcement", status_code=204)
async def delete_announcement(announcement_id: Id, principal: ManagerWriter, session: ApiSession):
    await service.delete_announcement(
        session, workspace_id=principal.workspace_id, announcement_id=announcement_id
    )
    return Response(status_code=204)


@router.get("/calls", summary="List calls (newest first)", response_model=list[CallOut])
async def list_calls(
    principal: Reader,
    session: ApiSession,
    contact_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    return await service.list_calls(
        session, workspace_id=principal.workspace_id, contact_id=contact_id, limit=limit
    )


@router.get(
    "/callbacks/slots",
    summary="The callback slots a customer may pick (30 minutes, in business hours, with places left)",
    response_model=SlotsOut,
)
async def callback_slots(
    principal: Reader,
    session: ApiSession,
    inbox_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    days: Annotated[int, Query(ge=1, le=slots.MAX_DAYS)] = slots.DEFAULT_DAYS,
):
    inbox, line = await service.get_line(session, workspace_id=principal.workspace_id, inbox_id=inbox_id)
    config = business_hours(inbox)
    offered = await slots.offered(session, line=line, config=config, now=datetime.now(UTC), days=days)
    return {
        "inbox_id": inbox.id,
        "timezone": config.get("timezone") or calendar.DEFAULT_TIMEZONE,
        "slots": [{"start": s.start, "left": s.left} for s in offered],
    }


@router.post(
    "/callbacks",
    summary="Book a callback (전화 예약) at an offered slot",
    status_code=201,
    response_model=CallbackOut,
    responses={409: {"description": "The slot is not offered (`slot_unavailable`)."}},
)
async def book_callback(body: CallbackIn, principal: Writer, session: ApiSession):
    inbox, line = await service.get_line(session, workspace_id=principal.workspace_id, inbox_id=body.inbox_id)
    if body.contact_id is not None:
        contact = await contacts.get(session, workspace_id=principal.workspace_id, contact_id=body.contact_id)
    else:
        from sodam.voice import numbers

        contact = await service.contact_for_number(
            session, workspace_id=principal.workspace_id, number=numbers.normalise(body.phone), name=body.name
        )
    if body.team_id is not None:
        from sodam.accounts import service as accounts

        await accounts.get_team(session, workspace_id=principal.workspace_id, team_id=body.team_id)
    return await callbacks.book(
        session,
        inbox=inbox,
        line=line,
        contact=contact,
        phone=body.phone,
        slot_at=body.slot_at,
        source="api",
        language=body.language,
        note=body.note,
        team_id=body.team_id,
    )


@router.get("/callbacks", summary="List callbacks by slot time", response_model=list[CallbackOut])
async def list_callbacks(
    principal: Reader,
    session: ApiSession,
    status: Annotated[list[str] | None, Query()] = None,
    contact_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
):
    return await callbacks.list_(
        session, workspace_id=principal.workspace_id, statuses=status, contact_id=contact_id
    )


@router.get("/callbacks/{callback_id}", summary="Get a callback", response_model=CallbackOut)
async def get_callback(callback_id: Id, principal: Reader, session: ApiSession):
    return await callbacks.get(session, workspace_id=principal.workspace_id, callback_id=callback_id)


@router.post(
    "/callbacks/{callback_id}/outcome",
    summary="Record a callback's outcome: done, no_answer, or rescheduled (with the new slot_at)",
    response_model=CallbackOut,
    responses={409: {"description": "`slot_unavailable` or `callback_closed`."}},
)
async def callback_outcome(callback_id: Id, body: OutcomeIn, principal: Writer, session: ApiSession):
    return await callbacks.record_outcome(
        session,
        workspace_id=principal.workspace_id,
        callback_id=callback_id,
        outcome=body.outcome,
        agent_id=principal.agent_id,
        note=body.note,
        new_slot_at=body.slot_at,
    )


@router.post(
    "/callbacks/{callback_id}/cancel", summary="Cancel a scheduled callback", response_model=CallbackOut
)
async def cancel_callback(callback_id: Id, principal: Writer, session: ApiSession):
    return await callbacks.cancel(session, workspace_id=principal.workspace_id, callback_id=callback_id)

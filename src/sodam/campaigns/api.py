"""REST API v1: campaigns (CRUD, schedule, start, pause, cancel, stats) and incident
announcements (CRUD, clear). Every route needs `campaigns.manage`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.campaigns import announcements, service
from sodam.campaigns.schemas import (
    AnnouncementIn,
    AnnouncementOut,
    AnnouncementPatch,
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    ScheduleIn,
    StatsOut,
)
from sodam.core.deps import Principal
from sodam.core.pagination import Page, PageQuery, decode_cursor, encode_cursor, page_of
from sodam.core.params import IdPath

router = APIRouter(prefix="/api/v1", tags=["campaigns"])

Reader = Annotated[Principal, Depends(api_access(Permission.campaigns_manage, "read"))]
Writer = Annotated[Principal, Depends(api_access(Permission.campaigns_manage, "write"))]
ERRORS = {
    404: {"description": "Not found (or another workspace's)."},
    409: {"description": "Not in a state that allows it (`campaign_locked`, `campaign_not_running`, …)."},
    422: {"description": "Bad input (`invalid_campaign` with `details.field`)."},
}


@router.get("/campaigns", summary="List campaigns, newest first", response_model=Page[CampaignOut])
async def list_campaigns(principal: Reader, session: ApiSession, page: PageQuery):
    after = decode_cursor(page.cursor, "campaigns", {"id": int})["id"] if page.cursor else None
    rows = await service.list_(
        session, workspace_id=principal.workspace_id, after_id=after, limit=page.limit + 1
    )
    rows, cursor = page_of(rows, page.limit, lambda c: encode_cursor("campaigns", {"id": c.id}))
    return {"data": rows, "next_cursor": cursor}


@router.post(
    "/campaigns",
    summary="Create a campaign (a draft, or scheduled with scheduled_at)",
    status_code=201,
    response_model=CampaignOut,
    responses=ERRORS,
)
async def create_campaign(body: CampaignIn, principal: Writer, session: ApiSession):
    c = await service.create(
        session, workspace_id=principal.workspace_id, created_by=principal.agent_id, **body.model_dump()
    )
    await session.refresh(c)
    return c


@router.get(
    "/campaigns/{campaign_id}", summary="Get a campaign", response_model=CampaignOut, responses=ERRORS
)
async def get_campaign(campaign_id: IdPath, principal: Reader, session: ApiSession):
    return await service.get(session, workspace_id=principal.workspace_id, campaign_id=campaign_id)


@router.patch(
    "/campaigns/{campaign_id}",
    summary="Change a campaign (draft, scheduled or paused)",
    response_model=CampaignOut,
    responses=ERRORS,
)
async def update_campaign(campaign_id: IdPath, body: CampaignPatch, principal: Writer, session: ApiSession):
    c = await service.update_(
        session,
        workspace_id=principal.workspace_id,
        campaign_id=campaign_id,
        changes=body.model_dump(exclude_unset=True),
    )
    await session.refresh(c)
    return c


@router.delete(
    "/campaigns/{campaign_id}", summary="Delete a campaign that never sent", status_code=204, responses=ERRORS
)
async def delete_campaign(campaign_id: IdPath, principal: Writer, session: ApiSession):
    await service.delete(session, workspace_id=principal.workspace_id, campaign_id=campaign_id)
    return Response(status_code=204)


@router.post(
    "/campaigns/{campaign_id}/schedule",
    summary="Schedule (a time without offset: the campaign's zone)",
    response_model=CampaignOut,
    responses=ERRORS,
)
async def schedule_campaign(campaign_id: IdPath, body: ScheduleIn, principal: Writer, session: ApiSession):
    c = await service.schedule(
        session, workspace_id=principal.workspace_id, campaign_id=campaign_id, at=body.scheduled_at
    )
    await session.refresh(c)
    return c


@router.post(
    "/campaigns/{campaign_id}/start",
    summary="Start or resume now",
    response_model=CampaignOut,
    responses=ERRORS,
)
async def start_campaign(campaign_id: IdPath, principal: Writer, session: ApiSession):
    c = await service.start(session, workspace_id=principal.workspace_id, campaign_id=campaign_id)
    await session.refresh(c)
    return c


@router.post(
    "/campaigns/{campaign_id}/pause",
    summary="Pause (start resumes)",
    response_model=CampaignOut,
    responses=ERRORS,
)
async def pause_campaign(campaign_id: IdPath, principal: Writer, session: ApiSession):
    c = await service.pause(session, workspace_id=principal.workspace_id, campaign_id=campaign_id)
    await session.refresh(c)
    return c


@router.post(
    "/campaigns/{campaign_id}/cancel", summary="Cancel for good", response_model=CampaignOut, responses=ERRORS
)
async def cancel_campaign(campaign_id: IdPath, principal: Writer, session: ApiSession):
    c = await service.cancel(session, workspace_id=principal.workspace_id, campaign_id=campaign_id)
    await session.refresh(c)
    return c


@router.get(
    "/campaigns/{campaign_id}/stats",
    summary="Counts: sent, delivered, opened, clicked, replied",
    response_model=StatsOut,
    responses=ERRORS,
)
async def campaign_stats(campaign_id: IdPath, principal: Reader, session: ApiSession):
    c = await service.get(session, workspace_id=principal.workspace_id, campaign_id=campaign_id)
    return {"campaign_id": c.id, "status": c.status, **await service.stats(session, campaign=c)}


def _out(a) -> dict:
    return (
        AnnouncementOut.model_validate(a).model_copy(update={"live": announcements.is_active(a)}).model_dump()
    )


@router.get("/announcements", summary="List incident announcements", response_model=list[AnnouncementOut])
async def list_announcements(principal: Reader, session: ApiSession):
    return [_out(a) for a in await announcements.list_(session, workspace_id=principal.workspace_id)]


@router.post(
    "/announcements",
    summary="Announce an incident (widget, bot, auto-replies and IVR say it)",
    status_code=201,
    response_model=AnnouncementOut,
    responses=ERRORS,
)
async def create_announcement(body: AnnouncementIn, principal: Writer, session: ApiSession):
    a = await announcements.create(
        session, workspace_id=principal.workspace_id, created_by=principal.agent_id, **body.model_dump()
    )
    await session.refresh(a)
    return _out(a)


@router.get(
    "/announcements/{announcement_id}",
    summary="Get an announcement",
    response_model=AnnouncementOut,
    responses=ERRORS,
)
async def get_announcement(announcement_id: IdPath, principal: Reader, session: ApiSession):
    return _out(
        await announcements.get(session, workspace_id=principal.workspace_id, announcement_id=announcement_id)
    )


@router.patch(
    "/announcements/{announcement_id}",
    summary="Change an announcement",
    response_model=AnnouncementOut,
    responses=ERRORS,
)
async def update_announcement(
    announcement_id: IdPath, body: AnnouncementPatch, principal: Writer, session: ApiSession
):
    a = await announcements.update(
        session,
        workspace_id=principal.workspace_id,
        announcement_id=announcement_id,
        changes=body.model_dump(exclude_unset=True),
    )
    await session.refresh(a)
    return _out(a)


@router.post(
    "/announcements/{announcement_id}/clear",
    summary="Clear it everywhere now",
    response_model=AnnouncementOut,
    responses=ERRORS,
)
async def clear_announcement(announcement_id: IdPath, principal: Writer, session: ApiSession):
    a = await announcements.clear(
        session, workspace_id=principal.workspace_id, announcement_id=announcement_id
    )
    await session.refresh(a)
    return _out(a)


@router.delete(
    "/announcements/{announcement_id}", summary="Delete an announcement", status_code=204, responses=ERRORS
)
async def delete_announcement(announcement_id: IdPath, principal: Writer, session: ApiSession):
    await announcements.delete(session, workspace_id=principal.workspace_id, announcement_id=announcement_id)
    return Response(status_code=204)

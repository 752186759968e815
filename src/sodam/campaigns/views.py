"""Console: 캠페인 — the list (counts and a progress bar), the editor (segment, channel,
ko/en copy with a live preview, schedule, throttle) with start / pause / cancel, and the
incident announcements tab (공지)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.campaigns import announcements, service
from sodam.campaigns.models import CHANNELS, SEVERITIES
from sodam.channels.models import Inbox
from sodam.core.errors import AppError, Invalid
from sodam.core.params import IdPath
from sodam.segments import service as segments

router = APIRouter(prefix="/console/campaigns", include_in_schema=False)
Access = Depends(console_access(Permission.campaigns_manage))


def _labels(ctx: Console) -> dict:
    return {
        "channel_labels": {
            "widget_message": ctx.t("campaigns.channel.widget_message"),
            "widget_banner": ctx.t("campaigns.channel.widget_banner"),
            "email": ctx.t("campaigns.channel.email"),
            "api": ctx.t("campaigns.channel.api"),
            "alimtalk": ctx.t("campaigns.channel.alimtalk"),
        },
        "status_labels": {
            "draft": ctx.t("campaigns.status.draft"),
            "scheduled": ctx.t("campaigns.status.scheduled"),
            "running": ctx.t("campaigns.status.running"),
            "paused": ctx.t("campaigns.status.paused"),
            "done": ctx.t("campaigns.status.done"),
            "cancelled": ctx.t("campaigns.status.cancelled"),
        },
        "severity_labels": {
            "info": ctx.t("campaigns.severity.info"),
            "minor": ctx.t("campaigns.severity.minor"),
            "major": ctx.t("campaigns.severity.major"),
            "critical": ctx.t("campaigns.severity.critical"),
        },
    }


@router.get("")
async def campaigns_page(ctx: Console = Access):
    rows = await service.list_(ctx.session, workspace_id=ctx.workspace_id, limit=200)
    counts = await service.stats_many(ctx.session, campaigns=rows)
    return ctx.render(
        "campaigns/list.html",
        {"section": "campaigns", "tab": "campaigns", "campaigns": rows, "counts": counts} | _labels(ctx),
    )


async def _editor(
    ctx: Console, campaign, form: dict | None = None, error: str | None = None, status: int = 200
):
    ws = ctx.workspace_id
    segs = await segments.list_(ctx.session, workspace_id=ws, limit=500)
    inboxes = list(
        await ctx.session.scalars(select(Inbox).where(Inbox.workspace_id == ws).order_by(Inbox.id))
    )
    stats = await service.stats(ctx.session, campaign=campaign) if campaign else None
    from sodam.surveys import service as surveys

    survey_choices = await surveys.list_(ctx.session, workspace_id=ws, audience="customers", limit=200)
    return ctx.render(
        "campaigns/edit.html",
        {
            "section": "campaigns",
            "tab": "campaigns",
            "campaign": campaign,
            "form": form or {},
            "error": error,
            "segments": sorted(segs, key=lambda s: s.name),
            "inboxes": inboxes,
            "channels": CHANNELS,
            "stats": stats,
            "surveys": survey_choices,
        }
        | _labels(ctx),
        status_code=status,
    )


@router.get("/new")
async def new_campaign(ctx: Console = Access):
    return await _editor(ctx, None)


def _fields(form) -> dict:
    def num(key: str) -> int | None:
        raw = str(form.get(key) or "").strip()
        if not raw:
            return None
        if not raw.isdigit() or len(raw) > 12:
            raise Invalid(f"{key} must be a number", code="invalid_campaign", details={"field": key})
        return int(raw)

    def when(key: str) -> datetime | None:
        raw = str(form.get(key) or "").strip()
        if not raw:
            return None
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            raise Invalid(
                f"{key} is not a date and time", code="invalid_campaign", details={"field": key}
            ) from None

    return {
        "name": str(form.get("name") or "").strip()[:200],
        "segment_id": num("segment_id"),
        "inbox_id": num("inbox_id"),
        "channel": str(form.get("channel") or ""),
        "subject_ko": str(form.get("subject_ko") or "")[:200],
        "subject_en": str(form.get("subject_en") or "")[:200],
        "body_ko": str(form.get("body_ko") or "")[:10_000],
        "body_en": str(form.get("body_en") or "")[:10_000],
        "template_code": str(form.get("template_code") or "").strip()[:64] or None,
        "rate_per_s": num("rate_per_s") or 50,
        "timezone": str(form.get("timezone") or "Asia/Seoul")[:64],
        "scheduled_at": when("scheduled_at"),
        "survey_id": num("survey_id"),
    }


async def _save(request: Request, ctx: Console, campaign_id: int | None):
    form = await request.form()
    current = None
    try:
        fields = _fields(form)
        if fields["inbox_id"] is None:
            raise Invalid(
                ctx.t("campaigns.error.inbox"), code="invalid_campaign", details={"field": "inbox_id"}
            )
        at = fields.pop("scheduled_at")
        # In a savepoint: a refusal leaves nothing written and the page's objects as they were.
        async with ctx.session.begin_nested():
            if campaign_id is None:
                current = await service.create(
                    ctx.session, workspace_id=ctx.workspace_id, created_by=ctx.agent.id, **fields
                )
            else:
                current = await service.update_(
                    ctx.session, workspace_id=ctx.workspace_id, campaign_id=campaign_id, changes=fields
                )
            if at is not None:
                await service.schedule(
                    ctx.session, workspace_id=ctx.workspace_id, campaign_id=current.id, at=at
                )
    except AppError as exc:
        stored = (
            await service.get(ctx.session, workspace_id=ctx.workspace_id, campaign_id=campaign_id)
            if campaign_id
            else None
        )
        return await _editor(ctx, stored, dict(form), exc.message, exc.status_code)
    await ctx.session.commit()
    return RedirectResponse(f"/console/campaigns/{current.id}?saved=1", status_code=303)


@router.post("")
async def create_campaign(request: Request, ctx: Console = Access):
    return await _save(request, ctx, None)


@router.get("/announcements")
async def announcements_page(ctx: Console = Access):
    rows = await announcements.list_(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render(
        "campaigns/announcements.html",
        {
            "section": "campaigns",
            "tab": "announcements",
            "announcements": rows,
            "live": {a.id for a in rows if announcements.is_active(a)},
            "severities": SEVERITIES,
            "error": ctx.request.query_params.get("error"),
        }
        | _labels(ctx),
    )


@router.post("/announcements")
async def create_announcement(request: Request, ctx: Console = Access):
    form = await request.form()
    try:
        ends = str(form.get("ends_at") or "").strip()
        async with ctx.session.begin_nested():
            await announcements.create(
                ctx.session,
                workspace_id=ctx.workspace_id,
                text_ko=str(form.get("text_ko") or "")[:1000],
                text_en=str(form.get("text_en") or "")[:1000],
                severity=str(form.get("severity") or "major"),
                ends_at=service.local_time(datetime.fromisoformat(ends), "Asia/Seoul") if ends else None,
                created_by=ctx.agent.id,
            )
    except (AppError, ValueError):
        return RedirectResponse("/console/campaigns/announcements?error=1", status_code=303)
    await ctx.session.commit()
    return RedirectResponse("/console/campaigns/announcements", status_code=303)


@router.post("/announcements/{announcement_id}/clear")
async def clear_announcement(announcement_id: IdPath, ctx: Console = Access):
    await announcements.clear(ctx.session, workspace_id=ctx.workspace_id, announcement_id=announcement_id)
    await ctx.session.commit()
    return RedirectResponse("/console/campaigns/announcements", status_code=303)


@router.get("/{campaign_id}")
async def edit_campaign(campaign_id: IdPath, ctx: Console = Access):
    campaign = await service.get(ctx.session, workspace_id=ctx.workspace_id, campaign_id=campaign_id)
    return await _editor(ctx, campaign)


@router.post("/{campaign_id}")
async def update_campaign(campaign_id: IdPath, request: Request, ctx: Console = Access):
    return await _save(request, ctx, campaign_id)


@router.post("/{campaign_id}/action")
async def campaign_action(campaign_id: IdPath, request: Request, ctx: Console = Access):
    """start / pause / cancel from the editor's buttons."""
    action = str((await request.form()).get("action") or "")
    do = {"start": service.start, "pause": service.pause, "cancel": service.cancel}.get(action)
    if do is None:
        raise Invalid("unknown action", code="invalid_action")
    try:
        async with ctx.session.begin_nested():
            await do(ctx.session, workspace_id=ctx.workspace_id, campaign_id=campaign_id)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        campaign = await service.get(ctx.session, workspace_id=ctx.workspace_id, campaign_id=campaign_id)
        return await _editor(ctx, campaign, None, exc.message, exc.status_code)
    await ctx.session.commit()
    return RedirectResponse(f"/console/campaigns/{campaign_id}", status_code=303)

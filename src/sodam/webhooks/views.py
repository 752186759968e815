"""Console: Settings → 웹훅 (webhooks.manage) — subscriptions and API inboxes' callback URLs,
recent deliveries, dead letters with 다시 보내기 (redeliver)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Query
from fastapi.responses import RedirectResponse

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.channels import service as inboxes
from sodam.channels.models import ChannelType
from sodam.core.errors import AppError
from sodam.core.pagination import MAX_ID
from sodam.webhooks import service

router = APIRouter(prefix="/console/settings/webhooks", include_in_schema=False)

manage = console_access(Permission.webhooks_manage)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
SHOWN_ZONE = ZoneInfo("Asia/Seoul")
PAGE_SIZE = 50


def _at(value) -> str:
    return value.astimezone(SHOWN_ZONE).strftime("%Y-%m-%d %H:%M:%S") if value else ""


async def _page(
    ctx: Console,
    *,
    show: str = "all",
    secret: str | None = None,
    secret_for: int | None = None,
    error: str | None = None,
    notice: str | None = None,
    form: dict | None = None,
    status_code: int = 200,
):
    subs = await service.list_(ctx.session, workspace_id=ctx.workspace_id)
    all_inboxes = await inboxes.list_(ctx.session, workspace_id=ctx.workspace_id)
    inbox_names = {i.id: i.name for i in all_inboxes}
    rows = await service.deliveries(
        ctx.session, workspace_id=ctx.workspace_id, status="dead" if show == "dead" else None, limit=PAGE_SIZE
    )
    return ctx.render(
        "webhooks/settings.html",
        {
            "section": "settings",
            "subscriptions": subs,
            "urls": {s.id: s.url for s in subs},
            "inbox_names": inbox_names,
            "api_inboxes": [i for i in all_inboxes if i.channel_type == ChannelType.api],
            "deliveries": rows,
            "counts": await service.counts(ctx.session, workspace_id=ctx.workspace_id),
            "event_types": list(service.EVENT_TYPES),
            "show": show,
            "secret": secret,
            "secret_for": secret_for,
            "error": error,
            "notice": notice,
            "form": form or {},
            "at": _at,
        },
        status_code=status_code,
    )


def _reason(ctx: Console, exc: AppError) -> str:
    key = f"webhooks.error.{exc.code}"
    text = ctx.t(key)
    return text if text != key else ctx.t("webhooks.error.invalid")


@router.get("")
async def webhooks_page(
    ctx: Annotated[Console, Depends(manage)],
    show: Annotated[str, Query(pattern="^(all|dead)$")] = "all",
):
    return await _page(ctx, show=show)


@router.post("")
async def create_subscription(
    ctx: Annotated[Console, Depends(manage)],
    url: Annotated[str, Form(max_length=2000)] = "",
    description: Annotated[str, Form(max_length=200)] = "",
    events: Annotated[list[str] | None, Form()] = None,
    inbox_id: Annotated[str, Form(max_length=20)] = "",
):
    form = {"url": url, "description": description, "events": events or [], "inbox_id": inbox_id}
    try:
        sub, secret = await service.create(
            ctx.session,
            workspace_id=ctx.workspace_id,
            url=url.strip(),
            events=events or [],
            description=description,
            inbox_id=int(inbox_id) if inbox_id.isdigit() else None,
        )
    except AppError as exc:
        return await _page(ctx, form=form, error=_reason(ctx, exc), status_code=exc.status_code)
    # The secret is shown on this answer only.
    return await _page(ctx, secret=secret, secret_for=sub.id, notice=ctx.t("webhooks.created"))


@router.post("/{subscription_id}/status")
async def set_status(
    subscription_id: Id,
    ctx: Annotated[Console, Depends(manage)],
    status: Annotated[str, Form(pattern="^(active|paused)$")] = "active",
):
    await service.update_(
        ctx.session, workspace_id=ctx.workspace_id, subscription_id=subscription_id, status=status
    )
    return RedirectResponse("/console/settings/webhooks", status_code=303)


@router.post("/{subscription_id}/rotate")
async def rotate(subscription_id: Id, ctx: Annotated[Console, Depends(manage)]):
    sub, secret = await service.rotate_secret(
        ctx.session, workspace_id=ctx.workspace_id, subscription_id=subscription_id
    )
    return await _page(ctx, secret=secret, secret_for=sub.id, notice=ctx.t("webhooks.rotated"))


@router.post("/{subscription_id}/delete")
async def delete(subscription_id: Id, ctx: Annotated[Console, Depends(manage)]):
    await service.delete(ctx.session, workspace_id=ctx.workspace_id, subscription_id=subscription_id)
    return RedirectResponse("/console/settings/webhooks", status_code=303)


@router.post("/deliveries/{delivery_id}/redeliver")
async def redeliver(delivery_id: Id, ctx: Annotated[Console, Depends(manage)]):
    await service.redeliver(ctx.session, workspace_id=ctx.workspace_id, delivery_id=delivery_id)
    return RedirectResponse("/console/settings/webhooks?show=dead", status_code=303)

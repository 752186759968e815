"""Console: 소셜 멘션 — mentions newest first, filtered by sentiment and status, with
대화로 전환 (convert) and 무시 (dismiss), and the last hour's counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import RedirectResponse

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.channels import service as inboxes
from sodam.core.errors import AppError
from sodam.core.pagination import MAX_ID
from sodam.mentions import service

router = APIRouter(prefix="/console/mentions", include_in_schema=False)

work = console_access(Permission.work)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
SHOWN_ZONE = ZoneInfo("Asia/Seoul")
PAGE_SIZE = 50


def _at(value) -> str:
    return value.astimezone(SHOWN_ZONE).strftime("%Y-%m-%d %H:%M") if value else ""


@router.get("")
async def mentions_page(
    ctx: Annotated[Console, Depends(work)],
    sentiment: Annotated[str, Query(pattern="^(all|negative|neutral|positive)$")] = "all",
    status: Annotated[str, Query(pattern="^(all|new|converted|dismissed)$")] = "new",
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    error: Annotated[str | None, Query(max_length=60)] = None,
):
    rows = await service.list_(
        ctx.session,
        workspace_id=ctx.workspace_id,
        sentiment=None if sentiment == "all" else sentiment,
        status=None if status == "all" else status,
        before_id=before,
        limit=PAGE_SIZE + 1,
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    inbox_names = {i.id: i.name for i in await inboxes.list_(ctx.session, workspace_id=ctx.workspace_id)}
    hour = await service.counts(
        ctx.session, workspace_id=ctx.workspace_id, since=datetime.now(UTC) - timedelta(hours=1)
    )
    key = f"mentions.error.{error}" if error else None
    return ctx.render(
        "mentions/list.html",
        {
            "section": "mentions",
            "mentions": rows,
            "next_before": rows[-1].id if more and rows else None,
            "sentiment": sentiment,
            "status": status,
            "inbox_names": inbox_names,
            "hour": hour,
            "at": _at,
            "error": (ctx.t(key) if key and ctx.t(key) != key else None),
        },
    )


def _back(sentiment: str, status: str, error: str | None = None) -> RedirectResponse:
    query = f"?sentiment={sentiment}&status={status}" + (f"&error={error}" if error else "")
    return RedirectResponse("/console/mentions" + query, status_code=303)


@router.post("/{mention_id}/convert")
async def convert(mention_id: Id, ctx: Annotated[Console, Depends(work)]):
    try:
        mention = await service.convert(ctx.session, workspace_id=ctx.workspace_id, mention_id=mention_id)
    except AppError as exc:
        return _back("all", "all", exc.code)
    return RedirectResponse(f"/console/conversations/{mention.conversation_id}", status_code=303)


@router.post("/{mention_id}/dismiss")
async def dismiss(
    mention_id: Id,
    ctx: Annotated[Console, Depends(work)],
):
    try:
        await service.dismiss(ctx.session, workspace_id=ctx.workspace_id, mention_id=mention_id)
    except AppError as exc:
        return _back("all", "all", exc.code)
    return _back("all", "new")

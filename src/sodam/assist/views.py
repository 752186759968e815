"""Console: the assist panel's JSON (console-assist.js) — suggestions as the agent types, the
usage reports and today's usage line. Every signed-in agent (`work`); CSRF on POSTs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from sodam.accounts.sessions import Console, console
from sodam.assist import service
from sodam.assist.schemas import AssistIn, UsageIn
from sodam.core.params import IdPath

router = APIRouter(prefix="/console", include_in_schema=False)


def usage_line(ctx: Console, figures: dict) -> str:
    total = figures["total"]
    if not total["shown"]:
        return ctx.t("assist.stats.none")
    return ctx.t(
        "assist.stats.line",
        shown=total["shown"],
        inserted=total["inserted"],
        rate=f"{round(100 * (total['rate'] or 0))}%",
    )


@router.post("/conversations/{conversation_id}/assist")
async def assist(conversation_id: IdPath, body: AssistIn, ctx: Annotated[Console, Depends(console)]) -> dict:
    data = await service.suggest(
        ctx.session,
        workspace_id=ctx.workspace_id,
        conversation_id=conversation_id,
        agent_id=ctx.agent.id,
        role=ctx.agent.role,
        draft=body.draft,
        ui_locale=ctx.locale,
    )
    today = datetime.now(UTC).date()
    data["usage_line"] = usage_line(
        ctx, await service.stats(ctx.session, workspace_id=ctx.workspace_id, since=today, until=today)
    )
    return data


@router.post("/assist/usage", status_code=204)
async def usage(body: UsageIn, ctx: Annotated[Console, Depends(console)]) -> Response:
    await service.record(ctx.session, workspace_id=ctx.workspace_id, shown=body.shown, inserted=body.inserted)
    return Response(status_code=204)

"""Console: the agent's notification settings (알림) and the state console.js starts from."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse

from sodam.accounts.sessions import Console, console
from sodam.notifications import service

router = APIRouter(prefix="/console/notifications", include_in_schema=False)


@router.get("")
async def settings_page(ctx: Console = Depends(console)):
    """Sound, desktop and each kind of event on or off, for the signed-in agent only."""
    settings = await service.get_settings(ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id)
    return ctx.render(
        "notifications/settings.html",
        {
            "section": "account",
            "settings": settings,
            "kinds": service.KINDS,
            "saved": ctx.request.query_params.get("saved"),
        },
    )


@router.post("")
async def save_settings(request: Request, ctx: Console = Depends(console)):
    """Unticked boxes are absent from a form: every known key not sent is off."""
    form = await request.form()
    settings = await service.save_settings(
        ctx.session,
        workspace_id=ctx.workspace_id,
        agent_id=ctx.agent.id,
        settings={key: form.get(key) in ("1", "on", "true") for key in service.DEFAULTS},
    )
    await ctx.session.commit()
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"settings": settings})
    return RedirectResponse("/console/notifications?saved=1", status_code=303)


@router.get("/state")
async def state(ctx: Console = Depends(console)) -> JSONResponse:
    """Settings, the agent's unresolved conversations and the unread ones among them."""
    data = await service.console_state(ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id)
    return JSONResponse({"agent_id": ctx.agent.id, **data})

"""Console: asking a customer to share their page, the live mirror, and the settings page
(화면 함께 보기 설정: on/off and the CSS selectors masked in the customer's browser)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.cobrowse import service, timeline
from sodam.cobrowse.schemas import RRWEB_VERSION
from sodam.core.errors import AppError
from sodam.core.params import IdPath

router = APIRouter(prefix="/console", include_in_schema=False)
Worker = Depends(console_access(Permission.work))
Manager = Depends(console_access(Permission.cobrowse_manage))
timeline.register()
# The mirror replays a stranger's page: no script of it may ever run here (the replayer's
# iframe is sandboxed too), and it may not frame us.
MIRROR_CSP = (
    "default-src 'self'; script-src 'self'; connect-src 'self'; img-src * data: blob:; "
    "style-src 'self' 'unsafe-inline' *; font-src * data:; media-src *; frame-src 'self' about:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)


ASK_ERRORS = {
    "cobrowse_disabled": "cobrowse.error.disabled",
    "cobrowse_unavailable": "cobrowse.error.unavailable",
    "cobrowse_in_progress": "cobrowse.error.in_progress",
}
SETTINGS_ERRORS = {
    "invalid_selector": "cobrowse.error.invalid_selector",
    "too_many_selectors": "cobrowse.error.too_many_selectors",
}


@router.post("/conversations/{conversation_id}/cobrowse")
async def ask(conversation_id: IdPath, ctx: Console = Worker):
    """Ask the customer (the widget shows the consent prompt), then open the mirror page."""
    try:
        row = await service.request(
            ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id, agent_id=ctx.agent.id
        )
    except AppError as exc:
        if exc.code == "cobrowse_in_progress" and (exc.details or {}).get("session_id"):
            return RedirectResponse(f"/console/cobrowse/{exc.details['session_id']}", status_code=303)
        if exc.code not in ASK_ERRORS:
            raise
        return ctx.render(
            "cobrowse/mirror.html",
            {"row": None, "status": None, "error": ctx.t(ASK_ERRORS[exc.code])} | _page(conversation_id),
            status_code=exc.status_code,
        )
    await ctx.session.commit()
    return RedirectResponse(f"/console/cobrowse/{row.id}", status_code=303)


def _page(conversation_id: int) -> dict:
    return {"section": "inbox", "conversation_id": conversation_id, "rrweb_version": RRWEB_VERSION}


@router.get("/cobrowse/{cobrowse_id}")
async def mirror(cobrowse_id: IdPath, ctx: Console = Worker):
    """The live mirror of the customer's page (read-only; a click points, nothing more)."""
    row = await service.get(ctx.session, workspace_id=ctx.workspace_id, session_id=cobrowse_id)
    response = ctx.render(
        "cobrowse/mirror.html",
        {"row": row, "status": service.current_status(row), "error": None} | _page(row.conversation_id),
    )
    response.headers["Content-Security-Policy"] = MIRROR_CSP
    return response


@router.post("/cobrowse/{cobrowse_id}/stop")
async def stop(cobrowse_id: IdPath, ctx: Console = Worker):
    row = await service.get(ctx.session, workspace_id=ctx.workspace_id, session_id=cobrowse_id)
    await service.end(ctx.session, row=row, by="agent", agent_id=ctx.agent.id, reason="stopped")
    await ctx.session.commit()
    return RedirectResponse(f"/console/cobrowse/{row.id}", status_code=303)


@router.get("/settings/cobrowse")
async def settings_page(ctx: Console = Manager):
    settings = await service.get_settings(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render(
        "cobrowse/settings.html",
        {
            "section": "settings",
            "enabled": settings.enabled,
            "selectors_text": "\n".join(settings.mask_selectors or []),
            "saved": ctx.request.query_params.get("saved") == "1",
            "error": None,
        },
    )


@router.post("/settings/cobrowse")
async def save_settings(request: Request, ctx: Console = Manager):
    form = await request.form()
    text = str(form.get("mask_selectors") or "")[:20_000]
    enabled = form.get("enabled") == "on"
    try:
        await service.update_settings(
            ctx.session, workspace_id=ctx.workspace_id, enabled=enabled, mask_selectors=text.splitlines()
        )
    except AppError as exc:
        await ctx.session.rollback()
        if exc.code not in SETTINGS_ERRORS:
            raise
        bad = (exc.details or {}).get("selector", "") if isinstance(exc.details, dict) else ""
        return ctx.render(
            "cobrowse/settings.html",
            {
                "section": "settings",
                "enabled": enabled,
                "selectors_text": text,
                "saved": False,
                "error": ctx.t(SETTINGS_ERRORS[exc.code], selector=bad),
            },
            status_code=exc.status_code,
        )
    await ctx.session.commit()
    return RedirectResponse("/console/settings/cobrowse?saved=1", status_code=303)

"""Console: upload a file to the open conversation, read any file of the workspace."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import JSONResponse

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console, console_access
from sodam.attachments import service, sniff
from sodam.attachments.responses import file_response, read_upload
from sodam.config import get_settings
from sodam.conversations import service as conversations
from sodam.core.errors import AppError
from sodam.core.params import IdPath

router = APIRouter(prefix="/console", include_in_schema=False)


def console_message(ctx: Console, exc: AppError) -> AppError:
    """The refusal in the agent's language, with the same code and details."""
    details = exc.details or {}
    keys = {
        "attachment_too_large": "attachments.error.too_large",
        "attachment_type_not_allowed": "attachments.error.type",
        "attachment_type_blocked": "attachments.error.blocked",
        "attachment_empty": "attachments.error.empty",
        "request_too_large": "attachments.error.too_large",
    }
    if exc.code in keys:
        mb = max(1, round((details.get("max_bytes") or 0) / 1024 / 1024))
        exc.message = ctx.t(keys[exc.code], mb=mb)
    return exc


@router.post("/conversations/{conversation_id}/attachments")
async def upload(conversation_id: IdPath, ctx: Console = Depends(console)):
    """One file (multipart `file`) for the reply box; the reply then names its id."""
    conversation = await conversations.get(
        ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
    )
    rules = await service.policy(ctx.session, workspace_id=ctx.workspace_id)
    try:
        filename, data = await read_upload(ctx.request, rules)
        attachment = await service.create(
            ctx.session,
            workspace_id=ctx.workspace_id,
            rules=rules,
            filename=filename,
            data=data,
            uploader_type="agent",
            uploader_id=ctx.agent.id,
            inbox_id=conversation.inbox_id,
            contact_id=conversation.contact_id,
            conversation_id=conversation.id,
        )
    except AppError as exc:
        raise console_message(ctx, exc) from None
    await ctx.session.commit()
    return JSONResponse(attachment.wire(), status_code=201)


@router.get("/attachments/{attachment_id}")
async def download(
    attachment_id: str, download: bool = Query(default=False), ctx: Console = Depends(console)
):
    """A file of this workspace (images inline for <img>, everything else as a download)."""
    attachment = await service.get(ctx.session, workspace_id=ctx.workspace_id, public_id=attachment_id[:40])
    return await file_response(attachment, download=download)


manage_security = console_access(Permission.security_manage)


async def _settings(ctx: Console, *, error: str | None = None, saved: bool = False, status_code: int = 200):
    return ctx.render(
        "attachments/settings.html",
        {
            "section": "settings",
            "policy": await service.policy(ctx.session, workspace_id=ctx.workspace_id),
            "families": sniff.FAMILIES,
            "ceiling_mb": max(1, get_settings().max_upload_bytes // (1024 * 1024)),
            "error": error,
            "saved": saved,
        },
        status_code=status_code,
    )


@router.get("/settings/attachments")
async def settings_page(ctx: Console = Depends(manage_security)):
    """The workspace's attachment limit and allowed kinds of files."""
    return await _settings(ctx)


@router.post("/settings/attachments")
async def save_settings(
    max_mb: int = Form(default=20, ge=1, le=1024 * 1024),
    allowed: list[str] = Form(default=[]),
    ctx: Console = Depends(manage_security),
):
    try:
        await service.set_policy(
            ctx.session, workspace_id=ctx.workspace_id, max_bytes=max_mb * 1024 * 1024, allowed=allowed
        )
    except AppError as exc:
        return await _settings(ctx, error=exc.message, status_code=exc.status_code)
    await ctx.session.commit()
    return await _settings(ctx, saved=True)

"""Console: what customers see of the agent — a public display name and an avatar (an
uploaded image, else the initial letter), set on 내 계정 (/console/account)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form

from sodam.accounts.sessions import Console, console
from sodam.accounts.views_security import _account_page
from sodam.attachments import service as attachments
from sodam.attachments.responses import read_upload
from sodam.attachments.views import console_message
from sodam.core.errors import AppError

router = APIRouter(prefix="/console", include_in_schema=False)


@router.post("/account/profile")
async def save_profile(display_name: str = Form(default="", max_length=200), ctx: Console = Depends(console)):
    """The name customers see beside this agent's replies (empty: the agent's own name)."""
    ctx.agent.display_name = " ".join(display_name.split())[:200] or None
    await ctx.session.commit()
    return await _account_page(ctx, notice=ctx.t("profile.saved"))


@router.post("/account/avatar")
async def upload_avatar(ctx: Console = Depends(console)):
    """A PNG, JPEG, GIF or WebP image (up to 2 MB, or the workspace's limit when lower)."""
    rules = await attachments.policy(ctx.session, workspace_id=ctx.workspace_id)
    rules = attachments.Policy(max_bytes=min(rules.max_bytes, 2 * 1024 * 1024), allowed=("images",))
    try:
        filename, data = await read_upload(ctx.request, rules)
        image = await attachments.create(
            ctx.session,
            workspace_id=ctx.workspace_id,
            rules=rules,
            filename=filename,
            data=data,
            uploader_type="agent",
            uploader_id=ctx.agent.id,
            purpose="avatar",
        )
    except AppError as exc:
        error = console_message(ctx, exc)
        if exc.code == "attachment_type_not_allowed":
            error.message = ctx.t("profile.avatar_type")
        return await _account_page(ctx, error=error.message, status_code=exc.status_code)
    ctx.agent.avatar_id = image.public_id
    await ctx.session.commit()
    return await _account_page(ctx, notice=ctx.t("profile.avatar_saved"))


@router.post("/account/avatar/remove")
async def remove_avatar(ctx: Console = Depends(console)):
    """Back to the initial-letter avatar."""
    ctx.agent.avatar_id = None
    await ctx.session.commit()
    return await _account_page(ctx, notice=ctx.t("profile.avatar_removed"))

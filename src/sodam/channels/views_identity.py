"""Console: an inbox's identity-verification secret (shown to those who manage inboxes,
rotated on request) and whether the help center carries this inbox's widget."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form

from sodam.accounts.sessions import Console
from sodam.channels import identity, service
from sodam.channels.views import _page, manage_inboxes
from sodam.core.params import IdPath

router = APIRouter(prefix="/console/settings/inboxes", include_in_schema=False)


@router.post("/{inbox_id}/identity")
async def change_identity_secret(
    inbox_id: IdPath, action: str = Form(default="rotate"), ctx: Console = Depends(manage_inboxes)
):
    """action=rotate: a new secret (the old one stops verifying at once); action=remove: off."""
    inbox = await service.get(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    if action == "remove":
        await identity.remove_secret(ctx.session, inbox)
    else:
        await identity.rotate_secret(ctx.session, inbox)
    await ctx.session.commit()
    return _page(ctx, inbox, saved=True)


@router.post("/{inbox_id}/helpcenter")
async def change_helpcenter_widget(
    inbox_id: IdPath, enabled: str | None = Form(default=None), ctx: Console = Depends(manage_inboxes)
):
    """Show this inbox's chat widget on the workspace's help center (one inbox at a time)."""
    inbox = await service.get(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    on = enabled not in (None, "", "0", "off", "false")
    if on:
        for other in await service.list_(ctx.session, workspace_id=ctx.workspace_id):
            if other.id != inbox.id and (other.settings or {}).get("helpcenter_widget"):
                await service.update(
                    ctx.session,
                    workspace_id=ctx.workspace_id,
                    inbox_id=other.id,
                    settings={"helpcenter_widget": False},
                )
    inbox = await service.update(
        ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox.id, settings={"helpcenter_widget": on}
    )
    await ctx.session.commit()
    return _page(ctx, inbox, saved=True)

"""Console: connecting an API inbox to a KakaoTalk channel through a dealer, and its 알림톡
templates (register, see the approval state, bring it from the dealer now). What
`docs/kakao.md` does with curl, for a 관리자 who does not."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.channels import service as inboxes
from sodam.channels.models import ChannelType
from sodam.core.errors import AppError, NotFound
from sodam.core.params import IdPath
from sodam.kakao import alimtalk, dealer, rules, service
from sodam.kakao.tasks import sync_one

router = APIRouter(prefix="/console/settings/inboxes/{inbox_id}/kakao", include_in_schema=False)
manage_inboxes = console_access(Permission.inboxes_manage)

# Refusals the page explains in the agent's language (others show the service's message).
ERROR_KEYS = {
    "invalid_dealer_url": "kakao.settings.error.dealer_url",
    "kakao_connected": "kakao.settings.error.connected",
    "sender_key_taken": "kakao.settings.error.sender_key_taken",
    "invalid_template_body": "kakao.settings.error.template_body",
    "template_exists": "kakao.settings.error.template_exists",
    "invalid_template": "kakao.settings.error.template",
}
MAX_BUTTONS = 2  # rows on the form; the API takes up to 5


async def _page(
    ctx: Console,
    inbox_id: int,
    *,
    error: str | None = None,
    saved: str | None = None,
    secret: str | None = None,
    form: dict | None = None,
):
    inbox = await inboxes.get(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    if inbox.channel_type != ChannelType.api:
        raise NotFound("not an API inbox", code="not_an_api_inbox")
    try:
        channel = await service.channel_of(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    except NotFound:
        channel = None
    templates = (
        await alimtalk.templates(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
        if channel
        else []
    )
    return ctx.render(
        "kakao/settings.html",
        {
            "section": "settings",
            "inbox": inbox,
            "channel": channel,
            "events_url": str(ctx.request.base_url).rstrip("/") + f"/kakao/v1/inboxes/{inbox_id}/events",
            "templates": templates,
            "variables": rules.template_variables,
            "error": error,
            "saved": saved,
            "secret": secret,
            "form": form or {},
            "button_rows": range(MAX_BUTTONS),
        },
        status_code=422 if error else 200,
    )


def _explain(ctx: Console, exc: AppError) -> str:
    key = ERROR_KEYS.get(exc.code)
    return ctx.t(key) if key else exc.message


@router.get("")
async def kakao_settings(inbox_id: IdPath, ctx: Console = Depends(manage_inboxes)):
    return await _page(ctx, inbox_id)


@router.post("")
async def connect(
    inbox_id: IdPath,
    sender_key: str = Form(..., min_length=1, max_length=80),
    dealer_url: str = Form(..., min_length=8, max_length=500),
    dealer_api_key: str = Form(..., min_length=1, max_length=200),
    ctx: Console = Depends(manage_inboxes),
):
    """Connect; the secret the dealer signs its events with is shown on this answer only."""
    form = {"sender_key": sender_key, "dealer_url": dealer_url}
    try:
        async with ctx.session.begin_nested():
            _channel, secret = await service.connect(
                ctx.session,
                workspace_id=ctx.workspace_id,
                inbox_id=inbox_id,
                sender_key=sender_key.strip(),
                dealer_url=dealer_url.strip(),
                dealer_api_key=dealer_api_key.strip(),
            )
    except AppError as exc:
        if exc.code in ("not_found", "not_an_api_inbox"):
            raise
        return await _page(ctx, inbox_id, error=_explain(ctx, exc), form=form)
    await ctx.session.commit()
    return await _page(ctx, inbox_id, saved="connected", secret=secret)


@router.post("/templates")
async def register_template(inbox_id: IdPath, request: Request, ctx: Console = Depends(manage_inboxes)):
    raw = await request.form()
    form = {k: str(v).strip() for k, v in raw.items() if k != "csrf_token"}
    code, body = form.get("code", ""), form.get("body", "").replace("\r\n", "\n")
    buttons = [
        {"name": form.get(f"button_{i}_name", ""), "url": form.get(f"button_{i}_url", "")}
        for i in range(MAX_BUTTONS)
        if form.get(f"button_{i}_name") or form.get(f"button_{i}_url")
    ]
    problem = None
    if not code or len(code) > 60 or not all(c.isascii() and (c.isalnum() or c in "_-") for c in code):
        problem = ctx.t("kakao.settings.error.code")
    elif any(
        not b["name"] or len(b["name"]) > 14 or not b["url"].startswith(("https://", "http://"))
        for b in buttons
    ):
        problem = ctx.t("kakao.settings.error.button")
    if problem:
        return await _page(ctx, inbox_id, error=problem, form=form)
    try:
        async with ctx.session.begin_nested():
            await alimtalk.create_template(
                ctx.session,
                workspace_id=ctx.workspace_id,
                inbox_id=inbox_id,
                code=code,
                name=form.get("name", "")[:200],
                body=body,
                buttons=buttons,
            )
    except AppError as exc:
        if exc.code in ("not_found", "not_a_kakao_inbox"):
            raise
        return await _page(ctx, inbox_id, error=_explain(ctx, exc), form=form)
    await ctx.session.commit()
    return await _page(ctx, inbox_id, saved="template")


@router.post("/templates/sync")
async def sync_templates(inbox_id: IdPath, ctx: Console = Depends(manage_inboxes)):
    channel = await service.channel_of(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    channel_id = channel.id
    await ctx.session.commit()
    try:
        await sync_one(channel_id)
    except dealer.DealerError:
        return await _page(ctx, inbox_id, error=ctx.t("kakao.settings.error.dealer_unavailable"))
    return await _page(ctx, inbox_id, saved="synced")

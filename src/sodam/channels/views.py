"""Console settings for inboxes: name, allowed origins, widget colour, pre-chat form, snippet."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.channels import service
from sodam.channels.models import ChannelType
from sodam.config import get_settings
from sodam.core.errors import Invalid
from sodam.core.params import IdPath

router = APIRouter(prefix="/console/settings/inboxes", include_in_schema=False)

manage_inboxes = console_access(Permission.inboxes_manage)
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def embed_snippet(base_url: str, public_token: str) -> str:
    return f'<script src="{base_url}/static/widget.js" data-sodam-inbox="{public_token}" async></script>'


def _page(
    ctx: Console, inbox, *, error: str | None = None, saved: bool = False, origins_text: str | None = None
):
    return ctx.render(
        "console/settings_inbox.html",
        {
            "section": "settings",
            "inbox": inbox,
            "snippet": embed_snippet(get_settings().request_base_url(ctx.request), inbox.public_token),
            "origins_text": origins_text
            if origins_text is not None
            else "\n".join(inbox.allowed_origins or []),
            "error": error,
            "saved": saved,
        },
        status_code=422 if error else 200,
    )


@router.post("")
async def create_inbox(
    name: str = Form(default=""),
    channel_type: str = Form(default="web_widget"),
    ctx: Console = Depends(manage_inboxes),
):
    """A new widget or e-mail inbox; an e-mail inbox goes on to its address and relay."""
    if not name.strip():
        raise Invalid(ctx.t("console.error.inbox_name"), code="invalid_name")
    channel = ChannelType.email if channel_type == "email" else ChannelType.web_widget
    inbox = await service.create(
        ctx.session, workspace_id=ctx.workspace_id, name=name.strip()[:200], channel_type=channel
    )
    await ctx.session.commit()
    then = "/mail" if channel == ChannelType.email else ""
    return RedirectResponse(f"/console/settings/inboxes/{inbox.id}{then}", status_code=303)


@router.get("/{inbox_id}")
async def inbox_settings(inbox_id: IdPath, ctx: Console = Depends(manage_inboxes)):
    inbox = await service.get(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    return _page(ctx, inbox)


@router.post("/{inbox_id}")
async def update_inbox(
    inbox_id: IdPath,
    name: str = Form(default=""),
    allowed_origins: str = Form(default=""),
    color: str = Form(default="#3b5bdb"),
    prechat_form: str | None = Form(default=None),
    bot_enabled: str | None = Form(default=None),
    lead_capture: str = Form(default="outside_hours"),
    hours_timezone: str | None = Form(default=None),
    hours_open: str | None = Form(default=None),
    hours_close: str | None = Form(default=None),
    hours_weekends: str | None = Form(default=None),
    assume_resolved_minutes: int = Form(default=30, ge=1, le=7 * 24 * 60),
    sla_first_reply_minutes: int = Form(default=0, ge=0, le=7 * 24 * 60),
    calls_request: str | None = Form(default=None),
    calls_per_slot: int = Form(default=0, ge=0, le=100),
    ctx: Console = Depends(manage_inboxes),
):
    """Save an inbox's widget settings; invalid input re-renders the form with the error."""
    inbox = await service.get(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    if not COLOR_RE.match(color.strip()):
        return _page(ctx, inbox, error=ctx.t("console.error.invalid_color"), origins_text=allowed_origins)
    origins = [line.strip() for line in allowed_origins.splitlines() if line.strip()]
    for origin in origins:
        try:
            service.normalise_origin(origin)
        except Invalid:
            error = ctx.t("console.error.invalid_origin", origin=origin)
            return _page(ctx, inbox, error=error, origins_text=allowed_origins)
    bot_settings = _bot_settings(
        lead_capture,
        hours_timezone,
        hours_open,
        hours_close,
        hours_weekends,
        assume_resolved_minutes,
        current=(inbox.settings or {}).get("business_hours"),
    )
    if bot_settings is None:
        return _page(ctx, inbox, error=ctx.t("bot.settings.invalid_hours"), origins_text=allowed_origins)
    inbox = await service.update(
        ctx.session,
        workspace_id=ctx.workspace_id,
        inbox_id=inbox_id,
        name=name[:200],
        allowed_origins=origins,
        settings={
            "color": color.strip().lower(),
            "prechat_form": prechat_form is not None,
            "bot_enabled": bot_enabled is not None,
            "sla_first_reply_s": sla_first_reply_minutes * 60,
            # Browser calls (docs/calls.md): the widget's 통화 button; 0 places per booking
            # slot means one per staffed agent.
            "calls_request": calls_request is not None,
            "calls_per_slot": calls_per_slot or None,
            **bot_settings,
        },
    )
    await ctx.session.commit()
    return _page(ctx, inbox, saved=True)


TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
WEEKEND = ("sat", "sun")


def _bot_settings(
    lead_capture, timezone, opens, closes, weekends, assume_minutes, *, current: dict | None = None
) -> dict | None:
    """The bot's inbox settings from the form, or None when the hours make no sense.

    The hours themselves are edited on their own page (/console/settings/hours); a form that
    still sends the old single-span fields sets every weekday (and the weekend) to that span,
    keeping the holidays and custom days already set."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if lead_capture not in ("off", "outside_hours", "always"):
        return None
    out = {"lead_capture": lead_capture, "bot_assume_resolved_after_s": int(assume_minutes) * 60}
    if opens is None and closes is None and timezone is None:
        return out
    opens, closes, timezone = opens or "09:00", closes or "18:00", timezone or "Asia/Seoul"
    if not (TIME_RE.match(opens) and TIME_RE.match(closes)) or opens >= closes:
        return None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    days = WEEKDAYS + (WEEKEND if weekends else ())
    out["business_hours"] = {
        **(current or {}),
        "timezone": timezone,
        "days": {d: [opens, closes] for d in days},
    }
    return out

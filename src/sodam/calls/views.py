"""Console: the call bar of a widget conversation (start a video or voice call, answer the
customer's request, the booked calls) and the call window's copy and ICE servers
(console-calls.js). Permission `calls`."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.calls import service, timeline
from sodam.calls.models import LIVE, WebCall
from sodam.calls.schemas import ice_servers
from sodam.channels import service as inboxes
from sodam.channels.models import ChannelType
from sodam.channels.promise import business_hours
from sodam.conversations import service as conversations
from sodam.conversations.realtime import agent_name
from sodam.core.params import IdPath
from sodam.voice.callbacks import when_text

router = APIRouter(prefix="/console", include_in_schema=False)
timeline.register()
Caller = Depends(console_access(Permission.calls))

CONSOLE_STRINGS = (
    "video",
    "voice",
    "ringing",
    "requested_video",
    "requested_voice",
    "accept",
    "decline",
    "end",
    "mute",
    "unmute",
    "camera_off",
    "camera_on",
    "share",
    "stop_share",
    "connecting",
    "connected",
    "declined",
    "missed",
    "ended",
    "failed",
    "no_media",
    "customer",
    "you",
    "customer_muted",
    "open",
    "busy",
    "due",
)


@router.get("/calls/config")
async def call_config(ctx: Console = Caller) -> dict:
    """What the call window needs: who this agent is, the ICE servers, its copy."""
    strings = {key: ctx.t(f"calls.console.{key}") for key in CONSOLE_STRINGS}
    strings["video"] = ctx.t("calls.kind.video")
    strings["voice"] = ctx.t("calls.kind.voice")
    return {"agent_id": ctx.agent.id, "ice_servers": ice_servers(), "strings": strings}


@router.get("/conversations/{conversation_id}/calls/panel")
async def call_panel(conversation_id: IdPath, ctx: Console = Caller):
    """The call bar above a widget conversation's messages (empty for other channels)."""
    conversation = await conversations.get(
        ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
    )
    inbox = await inboxes.get(ctx.session, workspace_id=ctx.workspace_id, inbox_id=conversation.inbox_id)
    if inbox.channel_type != ChannelType.web_widget:
        return HTMLResponse('<div id="call-panel" hidden></div>')
    calls = list(
        await ctx.session.scalars(
            select(WebCall)
            .where(
                WebCall.workspace_id == ctx.workspace_id,
                WebCall.conversation_id == conversation.id,
                WebCall.status.in_(("scheduled", *LIVE)),
            )
            .order_by(WebCall.scheduled_at.nulls_last(), WebCall.id)
            .limit(20)
        )
    )
    config = business_hours(inbox)
    now = datetime.now(UTC)
    booked = [
        {
            "id": c.id,
            "kind": c.kind,
            "when": when_text(c.scheduled_at, config, ctx.locale),
            "due": c.scheduled_at <= now,
        }
        for c in calls
        if c.status == "scheduled" and c.scheduled_at is not None
    ]
    live = next((c for c in calls if c.status in LIVE), None)
    live_out = service.call_out(live, await agent_name(ctx.session, live.agent_id)) if live else None
    return ctx.render("calls/_panel.html", {"conversation": conversation, "booked": booked, "live": live_out})

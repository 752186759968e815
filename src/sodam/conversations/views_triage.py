"""Console: a conversation's priority (a menu, or `p` to raise it) and snooze until a time."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Form

from sodam.accounts.sessions import Console, console
from sodam.conversations import service, triage
from sodam.conversations.models import Priority
from sodam.conversations.views import _actions
from sodam.core.errors import Invalid
from sodam.core.params import IdPath
from sodam.core.templating import SHOWN_ZONE

router = APIRouter(prefix="/console", include_in_schema=False)
PRESETS = ("1h", "3h", "tomorrow", "next_week", "custom")


@router.post("/conversations/{conversation_id}/priority")
async def change_priority(
    conversation_id: IdPath, priority: str = Form(default="next"), ctx: Console = Depends(console)
):
    """priority: none | low | medium | high | urgent, or `next` (the `p` key: one step up, then round)."""
    conversation = await service.get(
        ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
    )
    if priority == "next":
        wanted = triage.next_priority(conversation.priority)
    elif priority in {p.value for p in Priority}:
        wanted = Priority(priority)
    else:
        raise Invalid(ctx.t("snooze.error.priority"), code="invalid_priority")
    conversation = await service.set_priority(
        ctx.session,
        workspace_id=ctx.workspace_id,
        conversation_id=conversation_id,
        priority=wanted,
        actor_id=ctx.agent.id,
    )
    await ctx.session.commit()
    return await _actions(ctx, conversation)


def snooze_time(preset: str, until: str, now: datetime | None = None) -> datetime:
    """The moment a preset means in the console's time zone (9:00 for "tomorrow" and "next week")."""
    now = (now or datetime.now(SHOWN_ZONE)).astimezone(SHOWN_ZONE)
    nine = now.replace(hour=9, minute=0, second=0, microsecond=0)
    if preset == "1h":
        return now + timedelta(hours=1)
    if preset == "3h":
        return now + timedelta(hours=3)
    if preset == "tomorrow":
        return nine + timedelta(days=1)
    if preset == "next_week":
        return nine + timedelta(days=7 - now.weekday())
    try:
        local = datetime.fromisoformat(until.strip())
    except ValueError:
        raise Invalid("pick a date and time", code="invalid_snooze_time") from None
    return local.replace(tzinfo=SHOWN_ZONE) if local.tzinfo is None else local


@router.post("/conversations/{conversation_id}/snooze")
async def snooze(
    conversation_id: IdPath,
    preset: str = Form(default="custom"),
    until: str = Form(default="", max_length=40),
    ctx: Console = Depends(console),
):
    """보류 until a preset or a chosen time (the console's zone); it opens again then, or when the customer writes."""
    if preset not in PRESETS:
        raise Invalid(ctx.t("snooze.error.time"), code="invalid_snooze_time")
    try:
        when = snooze_time(preset, until)
        conversation = await triage.snooze(
            ctx.session,
            workspace_id=ctx.workspace_id,
            conversation_id=conversation_id,
            until=when,
            actor_id=ctx.agent.id,
        )
    except Invalid as exc:
        exc.message = ctx.t("snooze.error.past" if exc.code == "snooze_in_past" else "snooze.error.time")
        raise
    await ctx.session.commit()
    return await _actions(ctx, conversation)

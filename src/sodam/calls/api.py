"""REST API v1 of browser calls: a conversation's calls, the slots a call can be booked at,
booking and cancelling (permission `calls`). Starting, answering and ending a call, and its
signalling, travel on the realtime socket (`call` frames: docs/calls.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.calls import service, slots, timeline
from sodam.calls.schemas import BookIn, CallOut, CallsOut, SlotsOut
from sodam.channels import service as inboxes
from sodam.channels.models import ChannelType
from sodam.channels.promise import business_hours
from sodam.conversations import service as conversations
from sodam.conversations.realtime import agent_name
from sodam.core.deps import Principal
from sodam.core.errors import Invalid
from sodam.core.params import IdPath
from sodam.voice.callbacks import when_text

router = APIRouter(prefix="/api/v1", tags=["calls"])
timeline.register()

Reader = Annotated[Principal, Depends(api_access(Permission.calls, "read"))]
Writer = Annotated[Principal, Depends(api_access(Permission.calls, "write"))]


async def _widget_inbox(session, *, workspace_id: int, conversation_id: int):
    conversation = await conversations.get(
        session, workspace_id=workspace_id, conversation_id=conversation_id
    )
    inbox = await inboxes.get(session, workspace_id=workspace_id, inbox_id=conversation.inbox_id)
    if inbox.channel_type != ChannelType.web_widget:
        raise Invalid("browser calls need a web widget conversation", code="not_a_widget_conversation")
    return conversation, inbox


@router.get(
    "/conversations/{conversation_id}/web-calls",
    summary="A conversation's browser calls (video and voice), newest first",
    response_model=CallsOut,
)
async def list_calls(conversation_id: IdPath, principal: Reader, session: ApiSession):
    calls = await service.list_for_conversation(
        session, workspace_id=principal.workspace_id, conversation_id=conversation_id
    )
    return {"calls": [service.call_out(c, await agent_name(session, c.agent_id)) for c in calls]}


@router.get(
    "/conversations/{conversation_id}/web-calls/slots",
    summary="The slots a call can be booked at",
    description="30-minute slots inside the inbox's business hours over the next `days` days, each "
    "with the places left (staffed agents, or the inbox's `calls_per_slot`) and a label in `locale`.",
    response_model=SlotsOut,
)
async def call_slots(
    conversation_id: IdPath,
    principal: Reader,
    session: ApiSession,
    days: Annotated[int, Query(ge=1, le=slots.MAX_DAYS)] = slots.DEFAULT_DAYS,
    locale: Annotated[str | None, Query(max_length=10)] = None,
):
    conversation, inbox = await _widget_inbox(
        session, workspace_id=principal.workspace_id, conversation_id=conversation_id
    )
    lang = "en" if (locale or conversation.language or "ko").startswith("en") else "ko"
    offered = await slots.offered(session, inbox=inbox, now=datetime.now(UTC), days=days)
    config = business_hours(inbox)
    return {
        "language": lang,
        "slots": [
            {"start": s.start, "label": when_text(s.start, config, lang), "left": s.left} for s in offered
        ],
    }


@router.post(
    "/conversations/{conversation_id}/web-calls",
    status_code=201,
    summary="Book a call at an offered slot",
    description="409 `slot_unavailable` when the slot is not offered (outside the hours, full or past). "
    "The customer gets a confirmation in the conversation; an agent starts the call at its time.",
    response_model=CallOut,
)
async def book_call(conversation_id: IdPath, body: BookIn, principal: Writer, session: ApiSession):
    conversation, inbox = await _widget_inbox(
        session, workspace_id=principal.workspace_id, conversation_id=conversation_id
    )
    call = await service.book(
        session, inbox=inbox, conversation=conversation, kind=body.kind, scheduled_at=body.scheduled_at,
        initiator="agent",
    )  # fmt: skip
    return service.call_out(call)


@router.get("/web-calls/{call_id}", summary="One browser call", response_model=CallOut)
async def get_call(call_id: IdPath, principal: Reader, session: ApiSession):
    call = await service.get(session, workspace_id=principal.workspace_id, call_id=call_id)
    return service.call_out(call, await agent_name(session, call.agent_id))


@router.post("/web-calls/{call_id}/cancel", summary="Cancel a booked call", response_model=CallOut)
async def cancel_call(call_id: IdPath, principal: Writer, session: ApiSession):
    call = await service.cancel(session, workspace_id=principal.workspace_id, call_id=call_id)
    return service.call_out(call)

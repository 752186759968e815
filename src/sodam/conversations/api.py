"""REST API v1: conversations, their messages and their event log.

State changes go through the service functions that append to the event log
(assign / set_status / set_priority / set_tags / create_message), so a change
made through the API is as visible to analytics and live sockets as one made in
the console.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.accounts.auth import ApiSession, ReadPrincipal, WritePrincipal
from sodam.audit import service as audit
from sodam.channels import service as inboxes
from sodam.channels.api_inbound import request_hash
from sodam.contacts import service as contacts
from sodam.conversations import service, start, triage
from sodam.conversations.models import SenderType, Status
from sodam.conversations.realtime import agent_name
from sodam.conversations.schemas import (
    ConversationOut,
    ConversationStartIn,
    ConversationUpdate,
    MessageIn,
    MessageOut,
    message_out,
)
from sodam.conversations.with_attachments import agent_message
from sodam.core.deps import Principal
from sodam.core.errors import Invalid, NotFound
from sodam.core.pagination import (
    MAX_ID,
    InvalidCursor,
    Page,
    PageParams,
    PageQuery,
    decode_cursor,
    encode_cursor,
    page_of,
)

router = APIRouter(prefix="/api/v1")

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
FilterId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


class View(str, Enum):
    mine = "mine"
    unassigned = "unassigned"
    bot = "bot"
    all = "all"


class EventOut(BaseModel):
    """One entry of the append-only event log (who did what, when)."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    conversation_id: int
    type: str
    actor_type: str
    actor_id: int | None
    data: dict[str, Any]
    created_at: datetime


async def _conversation_page(
    session: AsyncSession, principal: Principal, page: PageParams, kind: str, **filters: Any
) -> dict[str, Any]:
    """One page ordered by latest activity; the cursor holds (activity time, id) of the last row."""
    before = None
    if page.cursor:
        position = decode_cursor(page.cursor, kind, {"at": str, "id": int})
        try:
            before = (datetime.fromisoformat(position["at"]), position["id"])
        except ValueError:
            raise InvalidCursor("the cursor is not valid for this list") from None
    rows = await service.list_(
        session,
        workspace_id=principal.workspace_id,
        agent_id=principal.agent_id,
        before=before,
        limit=page.limit + 1,
        **filters,
    )

    def position(c) -> str:
        return encode_cursor(kind, {"at": (c.last_message_at or c.created_at).isoformat(), "id": c.id})

    rows, cursor = page_of(rows, page.limit, position)
    return {"data": rows, "next_cursor": cursor}


@router.get(
    "/conversations",
    tags=["conversations"],
    summary="List conversations (latest activity first)",
    response_model=Page[ConversationOut],
)
async def list_conversations(
    principal: ReadPrincipal,
    session: ApiSession,
    page: PageQuery,
    view: View = Query(
        default=View.all,
        description="mine: assigned to the token's agent; unassigned: human work nobody has taken; bot: the bot is handling it; all.",
    ),
    status: Status | None = Query(default=None, description="Omit for every status."),
    inbox_id: FilterId = None,
    team_id: FilterId = None,
    contact_id: FilterId = None,
):
    ws = principal.workspace_id
    # An id of another workspace is "not found", exactly like an id that never existed.
    if inbox_id is not None:
        await inboxes.get(session, workspace_id=ws, inbox_id=inbox_id)
    if team_id is not None:
        await accounts.get_team(session, workspace_id=ws, team_id=team_id)
    if contact_id is not None:
        await contacts.get(session, workspace_id=ws, contact_id=contact_id)
    return await _conversation_page(
        session,
        principal,
        page,
        "conversations",
        view=view.value,
        status=status,
        inbox_id=inbox_id,
        team_id=team_id,
        contact_id=contact_id,
    )


class StartedOut(BaseModel):
    conversation: ConversationOut
    message: MessageOut | None


@router.post(
    "/conversations",
    tags=["conversations"],
    summary="Start a conversation with a contact on an inbox (e-mail, API, KakaoTalk, widget)",
    status_code=201,
    response_model=StartedOut,
    responses={
        200: {"description": "A retry with the same Idempotency-Key and body: the stored conversation."},
        404: {"description": "The inbox or contact is not in this workspace."},
        409: {
            "description": "The key was used for another request (`idempotency_key_reused`), or the "
            "channel refuses the first message (`kakao_session_closed`: send an 알림톡 instead)."
        },
        422: {"description": "The contact cannot be reached on this inbox (`contact_unreachable`)."},
    },
)
async def start_conversation(
    body: ConversationStartIn,
    principal: WritePrincipal,
    session: ApiSession,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=64)] = None,
):
    key = idempotency_key or body.client_id
    started = await start.start(
        session,
        workspace_id=principal.workspace_id,
        inbox_id=body.inbox_id,
        contact_id=body.contact_id,
        agent_id=principal.agent_id,
        content=body.content,
        subject=body.subject,
        key=key,
        digest=request_hash("start", body.model_dump(exclude={"client_id"})),
    )
    response.status_code = 201 if started.created else 200
    return {
        "conversation": ConversationOut.model_validate(started.conversation, from_attributes=True),
        "message": await _message_out(session, started.message) if started.message else None,
    }


@router.get(
    "/contacts/{contact_id}/conversations",
    tags=["contacts"],
    summary="A contact's conversations (every status, latest activity first)",
    response_model=Page[ConversationOut],
)
async def contact_conversations(
    contact_id: Id, principal: ReadPrincipal, session: ApiSession, page: PageQuery
):
    await contacts.get(session, workspace_id=principal.workspace_id, contact_id=contact_id)
    return await _conversation_page(
        session, principal, page, "contact_conversations", view="all", status=None, contact_id=contact_id
    )


@router.get(
    "/conversations/{conversation_id}",
    tags=["conversations"],
    summary="Get a conversation",
    response_model=ConversationOut,
)
async def get_conversation(conversation_id: Id, principal: ReadPrincipal, session: ApiSession):
    return await service.get(session, workspace_id=principal.workspace_id, conversation_id=conversation_id)


def _ref_id(value: int, field: str) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFound(f"{field.removesuffix('_id')} not found", details={"field": field})
    return value


@router.patch(
    "/conversations/{conversation_id}",
    tags=["conversations"],
    summary="Change status, priority, assignee, team or tags",
    response_model=ConversationOut,
    description="Only the fields sent change; `assignee_id: null` / `team_id: null` unassign. "
    "Every change is appended to the event log.",
)
async def update_conversation(
    conversation_id: Id, body: ConversationUpdate, principal: WritePrincipal, session: ApiSession
):
    ws, actor = principal.workspace_id, principal.agent_id
    sent = body.model_fields_set
    conversation = await service.get(session, workspace_id=ws, conversation_id=conversation_id)
    for field in ("status", "priority", "tags"):
        if field in sent and getattr(body, field) is None:
            raise Invalid(f"{field} cannot be null", code="validation_error", details={"field": field})
    if body.assignee_id is not None:
        try:
            agent = await accounts.get_agent(
                session, workspace_id=ws, agent_id=_ref_id(body.assignee_id, "assignee_id")
            )
        except NotFound:
            raise NotFound("agent not found", details={"field": "assignee_id"}) from None
        if not agent.is_active:
            raise Invalid(
                "this agent is deactivated", code="agent_inactive", details={"field": "assignee_id"}
            )
    if body.team_id is not None:
        try:
            await accounts.get_team(session, workspace_id=ws, team_id=_ref_id(body.team_id, "team_id"))
        except NotFound:
            raise NotFound("team not found", details={"field": "team_id"}) from None
    if body.tags is not None and any("\x00" in tag for tag in body.tags):
        raise Invalid("tags must not contain the NUL character", code="validation_error")
    if "assignee_id" in sent or "team_id" in sent:
        conversation = await service.assign(
            session,
            workspace_id=ws,
            conversation_id=conversation.id,
            assignee_id=body.assignee_id if "assignee_id" in sent else conversation.assignee_id,
            team_id=body.team_id,
            set_team="team_id" in sent,
            actor_id=actor,
        )
    if body.snoozed_until is not None:
        if body.status not in (None, Status.snoozed):
            raise Invalid(
                "snoozed_until goes with status snoozed",
                code="validation_error",
                details={"field": "snoozed_until"},
            )
        conversation = await triage.snooze(
            session,
            workspace_id=ws,
            conversation_id=conversation.id,
            until=body.snoozed_until,
            actor_id=actor,
        )
    elif body.status is not None:
        conversation = await service.set_status(
            session, workspace_id=ws, conversation_id=conversation.id, status=body.status, actor_id=actor
        )
    if body.priority is not None:
        conversation = await service.set_priority(
            session, workspace_id=ws, conversation_id=conversation.id, priority=body.priority, actor_id=actor
        )
    if body.tags is not None:
        conversation = await service.set_tags(
            session, workspace_id=ws, conversation_id=conversation.id, tags=body.tags, actor_id=actor
        )
    return conversation


@router.get(
    "/conversations/{conversation_id}/events",
    tags=["conversations"],
    summary="The conversation's append-only event log (oldest first)",
    response_model=Page[EventOut],
)
async def conversation_events(
    conversation_id: Id, principal: ReadPrincipal, session: ApiSession, page: PageQuery
):
    ws = principal.workspace_id
    await service.get(session, workspace_id=ws, conversation_id=conversation_id)
    kind = f"events:{conversation_id}"
    after = decode_cursor(page.cursor, kind, {"id": int})["id"] if page.cursor else None
    rows = await service.events(
        session, workspace_id=ws, conversation_id=conversation_id, after_id=after, limit=page.limit + 1
    )
    rows, cursor = page_of(rows, page.limit, lambda e: encode_cursor(kind, {"id": e.id}))
    return {"data": rows, "next_cursor": cursor}


async def _message_out(session: AsyncSession, message) -> dict[str, Any]:
    name = await agent_name(session, message.sender_id) if message.sender_type == SenderType.agent else None
    return message_out(message, name)


@router.get(
    "/conversations/{conversation_id}/messages",
    tags=["messages"],
    summary="Messages in order (private notes included)",
    response_model=Page[MessageOut],
    description="Oldest first. Start after a known sequence number with `after_seq` "
    "(e.g. the last `seq` seen on the live socket), or follow `next_cursor`.",
)
async def list_messages(
    conversation_id: Id,
    principal: ReadPrincipal,
    session: ApiSession,
    page: PageQuery,
    after_seq: int | None = Query(
        default=None, ge=0, le=2**31 - 1, description="Only messages with seq > this."
    ),
):
    ws = principal.workspace_id
    await service.get(session, workspace_id=ws, conversation_id=conversation_id)
    kind = f"messages:{conversation_id}"
    if page.cursor and after_seq is not None:
        raise InvalidCursor("send either cursor or after_seq, not both")
    start = decode_cursor(page.cursor, kind, {"seq": int})["seq"] if page.cursor else (after_seq or 0)
    rows = await service.messages_after(
        session,
        workspace_id=ws,
        conversation_id=conversation_id,
        after_seq=start,
        include_private=True,
        limit=page.limit + 1,
    )
    rows, cursor = page_of(rows, page.limit, lambda m: encode_cursor(kind, {"seq": m.seq}))
    await audit.record(
        session,
        action="conversation.read",
        target_type="conversation",
        target_id=conversation_id,
        details={"messages": len(rows)},
    )
    return {"data": [await _message_out(session, m) for m in rows], "next_cursor": cursor}


@router.post(
    "/conversations/{conversation_id}/messages",
    tags=["messages"],
    summary="Send an agent reply or a private note (idempotent by client_id)",
    status_code=201,
    response_model=MessageOut,
    responses={
        200: {"model": MessageOut, "description": "A retry: the message already stored for this client_id."},
        409: {
            "description": "client_id already used by another sender or conversation (`client_id_conflict`)."
        },
        413: {"description": "Over the message length limit (`message_too_long`)."},
    },
)
async def send_message(
    conversation_id: Id, body: MessageIn, principal: WritePrincipal, session: ApiSession, response: Response
):
    conversation = await service.get(
        session, workspace_id=principal.workspace_id, conversation_id=conversation_id
    )
    message, created = await agent_message(
        session,
        conversation=conversation,
        content=body.content,
        agent_id=principal.agent_id,
        private=body.private,
        client_id=body.client_id,
        attachment_ids=body.attachments,
        via_inbox_id=body.via_inbox_id,
        extra={"buttons": [b.model_dump() for b in body.buttons]} if body.buttons else None,
    )
    if not created:
        response.status_code = 200
    return await _message_out(session, message)

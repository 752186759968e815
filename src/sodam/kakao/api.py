"""REST API v1 of the KakaoTalk adapter, and the dealer's inbound endpoint.

- `POST /kakao/v1/inboxes/{inbox_id}/events`: the dealer's events, signed with the inbox's
  secret (`X-Sodam-Kakao-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>`),
  idempotent by `serial_number`. Nothing secret is in the URL.
- Connecting an API inbox, 알림톡 templates (inboxes.manage); a conversation's session,
  "end consultation" and 알림톡 sends (any agent's write token: `work`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.conversations import service as conversations
from sodam.conversations.schemas import MessageOut, message_out
from sodam.core.deps import DbSession, Principal
from sodam.core.errors import AppError, Invalid, TooLarge, Unauthorized
from sodam.core.pagination import MAX_ID
from sodam.jobs.app import defer_in_tx
from sodam.kakao import alimtalk, dealer, inbound, outbound, service
from sodam.kakao.tasks import sync_one
from sodam.webhooks import signing

SIGNATURE_HEADER = "X-Sodam-Kakao-Signature"
MAX_EVENT_BYTES = 64 * 1024

events_router = APIRouter(prefix="/kakao/v1", tags=["KakaoTalk dealer"])
router = APIRouter(prefix="/api/v1", tags=["KakaoTalk"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Admin = Annotated[Principal, Depends(api_access(Permission.inboxes_manage, "write"))]
AdminReader = Annotated[Principal, Depends(api_access(Permission.inboxes_manage, "read"))]
Worker = Annotated[Principal, Depends(api_access(Permission.work, "write"))]
Reader = Annotated[Principal, Depends(api_access(Permission.work, "read"))]


@events_router.post(
    "/inboxes/{inbox_id}/events",
    summary="The dealer's events (message, open, end, block, unblock), signed, idempotent by serial_number",
    responses={
        401: {"description": "Missing or wrong signature, or too old (`invalid_signature`)."},
        404: {"description": "No KakaoTalk inbox with this id (`not_a_kakao_inbox`)."},
        422: {"description": "A malformed event (`invalid_event`, `sender_key_mismatch`, …)."},
    },
)
async def dealer_event(
    inbox_id: Id,
    request: Request,
    session: DbSession,
    response: Response,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
):
    raw = await request.body()
    if len(raw) > MAX_EVENT_BYTES:
        raise TooLarge("an event is at most 64 KB", code="event_too_large")
    channel = await service.channel_for_events(session, inbox_id=inbox_id)
    # An unknown inbox and a bad signature look alike to a caller without the secret.
    if channel is None or not signature or not signing.verify(channel.inbound_secret, raw, signature):
        raise Unauthorized("missing, wrong or expired signature", code="invalid_signature")
    try:
        event = json.loads(raw)
    except ValueError as exc:
        raise Invalid("the body is not JSON", code="invalid_event") from exc
    if not isinstance(event, dict):
        raise Invalid("the body is a JSON object", code="invalid_event")
    taken = await inbound.take(session, channel=channel, event=event)
    response.status_code = 200 if taken.duplicate else 201
    return taken.wire()


class ConnectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sender_key: str = Field(min_length=1, max_length=80, description="The KakaoTalk channel profile's key.")
    dealer_url: str = Field(min_length=8, max_length=500, description="The dealer API's base address.")
    dealer_api_key: str = Field(
        min_length=1, max_length=200, description="The dealer's key (never returned)."
    )


class ConnectOut(BaseModel):
    inbox_id: int
    sender_key: str
    dealer_url: str
    events_url: str
    inbound_secret: str | None = Field(
        default=None, description="Signs the dealer's events; shown only when connecting."
    )


@router.post(
    "/inboxes/{inbox_id}/kakao",
    summary="Connect an API inbox to a KakaoTalk channel through a dealer (inboxes.manage)",
    status_code=201,
    response_model=ConnectOut,
    responses={409: {"description": "`not_an_api_inbox`, `kakao_connected` or `sender_key_taken`."}},
)
async def connect(inbox_id: Id, body: ConnectIn, principal: Admin, session: ApiSession, request: Request):
    channel, secret = await service.connect(
        session, workspace_id=principal.workspace_id, inbox_id=inbox_id, **body.model_dump()
    )
    return _connect_out(channel, request, secret)


@router.get(
    "/inboxes/{inbox_id}/kakao",
    summary="A KakaoTalk inbox's connection (the secrets are not returned)",
    response_model=ConnectOut,
)
async def get_connection(inbox_id: Id, principal: AdminReader, session: ApiSession, request: Request):
    channel = await service.channel_of(session, workspace_id=principal.workspace_id, inbox_id=inbox_id)
    return _connect_out(channel, request, None)


def _connect_out(channel, request: Request, secret: str | None) -> dict:
    return {
        "inbox_id": channel.inbox_id,
        "sender_key": channel.sender_key,
        "dealer_url": channel.dealer_url,
        "events_url": str(request.base_url).rstrip("/") + f"/kakao/v1/inboxes/{channel.inbox_id}/events",
        "inbound_secret": secret,
    }


class ButtonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=14)
    url: str = Field(min_length=8, max_length=500)


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(default="", max_length=200)
    body: str = Field(min_length=1, max_length=1000, description="Text with #{변수} placeholders.")
    buttons: list[ButtonIn] = Field(default_factory=list, max_length=5)


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    body: str
    buttons: list[dict[str, Any]]
    status: str
    reject_reason: str | None
    synced_at: datetime | None
    variables: list[str]


def _template_out(t) -> dict:
    from sodam.kakao.rules import template_variables

    return {
        **{k: getattr(t, k) for k in TemplateOut.model_fields if k != "variables"},
        "variables": template_variables(t.body),
    }


@router.post(
    "/inboxes/{inbox_id}/kakao/templates",
    summary="Register an 알림톡 template as submitted to the dealer (inboxes.manage)",
    status_code=201,
    response_model=TemplateOut,
)
async def create_template(inbox_id: Id, body: TemplateIn, principal: Admin, session: ApiSession):
    t = await alimtalk.create_template(
        session,
        workspace_id=principal.workspace_id,
        inbox_id=inbox_id,
        code=body.code,
        name=body.name,
        body=body.body,
        buttons=[b.model_dump() for b in body.buttons],
    )
    return _template_out(t)


@router.get(
    "/inboxes/{inbox_id}/kakao/templates",
    summary="An inbox's 알림톡 templates and their approval state",
    response_model=dict[str, list[TemplateOut]],
)
async def list_templates(inbox_id: Id, principal: Reader, session: ApiSession):
    await service.channel_of(session, workspace_id=principal.workspace_id, inbox_id=inbox_id)
    rows = await alimtalk.templates(session, workspace_id=principal.workspace_id, inbox_id=inbox_id)
    return {"data": [_template_out(t) for t in rows]}


@router.post(
    "/inboxes/{inbox_id}/kakao/templates/sync",
    summary="Bring the templates' approval state from the dealer now (inboxes.manage)",
    responses={502: {"description": "The dealer could not be reached (`dealer_unavailable`)."}},
)
async def sync_templates(inbox_id: Id, principal: Admin, session: ApiSession):
    channel = await service.channel_of(session, workspace_id=principal.workspace_id, inbox_id=inbox_id)
    channel_id = channel.id
    await session.commit()
    try:
        changed = await sync_one(channel_id)
    except dealer.DealerError as exc:
        raise AppError(
            "the dealer could not be reached or refused", code="dealer_unavailable", status_code=502
        ) from exc
    return {"changed": changed}


@router.get(
    "/conversations/{conversation_id}/kakao",
    summary="The KakaoTalk session of a conversation (open, until when, or why closed)",
)
async def session_state(conversation_id: Id, principal: Reader, session: ApiSession):
    conversation = await conversations.get(
        session, workspace_id=principal.workspace_id, conversation_id=conversation_id
    )
    await service.channel_of(session, workspace_id=principal.workspace_id, inbox_id=conversation.inbox_id)
    row = await service.session_row(
        session,
        workspace_id=principal.workspace_id,
        inbox_id=conversation.inbox_id,
        contact_id=conversation.contact_id,
    )
    return {**service.state(row), "user_key": row.user_key if row else None}


@router.post(
    "/conversations/{conversation_id}/kakao/end",
    summary="End the KakaoTalk consultation (상담 종료): the session closes, the dealer is told",
    responses={409: {"description": "The session is not open (`kakao_session_closed`)."}},
)
async def end_consultation(conversation_id: Id, principal: Worker, session: ApiSession):
    channel, row = await service.end_by_agent(
        session,
        workspace_id=principal.workspace_id,
        conversation_id=conversation_id,
        agent_id=principal.agent_id,
    )
    await defer_in_tx(
        session,
        "kakao.end_session",
        {"channel_id": channel.id, "user_key": row.user_key},
        queue=outbound.QUEUE,
    )
    return service.state(row)


class AlimtalkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template_code: str = Field(min_length=1, max_length=60)
    variables: dict[str, str] = Field(default_factory=dict, max_length=40)
    client_id: str | None = Field(default=None, min_length=1, max_length=64, description="Idempotency key.")


@router.post(
    "/conversations/{conversation_id}/kakao/alimtalk",
    summary="Send an 알림톡 from an approved template (outside a 상담톡 session)",
    status_code=201,
    response_model=MessageOut,
    responses={
        404: {"description": "`template_not_found` or `not_a_kakao_inbox`."},
        409: {"description": "The template is not approved (`template_not_approved`)."},
        422: {"description": "A #{variable} has no value (`template_variables_missing`)."},
    },
)
async def send_alimtalk(
    conversation_id: Id, body: AlimtalkIn, principal: Worker, session: ApiSession, response: Response
):
    message, created = await alimtalk.send(
        session,
        workspace_id=principal.workspace_id,
        conversation_id=conversation_id,
        template_code=body.template_code,
        variables=body.variables,
        agent_id=principal.agent_id,
        client_id=body.client_id,
    )
    if not created:
        response.status_code = 200
    return message_out(message)

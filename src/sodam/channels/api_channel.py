"""REST API v1: the API channel (create conversations and post customers' messages into an
API inbox, idempotently). Any agent's write token may post (permission `work`): an
integration needs no admin rights."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.attachments import service as attachments
from sodam.attachments.responses import read_upload
from sodam.channels import api_inbound
from sodam.conversations.schemas import ConversationOut, MessageOut, message_out
from sodam.core.deps import Principal
from sodam.core.pagination import MAX_ID

router = APIRouter(prefix="/api/v1/inboxes", tags=["API channel"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Poster = Annotated[Principal, Depends(api_access(Permission.work, "write"))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=64,
        description="Makes the request safe to retry: the same key with the same body returns the "
        "same resource (200); with another body, 409 `idempotency_key_reused`.",
    ),
]
RESPONSES = {
    200: {"description": "A retry with the same Idempotency-Key and body: the stored resource."},
    409: {
        "description": "Not an API inbox (`not_an_api_inbox`), or the key was used with another "
        "body (`idempotency_key_reused`)."
    },
    413: {"description": "Over the message length limit (`message_too_long`)."},
}


class InboundBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str = Field(default="", max_length=100_000, description="The customer's text.")
    client_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="The idempotency key, when not in the header."
    )


class MessageIn(InboundBase):
    attachments: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Ids from POST /inboxes/{id}/conversations/{cid}/attachments.",
    )


class ConversationIn(InboundBase):
    source_id: str = Field(
        min_length=1,
        max_length=200,
        description="Your id for this customer (phone number, social id, member id).",
    )
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)


class InboundOut(BaseModel):
    conversation: ConversationOut
    message: MessageOut
    contact_id: int


def _key(header: str | None, body: InboundBase) -> str | None:  # the header wins
    return header or body.client_id


def _out(posted: api_inbound.Posted, response: Response) -> dict:
    response.status_code = 201 if posted.created else 200
    return {
        "conversation": ConversationOut.model_validate(posted.conversation, from_attributes=True),
        "message": message_out(posted.message),
        "contact_id": posted.contact_id,
    }


@router.post(
    "/{inbox_id}/conversations",
    summary="Open a conversation for a customer of an API inbox, with its first message",
    status_code=201,
    response_model=InboundOut,
    responses=RESPONSES,
)
async def open_conversation(
    inbox_id: Id,
    body: ConversationIn,
    principal: Poster,
    session: ApiSession,
    response: Response,
    idempotency_key: IdempotencyKey = None,
):
    inbox = await api_inbound.api_inbox(session, workspace_id=principal.workspace_id, inbox_id=inbox_id)
    key = _key(idempotency_key, body)
    posted = await api_inbound.open_conversation(
        session,
        inbox=inbox,
        source_id=body.source_id,
        content=body.content,
        name=body.name,
        email=body.email,
        phone=body.phone,
        key=key,
        digest=api_inbound.request_hash("conversations", body.model_dump(exclude={"client_id"})),
    )
    return _out(posted, response)


@router.post(
    "/{inbox_id}/conversations/{conversation_id}/messages",
    summary="Post the customer's next message in an API-inbox conversation",
    status_code=201,
    response_model=InboundOut,
    responses=RESPONSES,
)
async def post_message(
    inbox_id: Id,
    conversation_id: Id,
    body: MessageIn,
    principal: Poster,
    session: ApiSession,
    response: Response,
    idempotency_key: IdempotencyKey = None,
):
    inbox = await api_inbound.api_inbox(session, workspace_id=principal.workspace_id, inbox_id=inbox_id)
    posted = await api_inbound.post_message(
        session,
        inbox=inbox,
        conversation_id=conversation_id,
        content=body.content,
        attachments=body.attachments,
        key=_key(idempotency_key, body),
        digest=api_inbound.request_hash(
            f"messages:{conversation_id}", body.model_dump(exclude={"client_id"})
        ),
    )
    return _out(posted, response)


@router.post(
    "/{inbox_id}/conversations/{conversation_id}/attachments",
    summary="Upload a customer's file (multipart field `file`) to send in an API-inbox conversation",
    status_code=201,
    responses={413: {"description": "Over the size limit."}, 415: {"description": "Type not allowed."}},
)
async def upload(inbox_id: Id, conversation_id: Id, request: Request, principal: Poster, session: ApiSession):
    inbox = await api_inbound.api_inbox(session, workspace_id=principal.workspace_id, inbox_id=inbox_id)
    conversation = await api_inbound.conversation_of(session, inbox=inbox, conversation_id=conversation_id)
    rules = await attachments.policy(session, workspace_id=principal.workspace_id)
    filename, data = await read_upload(request, rules)
    attachment = await attachments.create(
        session,
        workspace_id=principal.workspace_id,
        rules=rules,
        filename=filename,
        data=data,
        uploader_type="contact",
        uploader_id=conversation.contact_id,
        inbox_id=inbox.id,
        contact_id=conversation.contact_id,
        conversation_id=conversation.id,
    )
    return JSONResponse(attachment.wire(), status_code=201)

"""REST API v1: upload a file to a conversation, read one, the workspace's attachment policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sodam.accounts.auth import ApiSession, ReadPrincipal, WritePrincipal, api_access
from sodam.accounts.permissions import Permission
from sodam.attachments import service
from sodam.attachments.responses import file_response, read_upload
from sodam.conversations import service as conversations
from sodam.core.deps import Principal
from sodam.core.pagination import MAX_ID

router = APIRouter(prefix="/api/v1", tags=["attachments"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
PublicId = Annotated[str, Path(min_length=1, max_length=40)]
PolicyWriter = Annotated[Principal, Depends(api_access(Permission.security_manage, "write"))]


class AttachmentOut(BaseModel):
    id: str = Field(description="Put it in a message's `attachments` to send the file.")
    name: str
    content_type: str = Field(description="Sniffed from the bytes, not the uploader's word.")
    kind: str = Field(description="`image` (shown inline) or `file` (a download).")
    size: int


class PolicyOut(BaseModel):
    max_bytes: int
    allowed: list[str]
    families: list[str]


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_bytes: int = Field(ge=1024, le=2**40)
    allowed: list[str] = Field(max_length=10)


@router.post(
    "/conversations/{conversation_id}/attachments",
    summary="Upload a file (multipart field `file`) to send in this conversation",
    status_code=201,
    response_model=AttachmentOut,
    responses={
        413: {"description": "Over the workspace's size limit (`attachment_too_large`, details.max_bytes)."},
        415: {
            "description": "Type not allowed here (`attachment_type_not_allowed`) or never accepted: "
            "programs, scripts, web pages (`attachment_type_blocked`)."
        },
    },
)
async def upload(conversation_id: Id, request: Request, principal: WritePrincipal, session: ApiSession):
    conversation = await conversations.get(
        session, workspace_id=principal.workspace_id, conversation_id=conversation_id
    )
    rules = await service.policy(session, workspace_id=principal.workspace_id)
    filename, data = await read_upload(request, rules)
    attachment = await service.create(
        session,
        workspace_id=principal.workspace_id,
        rules=rules,
        filename=filename,
        data=data,
        uploader_type="agent",
        uploader_id=principal.agent_id,
        inbox_id=conversation.inbox_id,
        contact_id=conversation.contact_id,
        conversation_id=conversation.id,
    )
    return JSONResponse(attachment.wire(), status_code=201)


@router.get(
    "/attachments/{attachment_id}",
    summary="Download a file (Content-Disposition, nosniff; images inline, the rest as attachment)",
    response_class=JSONResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file."}},
)
async def download(
    attachment_id: PublicId,
    principal: ReadPrincipal,
    session: ApiSession,
    download: bool = Query(default=False, description="Always as an attachment, even an image."),
):
    attachment = await service.get(session, workspace_id=principal.workspace_id, public_id=attachment_id)
    return await file_response(attachment, download=download)


@router.get(
    "/workspace/attachment-policy", summary="Size limit and allowed file families", response_model=PolicyOut
)
async def get_policy(principal: ReadPrincipal, session: ApiSession):
    return (await service.policy(session, workspace_id=principal.workspace_id)).wire()


@router.put(
    "/workspace/attachment-policy",
    summary="Change the size limit (bytes) and allowed families (images, documents, archives, media)",
    response_model=PolicyOut,
)
async def put_policy(body: PolicyIn, principal: PolicyWriter, session: ApiSession):
    rules = await service.set_policy(
        session, workspace_id=principal.workspace_id, max_bytes=body.max_bytes, allowed=body.allowed
    )
    return rules.wire()

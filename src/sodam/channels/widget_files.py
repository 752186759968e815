"""The widget's files: upload (then reference the id in a message), download with the
visitor token in a header (the widget turns it into a blob: URL, so no credential ever
sits in a URL), and agents' public avatars."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts.models import Agent
from sodam.attachments import service as attachments
from sodam.attachments.models import Attachment
from sodam.attachments.responses import file_response, read_upload
from sodam.channels.models import Inbox
from sodam.channels.widget import ReadLimit, inbox_for, limit_visitor_message, read_visitor_token
from sodam.conversations.models import Message, MessageKind
from sodam.core.deps import get_session
from sodam.core.errors import NotFound

router = APIRouter(prefix="/widget/v1/{inbox_token}", tags=["widget"])


@router.post("/attachments", status_code=201)
async def widget_upload(
    request: Request,
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
) -> JSONResponse:
    """Upload one file (multipart field `file`); send its id in a message's `attachments`.

    413 attachment_too_large (details.max_bytes) over the workspace's limit, 415
    attachment_type_not_allowed / attachment_type_blocked (programs, scripts, web pages)."""
    contact_id = read_visitor_token(inbox, x_sodam_visitor)
    await limit_visitor_message(request, inbox, contact_id)
    rules = await attachments.policy(session, workspace_id=inbox.workspace_id)
    filename, data = await read_upload(request, rules)
    attachment = await attachments.create(
        session,
        workspace_id=inbox.workspace_id,
        rules=rules,
        filename=filename,
        data=data,
        uploader_type="contact",
        uploader_id=contact_id,
        inbox_id=inbox.id,
        contact_id=contact_id,
    )
    await session.commit()
    return JSONResponse(attachment.wire(), status_code=201)


async def visible_to_visitor(
    session: AsyncSession, attachment: Attachment, inbox: Inbox, contact_id: int
) -> bool:
    """The visitor's own uploads, and files of public messages in their conversations."""
    if (
        attachment.purpose != "message"
        or attachment.inbox_id != inbox.id
        or attachment.contact_id != contact_id
    ):
        return False
    if attachment.uploader_type == "contact" and attachment.uploader_id == contact_id:
        return True
    if attachment.message_id is None:
        return False  # an agent's upload not sent yet
    kind = await session.scalar(select(Message.kind).where(Message.id == attachment.message_id))
    return kind is not None and kind != MessageKind.note


@router.get("/attachments/{attachment_id}", dependencies=ReadLimit)
async def widget_download(
    attachment_id: str,
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
    download: bool = Query(default=False),
):
    """A file of the visitor's conversation (X-Sodam-Visitor header); 404 for anything else."""
    contact_id = read_visitor_token(inbox, x_sodam_visitor)
    attachment = await attachments.get(session, workspace_id=inbox.workspace_id, public_id=attachment_id[:40])
    if not await visible_to_visitor(session, attachment, inbox, contact_id):
        raise NotFound("attachment not found", code="attachment_not_found")
    return await file_response(attachment, download=download)


@router.get("/avatars/{avatar_id}", dependencies=ReadLimit)
async def widget_avatar(
    avatar_id: str,
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
):
    """An agent's public avatar (what customers see beside the agent's replies)."""
    attachment = await attachments.get(session, workspace_id=inbox.workspace_id, public_id=avatar_id[:40])
    in_use = await session.scalar(
        select(Agent.id).where(
            Agent.workspace_id == inbox.workspace_id, Agent.avatar_id == attachment.public_id
        )
    )
    if attachment.purpose != "avatar" or in_use is None:
        raise NotFound("avatar not found", code="attachment_not_found")
    return await file_response(attachment, public=True)


def policy_for_widget(rules: attachments.Policy) -> dict[str, Any]:
    return {"max_bytes": rules.max_bytes, "allowed": list(rules.allowed)}

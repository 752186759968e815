"""What KakaoTalk would refuse, refused before the reply is stored: a send outside an open
상담톡 session (the agent is offered 알림톡 instead), an image over 5 MB, more than five
buttons. Registered on the reply path (conversations/reply_channels.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.attachments.models import Attachment
from sodam.conversations import reply_channels
from sodam.conversations.models import Conversation
from sodam.core.errors import Conflict, Invalid, TooLarge
from sodam.kakao import rules, service


async def check_send(
    session: AsyncSession,
    *,
    conversation: Conversation,
    inbox_id: int,
    content: str,
    attachment_ids: list[str],
    extra: dict[str, Any],
) -> None:
    row = await service.session_row(
        session, workspace_id=conversation.workspace_id, inbox_id=inbox_id, contact_id=conversation.contact_id
    )
    state = service.state(row)
    if not state["open"]:
        raise Conflict(
            "the customer's KakaoTalk session is closed: send an AlimTalk (알림톡) template instead",
            code="kakao_session_closed",
            details={"reason": state["reason"], "alimtalk": True, "inbox_id": inbox_id},
        )
    if attachment_ids:
        sizes = await session.execute(
            select(Attachment.public_id, Attachment.size, Attachment.filename).where(
                Attachment.workspace_id == conversation.workspace_id, Attachment.public_id.in_(attachment_ids)
            )
        )
        for public_id, size, filename in sizes:
            if size > rules.MAX_IMAGE_BYTES:
                raise TooLarge(
                    f"{filename} is over KakaoTalk's 5 MB image limit",
                    code="kakao_image_too_large",
                    details={"id": public_id, "size": size, "max_bytes": rules.MAX_IMAGE_BYTES},
                )
    if len(extra.get("buttons") or []) > rules.MAX_BUTTONS:
        raise Invalid("KakaoTalk takes at most 5 buttons", code="kakao_too_many_buttons")


reply_channels.register_guard("kakao", check_send)

"""The widget's 진행 상황 button: the current status of the visitor's conversation, read only
(nothing stored; the typed question takes the message path, see status_reply.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Header, Query
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import Inbox
from sodam.channels.widget import ReadLimit, inbox_for, read_visitor_token
from sodam.core.deps import get_session
from sodam.core.i18n import normalise
from sodam.routing import status_reply

router = APIRouter(prefix="/widget/v1/{inbox_token}", tags=["widget"])


@router.get("/status", dependencies=ReadLimit)
async def widget_status(
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
    locale: str | None = Query(default=None, max_length=20),
) -> dict[str, Any]:
    """{conversation_id, state, text}: state is one of none, resolved, snoozed, pending, bot,
    answered, assigned, queued; text is the reply in the customer's language (존댓말)."""
    contact_id = read_visitor_token(inbox, x_sodam_visitor)
    conversation, state, text = await status_reply.current(
        session,
        inbox=inbox,
        contact_id=contact_id,
        now=datetime.now(UTC),
        lang=normalise(locale) if locale else None,
    )
    return {"conversation_id": conversation.id if conversation else None, "state": state, "text": text}

"""The widget's 전화 예약 form (widget-callback.js): the slots of the phone inbox the widget
inbox names (settings `callback_inbox_id`) and the booking. Visitor token in a header, CORS by
the inbox's allowed origins like the rest of the widget API."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import Inbox
from sodam.channels.promise import business_hours
from sodam.channels.widget import ReadLimit, inbox_for, read_visitor_token
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import Status
from sodam.core.deps import get_session
from sodam.core.errors import NotFound
from sodam.core.i18n import gettext, normalise
from sodam.voice import callbacks, numbers, service, slots

router = APIRouter(prefix="/widget/v1/{inbox_token}/callbacks", tags=["widget"])
STRINGS = (
    "title",
    "intro",
    "phone",
    "slot",
    "note",
    "submit",
    "cancel",
    "booked",
    "none",
    "failed",
    "taken",
    "bad_phone",
)


class BookingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slot_at: datetime
    phone: str = Field(min_length=3, max_length=40)
    note: str = Field(default="", max_length=500)


async def _phone_line(session: AsyncSession, widget_inbox: Inbox):
    phone_id = (widget_inbox.settings or {}).get("callback_inbox_id")
    if not phone_id:
        raise NotFound("this widget offers no callbacks", code="callbacks_off")
    return await service.get_line(session, workspace_id=widget_inbox.workspace_id, inbox_id=int(phone_id))


@router.get("/slots", dependencies=ReadLimit)
async def widget_slots(
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
    locale: str | None = None,
) -> dict:
    """The slots of the next days, each with its label in the customer's language."""
    contact_id = read_visitor_token(inbox, x_sodam_visitor)
    contact = await contacts.get(session, workspace_id=inbox.workspace_id, contact_id=contact_id)
    phone_inbox, line = await _phone_line(session, inbox)
    lang = normalise(locale or contact.language or "ko")
    config = business_hours(phone_inbox)
    offered = await slots.offered(session, line=line, config=config, now=datetime.now(UTC))
    return {
        "language": lang,
        "phone": contact.phone or "",
        "slots": [
            {"start": s.start.isoformat(), "label": callbacks.when_text(s.start, config, lang)}
            for s in offered
        ],
        "strings": {key: gettext(lang, f"voice.widget.{key}") for key in STRINGS},
    }


@router.post("", dependencies=ReadLimit, status_code=201)
async def widget_book(
    body: BookingIn,
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
    locale: str | None = None,
) -> dict:
    """Book; the confirmation is posted in the visitor's conversation (opened if they have none)."""
    contact_id = read_visitor_token(inbox, x_sodam_visitor)
    contact = await contacts.get(session, workspace_id=inbox.workspace_id, contact_id=contact_id)
    phone_inbox, line = await _phone_line(session, inbox)
    lang = normalise(locale or contact.language or "ko")
    conversation = await conversations.latest_for_contact(
        session, workspace_id=inbox.workspace_id, inbox_id=inbox.id, contact_id=contact_id
    )
    fresh = conversation is None or conversation.status == Status.resolved
    if fresh:
        conversation = await conversations.create(
            session, workspace_id=inbox.workspace_id, inbox_id=inbox.id, contact_id=contact_id, language=lang
        )
    callback = await callbacks.book(
        session,
        inbox=phone_inbox,
        line=line,
        contact=contact,
        phone=body.phone,
        slot_at=body.slot_at,
        source="widget",
        language=lang,
        note=body.note,
        origin_conversation_id=conversation.id,
    )
    if fresh:  # opened only to carry the confirmation: the callback task is the work, not this
        await conversations.set_status(
            session,
            workspace_id=inbox.workspace_id,
            conversation_id=conversation.id,
            status=Status.pending,
            actor_id=None,
            actor_type="system",
        )
    config = business_hours(phone_inbox)
    return {
        "id": callback.id,
        "slot_at": callback.slot_at.isoformat(),
        "phone": numbers.display(callback.phone),
        "conversation_id": conversation.id,
        "message": gettext(
            lang,
            "voice.callback.customer.confirmed",
            when=callbacks.when_text(callback.slot_at, config, lang),
            phone=numbers.display(callback.phone),
        ),
    }

"""The widget's side of browser calls (widget-call.js, loaded only when a call starts or the
customer asks for one): its strings and ICE servers, the slots, booking. Visitor token in a
header, CORS by the inbox's allowed origins, like the rest of the widget API. The call itself
travels on the widget's socket (`call` frames, sodam.calls.signalling)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Header
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.calls import service, slots
from sodam.calls.schemas import BookIn, ice_servers
from sodam.channels import widget
from sodam.channels.models import Inbox
from sodam.channels.promise import business_hours
from sodam.channels.widget import ReadLimit, inbox_for, read_visitor_token
from sodam.conversations import service as conversations
from sodam.core.deps import get_session
from sodam.core.errors import NotFound
from sodam.core.i18n import gettext, normalise
from sodam.voice.callbacks import when_text

router = APIRouter(prefix="/widget/v1/{inbox_token}/web-calls", tags=["widget"])

STRINGS = (
    "incoming_video",
    "incoming_voice",
    "accept",
    "decline",
    "end",
    "mute",
    "unmute",
    "camera_off",
    "camera_on",
    "connecting",
    "connected",
    "ended",
    "declined",
    "missed",
    "failed",
    "no_media",
    "title",
    "intro",
    "request_video",
    "request_voice",
    "waiting",
    "cancel",
    "book",
    "slot",
    "booked",
    "none",
    "taken",
    "agent_muted",
    "agent_camera_off",
    "agent_sharing",
    "you",
    "agent",
    "close",
)


def customer_requests(inbox: Inbox) -> bool:
    """Whether the widget offers the customer a call button (inbox setting `calls_request`)."""
    return bool((inbox.settings or {}).get("calls_request"))


async def _config_part(session: AsyncSession, inbox: Inbox, lang: str):
    """In the widget's /config: the header button's label when customers may ask for a call."""
    return {"label": gettext(lang, "calls.widget.button")} if customer_requests(inbox) else None


widget.CONFIG_PARTS["calls"] = _config_part


def _lang(locale: str | None) -> str:
    return normalise(locale or "ko")


@router.get("/config", dependencies=ReadLimit)
async def call_config(
    inbox: Inbox = Depends(inbox_for),
    x_sodam_visitor: str | None = Header(default=None),
    locale: str | None = None,
) -> dict:
    """The call UI's copy in the customer's language and the ICE servers."""
    read_visitor_token(inbox, x_sodam_visitor)
    lang = _lang(locale)
    strings = {key: gettext(lang, f"calls.widget.{key}") for key in STRINGS}
    strings["video"] = gettext(lang, "calls.kind.video")
    strings["voice"] = gettext(lang, "calls.kind.voice")
    return {
        "language": lang,
        "ice_servers": ice_servers(),
        "request": customer_requests(inbox),
        "strings": strings,
    }


@router.get("/slots", dependencies=ReadLimit)
async def widget_slots(
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
    locale: str | None = None,
) -> dict:
    """The slots of the next days, each labelled in the customer's language."""
    read_visitor_token(inbox, x_sodam_visitor)
    lang = _lang(locale)
    config = business_hours(inbox)
    offered = await slots.offered(session, inbox=inbox, now=datetime.now(UTC))
    return {
        "language": lang,
        "slots": [{"start": s.start.isoformat(), "label": when_text(s.start, config, lang)} for s in offered],
    }


@router.post("", dependencies=ReadLimit, status_code=201)
async def widget_book(
    body: BookIn,
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
    locale: str | None = None,
) -> dict:
    """Book a call in the customer's current conversation (opened if they have none)."""
    contact_id = read_visitor_token(inbox, x_sodam_visitor)
    if not customer_requests(inbox):
        raise NotFound("this widget offers no calls", code="calls_off")
    conversation = await conversations.find_or_create_open(
        session,
        workspace_id=inbox.workspace_id,
        inbox_id=inbox.id,
        contact_id=contact_id,
        language=_lang(locale),
    )
    call = await service.book(
        session, inbox=inbox, conversation=conversation, kind=body.kind, scheduled_at=body.scheduled_at,
        initiator="contact",
    )  # fmt: skip
    lang = call.language
    return {
        "id": call.id,
        "kind": call.kind,
        "scheduled_at": call.scheduled_at.isoformat(),
        "conversation_id": conversation.id,
        "message": gettext(
            lang,
            "calls.booked",
            kind=gettext(lang, f"calls.kind.{call.kind}"),
            when=when_text(call.scheduled_at, business_hours(inbox), lang),
        ),
    }

"""The web widget's public API: config, visitor session, messages (HTTP) and a socket.

Called from customers' browsers on other origins: CORS is restricted to the
inbox's allowed origins (see app middleware), and the visitor proves who they
are with a signed visitor token (no cookies, so no CSRF surface).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from sodam.accounts import service as accounts
from sodam.attachments import service as attachments
from sodam.channels import identity
from sodam.channels import service as inboxes
from sodam.channels.models import Inbox
from sodam.channels.promise import promise_line, wait_promise
from sodam.channels.schemas import WidgetMessageIn, WidgetSessionIn
from sodam.config import get_settings
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations import with_attachments
from sodam.conversations.models import MessageKind, SenderType
from sodam.conversations.realtime import agent_avatar, agent_name
from sodam.conversations.schemas import message_out
from sodam.core.deps import get_session
from sodam.core.errors import AppError, Forbidden, Unauthorized
from sodam.core.i18n import gettext, negotiate, normalise
from sodam.core.params import MAX_ID, MAX_SEQ
from sodam.core.ratelimit import client_ip, enforce
from sodam.core.security import Signer
from sodam.db.session import session_scope
from sodam.nlp.status_question import is_status_question

log = logging.getLogger(__name__)
router = APIRouter(prefix="/widget/v1/{inbox_token}", tags=["widget"])

WIDGET_STRINGS = (
    "widget.title",
    "widget.callback",  # the 전화 예약 button (a phone inbox takes the widget's callbacks)
    "widget.greeting",
    "widget.placeholder",
    "widget.send",
    "widget.connecting",
    "widget.connected",
    "widget.sending",
    "widget.sent",
    "widget.read",
    "widget.typing",
    "widget.failed",
    "widget.prechat_intro",
    "widget.name",
    "widget.email",
    "widget.start",
    "widget.close",
    "widget.open",
    "widget.reply_time",
    "widget.too_long",
    "widget.rejected",
    "widget.bot",
    "widget.read_article",
    "widget.handoff_waiting",
    "widget.queue_position",
    "widget.queue_wait",
    "widget.resolved",
    "widget.privacy",
    "widget.rate_limited",
    "widget.attach",
    "widget.attach_too_large",
    "widget.attach_type",
    "widget.attach_blocked",
    "widget.attach_failed",
    "widget.uploading",
    "widget.download",
    "widget.drop_here",
    "widget.ask",  # 진행 상황: the current status of the visitor's conversation
    "widget.status_none",
    "widget.suggest_label",  # a page rule's suggestion (sodam.pagehelp)
    "widget.suggest_chat",
    "widget.suggest_dismiss",
)

# Other domains add parts to the widget's config without channels importing them (the message
# path's contract): key -> async (session, inbox, language) -> value. sodam.pagehelp adds
# "page_rules".
CONFIG_PARTS: dict[str, Callable[[AsyncSession, Inbox, str], Awaitable[Any]]] = {}


def visitor_signer() -> Signer:
    return Signer(get_settings().resolved_secret_key(), salt="sodam.visitor")


def issue_visitor_token(inbox: Inbox, contact_id: int) -> str:
    return visitor_signer().dumps({"w": inbox.workspace_id, "i": inbox.id, "c": contact_id})


def read_visitor_token(inbox: Inbox, token: str | None, *, max_age_s: int | None = None) -> int:
    """The contact id a visitor token proves, for this inbox; 401 otherwise.

    An expired token gets its own code (visitor_token_expired): the widget then renews it
    through POST /session instead of starting a new visitor.
    """
    max_age = max_age_s or get_settings().visitor_token_ttl_s
    payload, expired = visitor_signer().loads_checking_age(token, max_age=max_age) if token else (None, False)
    if expired:
        raise Unauthorized(
            "the visitor token has expired: renew it with POST /session", code="visitor_token_expired"
        )
    if (
        not isinstance(payload, dict)
        or payload.get("i") != inbox.id
        or payload.get("w") != inbox.workspace_id
    ):
        raise Unauthorized("missing or invalid visitor token", code="invalid_visitor_token")
    return int(payload["c"])


async def inbox_for(
    request: Request, inbox_token: str, session: AsyncSession = Depends(get_session, scope="function")
) -> Inbox:
    """The inbox of the URL: the one the CORS middleware already loaded, else read it."""
    loaded = getattr(request.state, "widget_inbox", None)
    if loaded is not None and loaded.public_token == inbox_token:
        return loaded
    return await inboxes.get_by_public_token(session, public_token=inbox_token)


async def limit_reads(request: Request, inbox: Inbox = Depends(inbox_for)) -> None:
    """Widget reads and socket tickets: per IP (429 + Retry-After), in the inbox's workspace."""
    await enforce(request, ("widget_read_ip", client_ip(request)), workspace_id=inbox.workspace_id)


ReadLimit = [Depends(limit_reads)]


@router.get("/config", dependencies=ReadLimit)
async def widget_config(
    request: Request,
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    locale: str | None = Query(default=None),
) -> dict[str, Any]:
    """Appearance and copy for the widget, in the visitor's language."""
    lang = normalise(locale) if locale else negotiate(request.headers.get("accept-language"))
    settings = inbox.settings or {}
    strings = {key.split(".", 1)[1]: gettext(lang, key) for key in WIDGET_STRINGS}
    # One promise: the same figure as the bot's handoff message and the waiting bar — read for
    # the place a customer handed over now would take, so that an inbox without its own hours
    # that has agents online promises their wait here too, as the handoff message does.
    now = datetime.now(UTC)
    position = await conversations.next_position(session, inbox_id=inbox.id)
    strings["reply_time"] = promise_line(await wait_promise(session, inbox, now, position), now, lang)
    greeting = settings.get(f"greeting_{lang}") or ""
    if greeting:
        strings["greeting"] = greeting
    workspace = await accounts.get_workspace(session, workspace_id=inbox.workspace_id)
    rules = await attachments.policy(session, workspace_id=inbox.workspace_id)
    parts = {key: await part(session, inbox, lang) for key, part in CONFIG_PARTS.items()}
    return parts | {
        # The widget checks size and type before uploading (the server checks again).
        "attachments": {"max_bytes": rules.max_bytes, "allowed": list(rules.allowed)},
        # What is stored and who sees it (PIPA): linked from the widget's footer.
        "privacy_url": f"{get_settings().request_base_url(request)}/help/{workspace.slug}/privacy?locale={lang}",
        "inbox": {"name": inbox.name, "company_name": settings.get("company_name") or inbox.name},
        "color": settings.get("color", "#3b5bdb"),
        "position": settings.get("position", "right"),
        "prechat_form": bool(settings.get("prechat_form")),
        # A phone inbox takes callbacks booked here (the widget shows 전화 예약: sodam.voice).
        "callback": bool(settings.get("callback_inbox_id")),
        "locale": lang,
        "max_chars": get_settings().max_message_chars,
        "strings": strings,
    }


@router.post("/session")
async def widget_session(
    request: Request,
    body: WidgetSessionIn,
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    """Resume a visitor (valid token) or start a new one; the pre-chat form's answers update the contact."""
    contact_id = None
    if body.visitor_token:
        try:
            resume_s = get_settings().visitor_resume_days * 24 * 3600
            contact_id = read_visitor_token(inbox, body.visitor_token, max_age_s=resume_s)
            await contacts.get(session, workspace_id=inbox.workspace_id, contact_id=contact_id)
        except AppError:
            contact_id = None  # stale or foreign token: start afresh rather than fail the page
    fields = {
        "name": body.name,
        "email": body.email,
        "language": normalise(body.locale) if body.locale else None,
    }
    verified = False
    if body.member is not None:  # Sodam("boot", {memberId, …, hash}): see channels/identity.py
        contact_id, claims, verified = await identity.session_contact(
            session, inbox=inbox, member=body.member, resumed_contact_id=contact_id
        )
        fields = {**claims, **{k: v for k, v in fields.items() if v}}
    if contact_id is None:
        # Each new visitor is a new contact: limited per IP and per inbox (429 + Retry-After).
        await enforce(
            request,
            ("widget_session_ip", client_ip(request)),
            ("widget_session_inbox", str(inbox.id)),
            workspace_id=inbox.workspace_id,
        )
        contact = await contacts.get_or_create_by_identity(
            session,
            workspace_id=inbox.workspace_id,
            channel_type="web_widget",
            external_id=f"{inbox.id}:{secrets.token_urlsafe(16)}",
            **fields,
        )
        contact_id = contact.id
    elif any(v for v in fields.values()):
        # What the visitor typed: an address another contact holds stays a claim (no join).
        await contacts.apply_claims(
            session,
            workspace_id=inbox.workspace_id,
            contact_id=contact_id,
            **{k: v for k, v in fields.items() if v},
        )
    conversation = await conversations.latest_for_contact(
        session, workspace_id=inbox.workspace_id, inbox_id=inbox.id, contact_id=contact_id
    )
    return {
        "visitor_token": issue_visitor_token(inbox, contact_id),
        "contact_id": contact_id,
        "verified": verified,
        "conversation_id": conversation.id if conversation else None,
    }


async def visitor_history(
    session: AsyncSession, inbox: Inbox, contact_id: int, conversation_id: int | None, after_seq: int
):
    """Messages the visitor has not seen: after `after_seq` of the conversation they knew, or all of the current one."""
    current = await conversations.latest_for_contact(
        session, workspace_id=inbox.workspace_id, inbox_id=inbox.id, contact_id=contact_id
    )
    if current is None:
        return None, []
    since = after_seq if conversation_id == current.id else 0
    messages = await conversations.messages_after(
        session, workspace_id=inbox.workspace_id, conversation_id=current.id, after_seq=since
    )
    out = []
    for m in messages:
        name = await agent_name(session, m.sender_id) if m.sender_type == SenderType.agent else None
        item = message_out(m, name)
        if m.sender_type == SenderType.agent:
            item["sender_avatar"] = agent_avatar(m.sender_id)
        out.append(item)
    return current, out


@router.get("/messages", dependencies=ReadLimit)
async def widget_messages(
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
    conversation_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    after_seq: int = Query(default=0, ge=0, le=MAX_SEQ),
) -> dict[str, Any]:
    """The visitor's current conversation (public messages only)."""
    contact_id = read_visitor_token(inbox, x_sodam_visitor)
    current, messages = await visitor_history(session, inbox, contact_id, conversation_id, after_seq)
    return {
        "conversation_id": current.id if current else None,
        "status": current.status.value if current else None,
        "messages": messages,
        # How far an agent has read: the widget marks the visitor's messages up to it "읽음".
        "read_seq": await conversations.agent_read_seq(session, conversation_id=current.id) if current else 0,
    }


@router.get("/queue", dependencies=ReadLimit)
async def widget_queue(
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
) -> dict[str, Any]:
    """Where the visitor's current conversation stands in the human queue: its 1-based position
    among the inbox's conversations waiting for a person (None when it is not waiting) and the
    inbox's median first-response time in seconds (None while there is too little data)."""
    contact_id = read_visitor_token(inbox, x_sodam_visitor)
    current = await conversations.latest_for_contact(
        session, workspace_id=inbox.workspace_id, inbox_id=inbox.id, contact_id=contact_id
    )
    if current is None:
        return {"conversation_id": None, "status": None, "position": None, "wait_seconds": None}
    position = await conversations.queue_position(session, inbox_id=inbox.id, conversation_id=current.id)
    promise = (
        await wait_promise(session, inbox, datetime.now(UTC), position) if position is not None else None
    )
    return {
        "conversation_id": current.id,
        "status": current.status.value,
        "position": position,
        # The same promise as the header and the bot's handoff message.
        "wait_seconds": promise.minutes * 60 if promise and promise.open_now and promise.minutes else None,
        "opens_at": promise.opens_at.isoformat() if promise and promise.opens_at else None,
    }


async def accept_visitor_message(
    inbox: Inbox, contact_id: int, content: str, client_id: str, attachment_ids: list[str] | None = None
) -> tuple[dict, bool]:
    """Store a visitor's message (idempotent by client_id) and return (message, created).

    One database statement in its own transaction (conversations.post_visitor_message);
    the caller acknowledges only after it returns, i.e. after COMMIT. With attachments, one
    ordinary transaction that also links the files to the message (with_attachments.post).
    """
    if attachment_ids:
        async with session_scope() as session:
            _message, out, created = await with_attachments.post(
                session,
                workspace_id=inbox.workspace_id,
                inbox_id=inbox.id,
                contact_id=contact_id,
                conversation=None,
                content=content,
                sender_type=SenderType.contact,
                sender_id=contact_id,
                kind=MessageKind.text,
                client_id=client_id,
                attachment_ids=attachment_ids,
                max_chars=get_settings().max_message_chars,
                hints={"bot_enabled": bool((inbox.settings or {}).get("bot_enabled"))},
            )
            await session.commit()
        return out, created
    hints: dict[str, Any] = {"bot_enabled": bool((inbox.settings or {}).get("bot_enabled"))}
    payload = None
    if is_status_question(content):
        # "진행 상황 알려주세요": stored like any message, answered by routing's status reply job,
        # never handed to the bot as a knowledge question (the hint keeps its job from being
        # deferred; the payload tells the bot's later reads to look past it).
        hints["status_request"] = True
        payload = {"status_request": True}
    return await conversations.post_visitor_message(
        workspace_id=inbox.workspace_id,
        inbox_id=inbox.id,
        contact_id=contact_id,
        content=content,
        client_id=client_id,
        language=None,
        max_chars=get_settings().max_message_chars,
        hints=hints,
        payload=payload,
    )


async def limit_visitor_message(conn: HTTPConnection, inbox: Inbox, contact_id: int) -> None:
    """429 (RateLimited) when this visitor, or their IP, sends faster than the inbox's limits."""
    await enforce(
        conn,
        ("widget_message_visitor", str(contact_id)),
        ("widget_message_ip", client_ip(conn)),
        workspace_id=inbox.workspace_id,
    )


@router.post("/messages", status_code=201)
async def widget_send(
    request: Request,
    body: WidgetMessageIn,
    inbox: Inbox = Depends(inbox_for),
    x_sodam_visitor: str | None = Header(default=None),
):
    """Send a message; a retry with the same client_id returns the stored message with 200."""
    contact_id = read_visitor_token(inbox, x_sodam_visitor)
    await limit_visitor_message(request, inbox, contact_id)
    message, created = await accept_visitor_message(
        inbox, contact_id, body.content, body.client_id, body.attachments
    )
    return JSONResponse(message, status_code=201 if created else 200)


def forbid_origin() -> Forbidden:
    return Forbidden("this site is not allowed to use this inbox's widget", code="origin_not_allowed")

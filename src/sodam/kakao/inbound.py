"""The dealer's events: a user's message, 상담 pressed (session open), the user ending the
session, block / unblock. Taken once per `serial_number` (a repeat answers what the first
stored); `user_key` is the contact's identity on this inbox. Messages go through the message
path, so routing, the bot and every reaction behave as for any channel. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import Inbox
from sodam.config import get_settings
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.message_path import create_message
from sodam.conversations.models import MessageKind, SenderType
from sodam.core.errors import Invalid
from sodam.kakao import service
from sodam.kakao.models import KakaoChannel, KakaoEvent

EVENT_TYPES = ("message", "open", "end", "block", "unblock")
HINTS = {"channel_type": "api", "adapter": "kakao"}


@dataclass
class Taken:
    type: str
    duplicate: bool
    conversation_id: int | None
    message_id: int | None

    def wire(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "duplicate": self.duplicate,
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
        }


async def take(session: AsyncSession, *, channel: KakaoChannel, event: dict[str, Any]) -> Taken:
    """Apply one dealer event (the signature was checked by the caller)."""
    kind = event.get("type")
    serial = str(event.get("serial_number") or "")
    user_key = str(event.get("user_key") or "")
    if kind not in EVENT_TYPES:
        raise Invalid("unknown event type", code="invalid_event_type", details={"allowed": list(EVENT_TYPES)})
    if not (1 <= len(serial) <= 80) or not (1 <= len(user_key) <= 120):
        raise Invalid("serial_number and user_key are required", code="invalid_event")
    if event.get("sender_key") != channel.sender_key:
        raise Invalid("sender_key is not this inbox's channel", code="sender_key_mismatch")
    body = str((event.get("content") or {}).get("text") or "") if kind == "message" else ""
    if kind == "message" and not body.strip():
        raise Invalid("a message event needs content.text", code="empty_message")
    claimed = await session.scalar(
        pg_insert(KakaoEvent)
        .values(workspace_id=channel.workspace_id, inbox_id=channel.inbox_id, serial_number=serial, type=kind)
        .on_conflict_do_nothing(constraint="uq_kakao_events_inbox_serial")
        .returning(KakaoEvent.id)
    )
    if claimed is None:
        stored = await session.scalar(
            select(KakaoEvent).where(
                KakaoEvent.inbox_id == channel.inbox_id, KakaoEvent.serial_number == serial
            )
        )
        return Taken(stored.type, True, stored.conversation_id, stored.message_id)
    # One user's events one at a time: two first messages at once must make one contact.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"kakao:{channel.inbox_id}:{user_key}"}
    )
    contact = await contacts.get_or_create_by_identity(
        session,
        workspace_id=channel.workspace_id,
        channel_type=service.IDENTITY_CHANNEL,
        external_id=service.identity(channel.inbox_id, user_key),
        name=(event.get("profile") or {}).get("nickname") or None,
    )
    row = await service.lock_session(
        session,
        workspace_id=channel.workspace_id,
        inbox_id=channel.inbox_id,
        user_key=user_key,
        contact_id=contact.id,
    )
    at = service.now()
    was_open = service.is_open(row, at=at)
    conversation_id = message_id = None
    if kind in ("open", "message"):
        if not was_open:
            row.opened_at, row.ended_at, row.ended_by = at, None, None
        if kind == "message":
            row.last_user_message_at = at
        row.blocked = False
        conversation = await conversations.find_or_create_open(
            session, workspace_id=channel.workspace_id, inbox_id=channel.inbox_id, contact_id=contact.id
        )
        row.conversation_id = conversation_id = conversation.id
        if not was_open:
            await _log(session, channel, conversation.id, "opened")
        if kind == "message":
            message, _created = await create_message(
                session,
                conversation=conversation,
                content=body[: get_settings().max_message_chars],
                sender_type=SenderType.contact,
                sender_id=contact.id,
                kind=MessageKind.text,
                client_id=f"kakao:{serial}"[:64],
                max_chars=get_settings().max_message_chars,
                hints={**HINTS, "bot_enabled": await _bot_enabled(session, channel.inbox_id)},
            )
            message_id = message.id
    else:  # end, block, unblock
        if kind == "block":
            row.blocked = True
        if kind in ("end", "block") and was_open:
            row.ended_at, row.ended_by = at, "user" if kind == "end" else "block"
        if kind == "unblock":
            row.blocked = False
        conversation_id = row.conversation_id
        if conversation_id and kind != "unblock":
            await _log(session, channel, conversation_id, "ended" if kind == "end" else "blocked")
    await session.execute(
        KakaoEvent.__table__.update()
        .where(KakaoEvent.id == claimed)
        .values(conversation_id=conversation_id, message_id=message_id)
    )
    await session.flush()
    return Taken(kind, False, conversation_id, message_id)


async def _bot_enabled(session: AsyncSession, inbox_id: int) -> bool:
    """The bot answers KakaoTalk users when the inbox enables it (as for any API inbox)."""
    inbox = await session.get(Inbox, inbox_id)
    return bool((inbox.settings or {}).get("bot_enabled")) if inbox is not None else False


async def _log(session: AsyncSession, channel: KakaoChannel, conversation_id: int, what: str) -> None:
    await conversations.log_event(
        session,
        workspace_id=channel.workspace_id,
        conversation_id=conversation_id,
        type="kakao.session",
        actor_type="contact",
        data={"state": what, "by": "user"},
    )

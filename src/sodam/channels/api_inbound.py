"""The API channel: a developer's platform (SMS, social DMs, a shop's app) opens conversations
and posts its customers' messages by authenticated POST, idempotently.

Customers are identified by the inbox's external id (`source_id`), stored as the contact's
identity on channel "api" as "{inbox_id}:{source_id}". Messages go through the message path
(sodam_post_message), so realtime, the bot and every reaction behave as for the widget.
Services never commit: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels import service as inboxes
from sodam.channels.models import ApiIdempotencyKey, ChannelType, Inbox
from sodam.config import get_settings
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations import with_attachments
from sodam.conversations.message_path import create_message
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType
from sodam.core.errors import Conflict, Invalid, NotFound

IDENTITY_CHANNEL = "api"


@dataclass
class Posted:
    conversation: Conversation
    message: Message
    contact_id: int
    created: bool


def request_hash(endpoint: str, body: dict[str, Any]) -> str:
    """What a repeated key must match: the endpoint and the body, canonically."""
    raw = json.dumps({"endpoint": endpoint, "body": body}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


async def api_inbox(session: AsyncSession, *, workspace_id: int, inbox_id: int) -> Inbox:
    """An inbox of this workspace that is an API inbox (409 not_an_api_inbox otherwise)."""
    inbox = await inboxes.get(session, workspace_id=workspace_id, inbox_id=inbox_id)
    if inbox.channel_type != ChannelType.api:
        raise Conflict(
            "this inbox is not an API inbox",
            code="not_an_api_inbox",
            details={"channel_type": inbox.channel_type.value},
        )
    return inbox


async def claim_key(
    session: AsyncSession, *, workspace_id: int, inbox_id: int, key: str, digest: str
) -> ApiIdempotencyKey | None:
    """Take an idempotency key for this request: None when it is new (the caller fills it in),
    the stored row for a retry of the same request, 409 idempotency_key_reused otherwise."""
    if not (1 <= len(key) <= 64) or not key.isprintable():
        raise Invalid("an Idempotency-Key is 1-64 printable characters", code="invalid_idempotency_key")
    inserted = await session.scalar(
        pg_insert(ApiIdempotencyKey)
        .values(workspace_id=workspace_id, inbox_id=inbox_id, key=key, request_hash=digest)
        .on_conflict_do_nothing(constraint="uq_api_idempotency_keys_inbox_key")
        .returning(ApiIdempotencyKey.id)
    )
    if inserted is not None:
        return None
    stored = await session.scalar(
        select(ApiIdempotencyKey).where(ApiIdempotencyKey.inbox_id == inbox_id, ApiIdempotencyKey.key == key)
    )
    if stored is None or stored.workspace_id != workspace_id or stored.request_hash != digest:
        raise Conflict(
            "this Idempotency-Key was already used for a different request",
            code="idempotency_key_reused",
            details={"key": key},
        )
    return stored


async def _remember(session: AsyncSession, *, inbox_id: int, key: str | None, posted: Posted) -> None:
    if key:
        await session.execute(
            update(ApiIdempotencyKey)
            .where(ApiIdempotencyKey.inbox_id == inbox_id, ApiIdempotencyKey.key == key)
            .values(conversation_id=posted.conversation.id, message_id=posted.message.id)
        )


async def _replay(session: AsyncSession, *, workspace_id: int, stored: ApiIdempotencyKey) -> Posted:
    conversation = await conversations.get(
        session, workspace_id=workspace_id, conversation_id=stored.conversation_id
    )
    (message,) = await conversations.get_messages_by_ids(session, ids=[stored.message_id])
    return Posted(conversation, message, conversation.contact_id, created=False)


def _hints(inbox: Inbox, *, has_text: bool) -> dict[str, Any]:
    return {
        "bot_enabled": bool((inbox.settings or {}).get("bot_enabled")) and has_text,
        "channel_type": ChannelType.api.value,
    }


async def _post(
    session: AsyncSession,
    *,
    inbox: Inbox,
    conversation: Conversation,
    content: str,
    attachments: list[str],
    client_id: str | None,
) -> Message:
    max_chars = get_settings().max_message_chars
    if attachments:
        message, _out, _created = await with_attachments.post(
            session,
            workspace_id=inbox.workspace_id,
            inbox_id=inbox.id,
            contact_id=conversation.contact_id,
            conversation=conversation,
            content=content,
            sender_type=SenderType.contact,
            sender_id=conversation.contact_id,
            kind=MessageKind.text,
            client_id=client_id,
            attachment_ids=attachments,
            max_chars=max_chars,
            hints=_hints(inbox, has_text=bool(content.strip())),
        )
        return message
    message, _created = await create_message(
        session,
        conversation=conversation,
        content=content,
        sender_type=SenderType.contact,
        sender_id=conversation.contact_id,
        kind=MessageKind.text,
        client_id=client_id,
        max_chars=max_chars,
        hints=_hints(inbox, has_text=True),
    )
    return message


async def open_conversation(
    session: AsyncSession,
    *,
    inbox: Inbox,
    source_id: str,
    content: str,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    key: str | None = None,
    digest: str = "",
) -> Posted:
    """A new conversation for the customer `source_id` (found or created) with its first message."""
    if key:
        stored = await claim_key(
            session, workspace_id=inbox.workspace_id, inbox_id=inbox.id, key=key, digest=digest
        )
        if stored is not None:
            return await _replay(session, workspace_id=inbox.workspace_id, stored=stored)
    contact = await contacts.get_or_create_by_identity(
        session,
        workspace_id=inbox.workspace_id,
        channel_type=IDENTITY_CHANNEL,
        external_id=f"{inbox.id}:{source_id}",
        # The company's own server names the customer: a known e-mail or phone is that contact.
        match_existing=True,
        name=name,
        email=email,
        phone=phone,
    )
    missing = {
        f: v for f, v in (("name", name), ("email", email), ("phone", phone)) if v and not getattr(contact, f)
    }
    if missing:
        await contacts.apply_claims(
            session, workspace_id=inbox.workspace_id, contact_id=contact.id, **missing
        )
    conversation = await conversations.create(
        session,
        workspace_id=inbox.workspace_id,
        inbox_id=inbox.id,
        contact_id=contact.id,
        actor_type="contact",
        actor_id=contact.id,
    )
    # Files come with later messages: they are uploaded into an existing conversation.
    message = await _post(
        session, inbox=inbox, conversation=conversation, content=content, attachments=[], client_id=key
    )
    posted = Posted(conversation, message, contact.id, created=True)
    await _remember(session, inbox_id=inbox.id, key=key, posted=posted)
    return posted


async def post_message(
    session: AsyncSession,
    *,
    inbox: Inbox,
    conversation_id: int,
    content: str,
    attachments: list[str] | None = None,
    key: str | None = None,
    digest: str = "",
) -> Posted:
    """The customer's next message in one of this inbox's conversations."""
    conversation = await conversation_of(session, inbox=inbox, conversation_id=conversation_id)
    if key:
        stored = await claim_key(
            session, workspace_id=inbox.workspace_id, inbox_id=inbox.id, key=key, digest=digest
        )
        if stored is not None:
            return await _replay(session, workspace_id=inbox.workspace_id, stored=stored)
    message = await _post(
        session,
        inbox=inbox,
        conversation=conversation,
        content=content,
        attachments=attachments or [],
        client_id=key,
    )
    posted = Posted(conversation, message, conversation.contact_id, created=True)
    await _remember(session, inbox_id=inbox.id, key=key, posted=posted)
    return posted


async def conversation_of(session: AsyncSession, *, inbox: Inbox, conversation_id: int) -> Conversation:
    """A conversation of this API inbox (404 for any other)."""
    conversation = await conversations.get(
        session, workspace_id=inbox.workspace_id, conversation_id=conversation_id
    )
    if conversation.inbox_id != inbox.id:
        raise NotFound("conversation not found")
    return conversation

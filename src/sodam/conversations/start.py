"""A conversation an agent or an integration starts (POST /api/v1/conversations): for a
contact on a given inbox, e.g. an e-mail to a customer or an outbound KakaoTalk one, with an
optional first message that goes out through the inbox's channel like any reply. Idempotent
by key (the API channel's per-inbox keys). Never commits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels import api_inbound
from sodam.channels import service as inboxes
from sodam.channels.models import ApiIdempotencyKey, ChannelType
from sodam.contacts import service as contacts
from sodam.contacts.models import ContactIdentity
from sodam.conversations import service
from sodam.conversations.models import Conversation, Message
from sodam.conversations.with_attachments import agent_message
from sodam.core.errors import Invalid


@dataclass
class Started:
    conversation: Conversation
    message: Message | None
    created: bool


async def _reachable(session: AsyncSession, *, inbox, contact) -> None:
    """The contact can be written to on this inbox: an address for e-mail, an identity on an
    API (or KakaoTalk) inbox."""
    if inbox.channel_type == ChannelType.email:
        if not contact.email:
            raise Invalid("the contact has no e-mail address", code="contact_unreachable")
        return
    if inbox.channel_type == ChannelType.api:
        found = await session.scalar(
            select(ContactIdentity.id).where(
                ContactIdentity.workspace_id == contact.workspace_id,
                ContactIdentity.contact_id == contact.id,
                ContactIdentity.external_id.startswith(f"{inbox.id}:"),
            )
        )
        if found is None:
            raise Invalid(
                "the contact has no identity on this inbox (it has never written here)",
                code="contact_unreachable",
            )


async def start(
    session: AsyncSession,
    *,
    workspace_id: int,
    inbox_id: int,
    contact_id: int,
    agent_id: int | None,
    content: str = "",
    subject: str | None = None,
    key: str | None = None,
    digest: str = "",
) -> Started:
    inbox = await inboxes.get(session, workspace_id=workspace_id, inbox_id=inbox_id)
    contact = await contacts.get(session, workspace_id=workspace_id, contact_id=contact_id)
    if key:
        stored = await api_inbound.claim_key(
            session, workspace_id=workspace_id, inbox_id=inbox_id, key=key, digest=digest
        )
        if stored is not None:
            return await _replay(session, workspace_id=workspace_id, stored=stored)
    await _reachable(session, inbox=inbox, contact=contact)
    conversation = await service.create(
        session,
        workspace_id=workspace_id,
        inbox_id=inbox.id,
        contact_id=contact.id,
        language=contact.language,
        actor_type="agent",
        actor_id=agent_id,
    )
    if subject:
        conversation.subject = subject
    message = None
    if content.strip():
        message, _created = await agent_message(
            session,
            conversation=conversation,
            content=content,
            agent_id=agent_id,
            private=False,
            client_id=key,
            attachment_ids=None,
        )
    await session.flush()
    if key:
        await session.execute(
            ApiIdempotencyKey.__table__.update()
            .where(ApiIdempotencyKey.inbox_id == inbox_id, ApiIdempotencyKey.key == key)
            .values(conversation_id=conversation.id, message_id=message.id if message else None)
        )
    if subject:
        # The subject's UPDATE expired the columns the database sets (updated_at): read them
        # now, not lazily while the response is written (outside the session's I/O: a 500).
        await session.refresh(conversation)
    return Started(conversation, message, True)


async def _replay(session: AsyncSession, *, workspace_id: int, stored: ApiIdempotencyKey) -> Started:
    conversation = await service.get(
        session, workspace_id=workspace_id, conversation_id=stored.conversation_id
    )
    message = None
    if stored.message_id:
        (message,) = await service.get_messages_by_ids(session, ids=[stored.message_id])
    return Started(conversation, message, False)

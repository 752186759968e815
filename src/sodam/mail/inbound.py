"""A received mail becomes a message: threaded into its conversation, stored once.

Threading: In-Reply-To and References are looked up among the Message-IDs of the inbox's
conversations (the customer's and ours); a reply whose headers were lost ("Re: …" with an
unresolved conversation of the same sender and subject) joins that one; anything else starts a
new conversation. The Message-ID is the message's client_id, so a redelivered mail is the
same message. Mail sent by a machine is stored, marked, and never answered.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.attachments import service as attachments
from sodam.channels.models import Inbox
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType, Status
from sodam.conversations.with_attachments import post
from sodam.core.errors import AppError
from sodam.mail import service
from sodam.mail.models import MailInbox
from sodam.mail.parse import ParsedMail, client_id_for, normalise_subject

log = logging.getLogger(__name__)
EMAIL = "email"


async def _thread(session: AsyncSession, *, inbox: Inbox, mail: ParsedMail, contact_id: int | None):
    """The conversation this mail continues, or None for a new one."""
    found = await service.conversation_of(session, inbox_id=inbox.id, mail_ids=mail.thread_ids())
    if found is not None:
        return await session.get(Conversation, found)
    subject = normalise_subject(mail.subject)
    if contact_id is None or not subject or subject == mail.subject.strip():
        return None  # not a "Re:" with lost headers: a new subject is a new conversation
    return await session.scalar(
        select(Conversation)
        .where(
            Conversation.workspace_id == inbox.workspace_id,
            Conversation.inbox_id == inbox.id,
            Conversation.contact_id == contact_id,
            Conversation.status != Status.resolved,
            Conversation.subject == subject[:300],
        )
        .order_by(Conversation.id.desc())
        .limit(1)
    )


async def _files(
    session: AsyncSession, *, inbox: Inbox, mail: ParsedMail, contact_id: int, conversation_id: int
) -> tuple[list[str], list[dict[str, Any]]]:
    """Store the attachments the workspace's policy accepts; (their ids, the refused ones)."""
    if not mail.files:
        return [], []
    rules = await attachments.policy(session, workspace_id=inbox.workspace_id)
    stored, refused = [], []
    for f in mail.files:
        try:
            async with session.begin_nested():
                row = await attachments.create(
                    session,
                    workspace_id=inbox.workspace_id,
                    rules=rules,
                    filename=f.filename,
                    data=f.data,
                    uploader_type="contact",
                    uploader_id=contact_id,
                    inbox_id=inbox.id,
                    contact_id=contact_id,
                    conversation_id=conversation_id,
                )
            stored.append(row.public_id)
        except AppError as exc:
            refused.append({"filename": f.filename[:255], "size": len(f.data), "code": exc.code})
    return stored, refused


def _payload(mail: ParsedMail, refused: list[dict[str, Any]], robot: str | None) -> dict[str, Any]:
    return {
        "mail": {
            "direction": "in",
            "message_id": mail.message_id,
            "subject": mail.subject,
            "from": mail.from_address,
            "from_name": mail.from_name,
            "to": mail.recipients[:20],
            "date": mail.date,
            "quote": mail.quote,
            "html": mail.html,
            "robot": robot,
            "refused": refused,
            **({"bounce_reason": mail.bounce_reason} if mail.bounce_reason else {}),
        },
        **({"no_reply": True} if robot else {}),
    }


async def _mark_bounced(session: AsyncSession, *, inbox: Inbox, mail: ParsedMail) -> None:
    """A delivery report on one of our mails: that outgoing message failed."""
    for mail_id in mail.bounced_ids or mail.thread_ids():
        known = await service.find_id(session, inbox_id=inbox.id, mail_id=mail_id)
        if known is not None and known.ours and known.message_id is not None:
            await service.set_delivery(
                session,
                workspace_id=inbox.workspace_id,
                message_id=known.message_id,
                delivery={
                    "status": "failed",
                    "bounced": True,
                    "error": f"bounced: {mail.bounce_reason or 'delivery failed'}"[:300],
                    "at": datetime.now(UTC).isoformat(),
                },
            )


async def receive(
    session: AsyncSession, *, config: MailInbox, inbox: Inbox, mail: ParsedMail
) -> tuple[Message, bool]:
    """Store one mail in an e-mail inbox; returns (message, created). The caller commits."""
    # One delivery of a Message-ID at a time per inbox (a redelivery waits and finds it).
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"mail:{inbox.id}:{mail.message_id}"}
    )
    known = await service.find_id(session, inbox_id=inbox.id, mail_id=mail.message_id)
    client_id = client_id_for(mail.message_id)
    if known is not None and not known.ours:
        stored = await session.scalar(
            select(Message).where(Message.inbox_id == inbox.id, Message.client_id == client_id)
        )
        if stored is not None:
            return stored, False
    robot = "ours" if known is not None and known.ours else mail.robot
    if mail.from_address and mail.from_address == config.address:
        robot = robot or "ours"
    sender = None
    if mail.from_address:
        identity = await contacts.by_identity(
            session, workspace_id=inbox.workspace_id, channel_type=EMAIL, external_id=mail.from_address
        )
        sender = identity.contact_id if identity else None
    conversation = await _thread(session, inbox=inbox, mail=mail, contact_id=sender)
    if conversation is None:
        contact = await contacts.contact_for_email(
            session,
            workspace_id=inbox.workspace_id,
            address=mail.from_address or "unknown@invalid",
            name=mail.from_name or None,
        )
        conversation = await conversations.create(
            session, workspace_id=inbox.workspace_id, inbox_id=inbox.id, contact_id=contact.id
        )
        conversation.subject = normalise_subject(mail.subject)[:300] or None
        await session.flush()
    elif conversation.subject is None and mail.subject:
        conversation.subject = normalise_subject(mail.subject)[:300] or None
    if robot == "bounce":
        # The conversation's row first, as the message function and every writer of a
        # conversation's messages take it: marking the bounced reply (a row of messages) before
        # it deadlocked with a job that held the conversation and then touched that reply.
        await session.execute(
            text("SELECT 1 FROM conversations WHERE id = :id FOR UPDATE"), {"id": conversation.id}
        )
        await _mark_bounced(session, inbox=inbox, mail=mail)
    stored_files, refused = await _files(
        session, inbox=inbox, mail=mail, contact_id=conversation.contact_id, conversation_id=conversation.id
    )
    content = mail.text.strip() or ("" if stored_files else (mail.subject.strip() or "-"))
    message, _out, created = await post(
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
        attachment_ids=stored_files,
        max_chars=10_000,
        hints={
            "channel_type": EMAIL,
            "bot_enabled": bool((inbox.settings or {}).get("bot_enabled")) and robot is None,
        },
        extra_payload=_payload(mail, refused, robot),
    )
    if created and known is None:
        await service.remember_id(
            session,
            workspace_id=inbox.workspace_id,
            inbox_id=inbox.id,
            conversation_id=conversation.id,
            message_id=message.id,
            mail_id=mail.message_id,
            ours=False,
        )
    return message, created

"""Messages that carry attachments: the same SQL function, idempotency and fan-out as text.

A file is uploaded first (it gets an attachment id), then the message references it. The
message, its payload ({"attachments": [...]}) and the link from each attachment to it are
written in one transaction, so a retried send (same client_id) returns the stored message
and an attachment can never belong to two messages. Not on the visitor group-commit path:
it locks the attachment rows, which a shared statement could not roll back one by one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.attachments import service as attachments
from sodam.config import get_settings
from sodam.contacts.models import Contact
from sodam.conversations import reply_channels
from sodam.conversations.assignment import claim_by_reply
from sodam.conversations.message_path import (
    _POST_MESSAGE_ORM,
    _apply_conversation_row,
    _client_id_conflict,
    _message_from_row,
    _post_params,
    _same_sender,
    answer_hints,
    create_message,
    inbox_hints,
)
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType
from sodam.conversations.recent import message_out_row, remember
from sodam.core.errors import Conflict

PREVIEW_MARK = "📎"


def attachments_preview(names: list[str]) -> str:
    """The list's preview of a message that is only files: "📎 사진.png 외 1개" style, plain."""
    return f"{PREVIEW_MARK} " + ", ".join(names)[:130]


async def post(
    session: AsyncSession,
    *,
    workspace_id: int,
    inbox_id: int,
    contact_id: int,
    conversation: Conversation | None,
    content: str,
    sender_type: SenderType,
    sender_id: int | None,
    kind: MessageKind,
    client_id: str | None,
    attachment_ids: list[str],
    max_chars: int,
    hints: dict[str, Any] | None = None,
    extra_payload: dict[str, Any] | None = None,
) -> tuple[Message, dict[str, Any], bool]:
    """Store a message with its attachments once; returns (message, wire dict, created).

    `conversation` None: the contact's open conversation in this inbox (or a new one),
    as for any visitor message. The caller commits.
    """
    rows = await attachments.for_message(
        session,
        workspace_id=workspace_id,
        public_ids=attachment_ids,
        uploader_type="contact" if sender_type == SenderType.contact else "agent",
        uploader_id=sender_id,
        conversation_id=conversation.id if conversation is not None else None,
        inbox_id=inbox_id if sender_type == SenderType.contact else None,
    )
    payload = {**(extra_payload or {}), "attachments": [a.wire() for a in rows]}
    only_files = not content.strip()
    if not hints or "channel_type" not in hints:  # a reply on another channel brings its own
        hints = {**(await answer_hints(session, inbox_id, sender_type, kind)), **(hints or {})}
    params = _post_params(
        workspace_id=workspace_id,
        inbox_id=inbox_id,
        contact_id=contact_id,
        conversation_id=conversation.id if conversation is not None else None,
        content=content,
        sender_type=sender_type,
        sender_id=sender_id,
        kind=kind,
        client_id=client_id,
        payload=payload,
        language=None,
        max_chars=max_chars,
        # A photo alone is not a question: the bot waits for words.
        hints={**(hints or {}), **({"bot_enabled": False} if only_files else {})},
    )
    result = await session.scalar(_POST_MESSAGE_ORM, params)
    row = result["message"]
    if not result["created"]:
        if not _same_sender(
            row,
            sender_type=sender_type,
            sender_id=sender_id,
            conversation_id=conversation.id if conversation is not None else None,
        ):
            raise _client_id_conflict(client_id)
        return _message_from_row(row), message_out_row(row), False
    if any(a.message_id is not None for a in rows):
        raise Conflict(
            "an attachment was already sent in another message",
            code="attachment_already_sent",
            details={"ids": [a.public_id for a in rows if a.message_id is not None]},
        )
    attachments.link(rows, message_id=row["id"], conversation_id=row["conversation_id"])
    if only_files and kind != MessageKind.note:
        preview = attachments_preview([a.filename for a in rows])
        await session.execute(
            text(
                "UPDATE conversations SET last_message_preview = :p"
                " WHERE id = :c AND last_seq = :s AND workspace_id = :w"
            ),
            {"p": preview, "c": row["conversation_id"], "s": row["seq"], "w": workspace_id},
        )
        result["conversation"]["last_message_preview"] = preview
    await session.flush()
    if conversation is not None:
        _apply_conversation_row(conversation, result["conversation"])
    out = message_out_row(row)
    remember(out)
    return _message_from_row(row), out, True


async def agent_message(
    session: AsyncSession,
    *,
    conversation: Conversation,
    content: str,
    agent_id: int,
    private: bool,
    client_id: str | None,
    attachment_ids: list[str] | None,
    via_inbox_id: int | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[Message, bool]:
    """An agent's reply or note, with files when given (console and API share this).

    `via_inbox_id`: answer on another of the contact's channels (reply_channels.py); the
    choice is stored in the message's payload and that channel's reaction delivers it."""
    kind = MessageKind.note if private else MessageKind.text
    max_chars = get_settings().max_message_chars
    # Channels deliver public replies by reactions that filter on the channel type (and adapter).
    target_inbox_id = conversation.inbox_id
    payload: dict[str, Any] | None = dict(extra) if extra else None
    if not private and via_inbox_id is not None and via_inbox_id != conversation.inbox_id:
        contact = await session.get(Contact, conversation.contact_id)
        chosen = await reply_channels.resolve(
            session, conversation=conversation, contact=contact, via_inbox_id=via_inbox_id
        )
        if chosen is not None:
            target_inbox_id = chosen[0].id
            payload = {**(payload or {}), "via": {"inbox_id": chosen[0].id, "channel": chosen[1]}}
    hints = await inbox_hints(session, target_inbox_id)
    if not private:
        guard = reply_channels.SEND_GUARDS.get(hints.get("adapter") or hints.get("channel_type") or "")
        if guard is not None and not (client_id and await _stored(session, conversation, client_id)):
            await guard(
                session,
                conversation=conversation,
                inbox_id=target_inbox_id,
                content=content,
                attachment_ids=attachment_ids or [],
                extra=extra or {},
            )
    if not attachment_ids:
        message, created = await create_message(
            session,
            conversation=conversation,
            content=content,
            sender_type=SenderType.agent,
            sender_id=agent_id,
            kind=kind,
            client_id=client_id,
            max_chars=max_chars,
            payload=payload,
            hints=hints,
        )
        return await _claimed(session, conversation, message, created, agent_id)
    message, _out, created = await post(
        session,
        workspace_id=conversation.workspace_id,
        inbox_id=conversation.inbox_id,
        contact_id=conversation.contact_id,
        conversation=conversation,
        content=content,
        sender_type=SenderType.agent,
        sender_id=agent_id,
        kind=kind,
        client_id=client_id,
        attachment_ids=attachment_ids,
        max_chars=max_chars,
        hints=hints,
        extra_payload=payload,
    )
    return await _claimed(session, conversation, message, created, agent_id)


async def _stored(session: AsyncSession, conversation: Conversation, client_id: str) -> bool:
    """A retry of a reply already stored: it is answered with the stored one, never re-checked."""
    found = await session.scalar(
        text("SELECT 1 FROM messages WHERE inbox_id = :i AND client_id = :c"),
        {"i": conversation.inbox_id, "c": client_id},
    )
    return found is not None


async def _claimed(
    session: AsyncSession, conversation: Conversation, message: Message, created: bool, agent_id: int
) -> tuple[Message, bool]:
    """Replying to an unassigned conversation claims it (a private note does not)."""
    if created and message.kind == MessageKind.text and conversation.assignee_id is None:
        await claim_by_reply(session, conversation=conversation, agent_id=agent_id)
    return message, created

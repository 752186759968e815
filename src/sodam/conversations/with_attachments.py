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
from sodam.conversations.assignment import claim_by_reply
from sodam.conversations.message_path import (
    _POST_MESSAGE_ORM,
    _apply_conversation_row,
    _client_id_conflict,
    _message_from_row,
    _post_params,
    _remember,
    _same_sender,
    answer_hints,
    channel_type_of,
    create_message,
    message_out_row,
)
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType
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
    _remember(out)
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
) -> tuple[Message, bool]:
    """An agent's reply or note, with files when given (console and API share this)."""
    kind = MessageKind.note if private else MessageKind.text
    max_chars = get_settings().max_message_chars
    # Channels deliver public replies by reactions that filter on the inbox's channel type.
    hints = {"channel_type": await channel_type_of(session, conversation.inbox_id)}
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
    )
    return await _claimed(session, conversation, message, created, agent_id)


async def _claimed(
    session: AsyncSession, conversation: Conversation, message: Message, created: bool, agent_id: int
) -> tuple[Message, bool]:
    """Replying to an unassigned conversation claims it (a private note does not)."""
    if created and message.kind == MessageKind.text and conversation.assignee_id is None:
        await claim_by_reply(session, conversation=conversation, agent_id=agent_id)
    return message, created

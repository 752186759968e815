"""The message path: storing a message once (idempotent per sender), in one statement.

Every writer (widget, API, console, bot) goes through sodam_post_message (migration
0006): it locks the conversation, stores the message, appends to the event log,
defers the reactions and queues the bus notification, all in one transaction. The
visitor hot path shares transactions under load (group commit) and sends its
notifications right after each COMMIT instead (migration 0045). What this process
just stored is cached for the fan-out, so it never reads its own messages back.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from sodam.config import get_settings
from sodam.conversations.models import Conversation, Direction, Message, MessageKind, SenderType, Status
from sodam.conversations.recent import message_out_row, remember
from sodam.core.errors import Conflict, Invalid, NotFound, TooLarge
from sodam.db.group_commit import GroupCommitter
from sodam.db.session import raw_pool, warm_raw_connections
from sodam.jobs import reactions
from sodam.realtime import bus

PREVIEW_CHARS = 140


def validate_content(content: str, *, max_chars: int, allow_empty: bool = False) -> str:
    """The text as stored; `allow_empty` when the message carries attachments (a photo alone)."""
    if not isinstance(content, str):
        raise Invalid("content must be a string", code="invalid_content")
    if len(content) > max_chars:
        raise TooLarge(
            f"message is {len(content)} characters; the limit is {max_chars}",
            code="message_too_long",
            details={"length": len(content), "max_chars": max_chars},
        )
    if not content.strip() and not allow_empty:
        raise Invalid("message is empty", code="empty_message")
    if "\x00" in content:
        raise Invalid("message contains the NUL character", code="invalid_content")
    return content


_POST_MESSAGE_ORM = text(
    "SELECT sodam_post_message(:workspace_id, :inbox_id, :contact_id, :conversation_id,"
    " CAST(:sender_type AS sender_type), :sender_id, CAST(:kind AS message_kind), :content, :client_id,"
    " CAST(:payload AS jsonb), :language, CAST(:jobs AS jsonb), :preview_chars)"
)


def _post_params(
    *,
    workspace_id: int,
    inbox_id: int,
    contact_id: int | None,
    conversation_id: int | None,
    content: str,
    sender_type: SenderType,
    sender_id: int | None,
    kind: MessageKind,
    client_id: str | None,
    payload: dict[str, Any] | None,
    language: str | None,
    max_chars: int,
    hints: dict[str, Any] | None = None,
) -> dict[str, Any]:
    content = validate_content(
        content, max_chars=max_chars, allow_empty=bool(payload and payload.get("attachments"))
    )
    if client_id is not None and not (1 <= len(client_id) <= 64):
        raise Invalid("client_id must be 1-64 characters", code="invalid_client_id")
    jobs = reactions.jobs_for(
        "message.created", {"sender_type": sender_type.value, "kind": kind.value, **(hints or {})}
    )
    return {
        "workspace_id": workspace_id,
        "inbox_id": inbox_id,
        "contact_id": contact_id,
        "conversation_id": conversation_id,
        "sender_type": sender_type.value,
        "sender_id": sender_id,
        "kind": kind.value,
        "content": content,
        "client_id": client_id,
        "payload": json.dumps(payload) if payload is not None else None,
        "language": language,
        "jobs": json.dumps(jobs),
        "preview_chars": PREVIEW_CHARS,
    }


_channel_types: dict[int, str] = {}
_adapters: dict[int, str | None] = {}


async def channel_type_of(session: AsyncSession, inbox_id: int) -> str:
    """The inbox's channel type (the `channel_type` hint reactions filter on); an inbox never
    changes its channel, so each process reads it once."""
    return (await inbox_hints(session, inbox_id)).get("channel_type", "")


async def inbox_hints(session: AsyncSession, inbox_id: int) -> dict[str, Any]:
    """{"channel_type": ..., "adapter": ...}: what reactions that deliver answers elsewhere
    (e-mail, the API channel's callback, the KakaoTalk adapter) filter on. An inbox never
    changes its channel; an API inbox gets its adapter (kakao) once, when it is connected,
    so an API inbox without one is read again until it has one."""
    found = _channel_types.get(inbox_id)
    if found is None or (found == "api" and _adapters.get(inbox_id) is None):
        row = (
            await session.execute(
                text("SELECT channel_type::text, settings->>'adapter' FROM inboxes WHERE id = :id"),
                {"id": inbox_id},
            )
        ).first()
        if row is None:
            return {}
        found = _channel_types[inbox_id] = row[0]
        _adapters[inbox_id] = row[1]
    adapter = _adapters.get(inbox_id)
    return {"channel_type": found, **({"adapter": adapter} if adapter else {})}


async def answer_hints(
    session: AsyncSession, inbox_id: int, sender_type: SenderType, kind: MessageKind
) -> dict[str, Any]:
    """{"channel_type": ..., "adapter": ...}: the reactions of a channel that delivers answers
    elsewhere (e-mail, the API channel's callback, KakaoTalk) filter on it, and on the sender
    and kind themselves."""
    return await inbox_hints(session, inbox_id)


def _same_sender(
    row: dict[str, Any], *, sender_type: SenderType, sender_id: int | None, conversation_id: int | None
) -> bool:
    """Whether a stored message was sent by this sender (and, when given, in this conversation)."""
    return (
        row["sender_type"] == sender_type.value
        and row["sender_id"] == sender_id
        and (conversation_id is None or row["conversation_id"] == conversation_id)
    )


def _client_id_conflict(client_id: str | None) -> Conflict:
    # Nothing of the stored message goes back: it belongs to someone else.
    return Conflict(
        "this client_id was already used for another message",
        code="client_id_conflict",
        details={"client_id": client_id},
    )


def _message_from_row(row: dict[str, Any]) -> Message:
    """A (detached) Message from the row sodam_post_message returned."""
    return Message(
        id=row["id"],
        workspace_id=row["workspace_id"],
        conversation_id=row["conversation_id"],
        inbox_id=row["inbox_id"],
        seq=row["seq"],
        direction=Direction(row["direction"]),
        kind=MessageKind(row["kind"]),
        sender_type=SenderType(row["sender_type"]),
        sender_id=row["sender_id"],
        content=row["content"],
        client_id=row["client_id"],
        payload=row["payload"],
        sentiment_score=row.get("sentiment_score"),
        sentiment_label=row.get("sentiment_label"),
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def _apply_conversation_row(conversation: Conversation, row: dict[str, Any]) -> None:
    """Bring the caller's Conversation object up to date without reading it again."""
    for key in ("last_seq", "last_message_preview"):
        set_committed_value(conversation, key, row[key])
    set_committed_value(conversation, "status", Status(row["status"]))
    for key in ("last_message_at", "updated_at"):
        value = row[key]
        set_committed_value(conversation, key, datetime.fromisoformat(value) if value else None)


async def create_message(
    session: AsyncSession,
    *,
    conversation: Conversation,
    content: str,
    sender_type: SenderType,
    sender_id: int | None,
    kind: MessageKind = MessageKind.text,
    client_id: str | None = None,
    max_chars: int = 10_000,
    payload: dict[str, Any] | None = None,
    hints: dict[str, Any] | None = None,
) -> tuple[Message, bool]:
    """Store a message once; returns (message, created). A repeated client_id returns the stored one.

    One call to sodam_post_message (see migration 0006): it locks the conversation
    (seq order = commit order), stores the message, appends to the event log, defers
    the registered reactions and queues the bus notification, all in the caller's
    transaction.
    """
    if not hints or "channel_type" not in hints:  # reactions may filter on the channel (one read per inbox)
        hints = {**(await inbox_hints(session, conversation.inbox_id)), **(hints or {})}
    params = _post_params(
        workspace_id=conversation.workspace_id,
        inbox_id=conversation.inbox_id,
        contact_id=conversation.contact_id,
        conversation_id=conversation.id,
        content=content,
        sender_type=sender_type,
        sender_id=sender_id,
        kind=kind,
        client_id=client_id,
        payload=payload,
        language=None,
        max_chars=max_chars,
        hints=hints,
    )
    result = await session.scalar(_POST_MESSAGE_ORM, params)
    if not result["created"] and not _same_sender(
        result["message"], sender_type=sender_type, sender_id=sender_id, conversation_id=conversation.id
    ):
        raise _client_id_conflict(client_id)
    message = _message_from_row(result["message"])
    if not result["created"]:
        return message, False
    _apply_conversation_row(conversation, result["conversation"])
    remember(message_out_row(result["message"]))
    return message, True


async def create_messages(session: AsyncSession, **batch: Any) -> list[Message]:
    """Several new messages (content, payload[, kind]) of one sender, in this order, in one
    round trip: the same sodam_post_message calls as create_message one after another (no
    client_id, so each is stored). `batch`: messages_statement's arguments. The bot's answer
    and its "도움이 되었나요?" go together, as do its handoff message and the note for the team."""
    statement, values = await messages_statement(session, **batch)
    return apply_stored(batch["conversation"], list(await session.scalars(statement, values)))


async def messages_statement(
    session: AsyncSession,
    *,
    conversation: Conversation,
    messages: list[tuple[str, dict[str, Any] | None]] | list[tuple[str, dict[str, Any] | None, MessageKind]],
    sender_type: SenderType,
    sender_id: int | None,
    kind: MessageKind = MessageKind.text,
    max_chars: int = 10_000,
):
    """The statement that stores `messages` (content, payload[, kind]; `kind` for those that give
    none) of one sender, and its parameters: create_messages runs it, a caller that sends it
    with others (db.pipeline) gives its rows to apply_stored."""
    hints = await inbox_hints(session, conversation.inbox_id)
    batch = [
        _post_params(
            workspace_id=conversation.workspace_id,
            inbox_id=conversation.inbox_id,
            contact_id=conversation.contact_id,
            conversation_id=conversation.id,
            content=content,
            sender_type=sender_type,
            sender_id=sender_id,
            kind=rest[0] if rest else kind,
            client_id=None,
            payload=payload,
            language=None,
            max_chars=max_chars,
            hints=hints,
        )
        for content, payload, *rest in messages
    ]
    return _POST_MESSAGES_ORM, {name: [params[name] for params in batch] for name, _ in _BATCH_COLUMNS}


def apply_stored(conversation: Conversation, results: list[dict[str, Any]]) -> list[Message]:
    """The messages messages_statement stored (its rows' one column), as Message objects;
    `conversation` brought up to date with the last one."""
    stored = []
    for result in results:
        stored.append(_message_from_row(result["message"]))
        remember(message_out_row(result["message"]))
    _apply_conversation_row(conversation, results[-1]["conversation"])
    return stored


# Many sodam_post_message calls in one statement (so one transaction and one round
# trip), called in the batch's order; row i is caller i's result.
_BATCH_COLUMNS = (
    ("workspace_id", "bigint"),
    ("inbox_id", "bigint"),
    ("contact_id", "bigint"),
    ("conversation_id", "bigint"),
    ("sender_type", "text"),
    ("sender_id", "bigint"),
    ("kind", "text"),
    ("content", "text"),
    ("client_id", "text"),
    ("payload", "text"),
    ("language", "text"),
    ("jobs", "text"),
    ("preview_chars", "integer"),
)


def _batch_post_sql(array_of, skip_locked: str, notify: str = "true") -> str:
    """The batch statement, with `array_of(name, type)` the driver's typed array parameter.
    notify "false": the caller sends the rows' NOTIFYs after COMMIT (migration 0045)."""
    return (
        "SELECT sodam_post_message(b.workspace_id, b.inbox_id, b.contact_id, b.conversation_id,"
        " CAST(b.sender_type AS sender_type), b.sender_id, CAST(b.kind AS message_kind), b.content,"
        f" b.client_id, CAST(b.payload AS jsonb), b.language, CAST(b.jobs AS jsonb), b.preview_chars, {skip_locked}, {notify})"
        " FROM unnest("
        + ", ".join(array_of(name, kind) for name, kind in _BATCH_COLUMNS)
        + ") WITH ORDINALITY AS b("
        + ", ".join(name for name, _ in _BATCH_COLUMNS)
        + ", ord) ORDER BY b.ord"
    )


# The visitor path's autocommit statement: its NOTIFYs go after COMMIT (`_notify_after`).
POST_MESSAGES_SQL = _batch_post_sql(lambda name, kind: f"%({name})s::{kind}[]", "%(skip_locked)s", "false")
# The same through an ORM session (the caller's transaction, which may hold the conversation:
# never skip it).
_POST_MESSAGES_ORM = text(_batch_post_sql(lambda name, kind: f"CAST(:{name} AS {kind}[])", "false"))


def _post_messages_statement(
    batch: list[dict[str, Any]], *, skip_locked: bool = True
) -> tuple[str, dict[str, Any]]:
    """A batch skips the conversations someone else holds (their rows come back busy)."""
    values: dict[str, Any] = {name: [params[name] for params in batch] for name, _ in _BATCH_COLUMNS}
    return POST_MESSAGES_SQL, {**values, "skip_locked": skip_locked}


def _post_messages_waiting(batch: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    return _post_messages_statement(batch, skip_locked=False)


def _notify_after(rows: list[tuple[Any, ...]]) -> tuple[str, dict[str, Any]] | None:
    """The committed rows' NOTIFYs, in the rows' order, in a transaction that writes nothing
    else: it takes the notify lock without a WAL flush to wait for under it."""
    payloads = [payload for row in rows for payload in (row[0].get("notify") or ())]
    return bus.notify_statement(payloads) if payloads else None


def _busy(row: tuple[Any, ...]) -> bool:
    return bool(row[0].get("busy"))


_visitor_messages: GroupCommitter | None = None


def visitor_message_committer() -> GroupCommitter:
    """Visitor messages from all sockets of this process share transactions under load,
    sorted by (inbox, contact): the conversation each one locks."""
    global _visitor_messages
    if _visitor_messages is None:
        settings = get_settings()
        batch = settings.group_commit_max_batch
        _visitor_messages = GroupCommitter(
            raw_pool,
            _post_messages_statement,
            order_key=lambda p: (p["inbox_id"], p["contact_id"], p["client_id"] or ""),
            prepare=_visitor_message_out,
            max_batch=batch,
            # Without batching, concurrency comes from parallel transactions instead.
            max_in_flight=settings.group_commit_in_flight if batch > 1 else settings.db_pool_size,
            # A visitor's rows lock their conversation: one held by the bot (its reply) or an
            # agent's request waits on its own, not with the whole batch (group_commit.py).
            group_key=lambda p: (p["inbox_id"], p["contact_id"]),
            is_busy=_busy,
            waiting_statement=_post_messages_waiting,
            after_commit=_notify_after,
        )
    return _visitor_messages


async def _warm_up(conn: psycopg.AsyncConnection) -> None:
    """The visitor path's statement on a new raw connection, in a transaction its caller rolls
    back: a throwaway contact's first message (a new conversation), then its second."""
    inbox = await (await conn.execute("SELECT workspace_id, id FROM inboxes ORDER BY id LIMIT 1")).fetchone()
    if inbox is None:
        return  # nothing to warm for: no customer can write yet
    insert = "INSERT INTO contacts (workspace_id, custom_attributes) VALUES (%s, '{}') RETURNING id"
    (contact_id,) = await (await conn.execute(insert, (inbox[0],))).fetchone()
    for _ in range(2):
        params = _post_params(
            workspace_id=inbox[0], inbox_id=inbox[1], contact_id=contact_id, conversation_id=None,
            content="warm-up", sender_type=SenderType.contact, sender_id=contact_id,
            kind=MessageKind.text, client_id=None, payload=None, language=None, max_chars=PREVIEW_CHARS,
        )  # fmt: skip
        await conn.execute(*_post_messages_statement([params]))


warm_raw_connections(_warm_up)


async def post_visitor_message(
    *,
    workspace_id: int,
    inbox_id: int,
    contact_id: int,
    content: str,
    client_id: str,
    language: str | None,
    max_chars: int,
    hints: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], bool]:
    """The customer-message hot path: one statement in its own transaction (autocommit).

    Finds or opens the contact's conversation, stores the message idempotently and
    defers reactions exactly like create_message (the same SQL function), but
    without an ORM session: it returns the message as its wire dict.
    """
    params = _post_params(
        workspace_id=workspace_id,
        inbox_id=inbox_id,
        contact_id=contact_id,
        conversation_id=None,
        content=content,
        sender_type=SenderType.contact,
        sender_id=contact_id,
        kind=MessageKind.text,
        client_id=client_id,
        payload=payload,
        language=language,
        max_chars=max_chars,
        hints=hints,
    )
    try:
        message, created = await visitor_message_committer().run(params)
    except psycopg.errors.ForeignKeyViolation as exc:  # the visitor's contact was deleted
        raise NotFound("contact not found", code="contact_not_found") from exc
    # Idempotency is per sender: a client_id someone else used is refused, never echoed back.
    if not created and not (
        message["sender_type"] == SenderType.contact.value and message["sender_id"] == contact_id
    ):
        raise _client_id_conflict(client_id)
    return message, created


def _visitor_message_out(row: tuple[Any, ...]) -> tuple[dict[str, Any], bool]:
    result = row[0]
    out = message_out_row(result["message"])
    if result["created"]:
        # Before COMMIT: the fan-out of this process then never reads it back.
        remember(out)
    return out, bool(result["created"])

"""What a delivery carries: the outbox's events and an API inbox's callbacks turned into
deliveries, with the conversation, message and contact read once per batch."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.contacts import service as contacts
from sodam.contacts.models import ContactIdentity
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation
from sodam.webhooks import service
from sodam.webhooks.models import OutboxEvent, Subscription

FAN_OUT_BATCH = 500
API_IDENTITY = "api"  # contact_identities.channel_type of API-channel customers


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def conversation_data(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.id,
        "inbox_id": c.inbox_id,
        "contact_id": c.contact_id,
        "status": c.status.value,
        "priority": c.priority.value,
        "assignee_id": c.assignee_id,
        "team_id": c.team_id,
        "created_at": _iso(c.created_at),
    }


def message_data(m) -> dict[str, Any]:
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "seq": m.seq,
        "sender_type": m.sender_type.value,
        "sender_id": m.sender_id,
        "content": m.content,
        "attachments": (m.payload or {}).get("attachments", []),
        "created_at": _iso(m.created_at),
    }


def contact_data(c) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "email": c.email, "phone": c.phone, "created_at": _iso(c.created_at)}


async def _conversations(session: AsyncSession, ids: set[int]) -> dict[int, Conversation]:
    if not ids:
        return {}
    rows = await session.scalars(select(Conversation).where(Conversation.id.in_(ids)))
    return {c.id: c for c in rows}


async def fan_out(session: AsyncSession, *, limit: int = FAN_OUT_BATCH) -> int:
    """Turn up to `limit` outbox events into deliveries (in the caller's transaction, which
    deletes them from the outbox); returns how many events were taken."""
    taken = list(
        await session.scalars(
            select(OutboxEvent)
            .from_statement(
                text(
                    "DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox ORDER BY id"
                    " LIMIT :n FOR UPDATE SKIP LOCKED) RETURNING *"
                )
            )
            .params(n=limit)
        )
    )
    if not taken:
        return 0
    workspaces = {e.workspace_id for e in taken}
    subs = await session.scalars(
        select(Subscription).where(
            Subscription.workspace_id.in_(workspaces),
            Subscription.inbox_id.is_(None),
            Subscription.status == "active",
        )
    )
    wanted: dict[tuple[int, str], list[int]] = defaultdict(list)
    for sub in subs:
        for event_type in sub.events:
            wanted[(sub.workspace_id, event_type)].append(sub.id)
    conv_ids = {int(e.ref["conversation_id"]) for e in taken if "conversation_id" in e.ref}
    message_ids = [
        int(e.ref["message_id"]) for e in taken if e.type == "message.created" and "message_id" in e.ref
    ]
    convs = await _conversations(session, conv_ids)
    messages = (
        {m.id: m for m in await conversations.get_messages_by_ids(session, ids=message_ids)}
        if message_ids
        else {}
    )
    people: dict[int, Any] = {}
    for ws in workspaces:
        ids = [
            int(e.ref["contact_id"]) for e in taken if e.workspace_id == ws and e.type == "contact.created"
        ]
        if ids:
            people.update(await contacts.get_many(session, workspace_id=ws, ids=ids))
    rows: list[dict[str, Any]] = []
    for event in taken:
        targets = wanted.get((event.workspace_id, event.type))
        if not targets:
            continue
        data = _event_data(event, convs, messages, people)
        if data is None:  # gone since (erased, deleted): nothing to tell
            continue
        rows += service.delivery_rows(
            workspace_id=event.workspace_id,
            subscription_ids=targets,
            event_key=event.event_key,
            type=event.type,
            data=data,
            occurred_at=event.occurred_at,
        )
    await service.insert_deliveries(session, rows)  # one statement (arrays: no parameter limit)
    return len(taken)


def _event_data(event: OutboxEvent, convs, messages, people) -> dict[str, Any] | None:
    ref = event.ref
    if "data" in ref:  # published with its data (publish())
        return ref["data"]
    if event.type == "contact.created":
        person = people.get(int(ref["contact_id"]))
        return {"contact": contact_data(person)} if person is not None else None
    conv = convs.get(int(ref.get("conversation_id", 0)))
    if conv is None or conv.workspace_id != event.workspace_id:
        return None
    data: dict[str, Any] = {"conversation": conversation_data(conv)}
    if event.type == "message.created":
        message = messages.get(int(ref.get("message_id", 0)))
        if message is None:
            return None
        data["message"] = message_data(message)
    elif event.type == "conversation.assigned":
        data["assignee"] = ref.get("assignee")
        data["team"] = ref.get("team")
    if ref.get("actor_type") is not None:
        data["actor"] = {"type": ref.get("actor_type"), "id": ref.get("actor_id")}
    return data


async def enqueue_callback(session: AsyncSession, *, workspace_id: int, message_id: int) -> int:
    """An agent's public reply (or the bot's answer) in an API inbox: one delivery to its callback URL."""
    (message,) = await conversations.get_messages_by_ids(session, ids=[message_id]) or (None,)
    if message is None or message.workspace_id != workspace_id or message.kind.value == "note":
        return 0
    # The channel picker may send a reply of another conversation through this API inbox.
    inbox_id = int(((message.payload or {}).get("via") or {}).get("inbox_id") or message.inbox_id)
    sub = await session.scalar(
        select(Subscription).where(
            Subscription.workspace_id == workspace_id,
            Subscription.inbox_id == inbox_id,
            Subscription.status == "active",
        )
    )
    if sub is None:
        return 0
    conv = await conversations.get(
        session, workspace_id=workspace_id, conversation_id=message.conversation_id
    )
    source_id = await session.scalar(
        select(ContactIdentity.external_id).where(
            ContactIdentity.workspace_id == workspace_id,
            ContactIdentity.contact_id == conv.contact_id,
            ContactIdentity.channel_type == API_IDENTITY,
            ContactIdentity.external_id.startswith(f"{inbox_id}:"),
        )
    )
    data = {
        "conversation": conversation_data(conv),
        "message": message_data(message),
        "contact": {"id": conv.contact_id, "source_id": source_id.split(":", 1)[1] if source_id else None},
    }
    return await service.enqueue(
        session,
        workspace_id=workspace_id,
        subscription_ids=[sub.id],
        event_key=f"msg{message.id}",
        type="message.created",
        data=data,
        occurred_at=message.created_at,
    )

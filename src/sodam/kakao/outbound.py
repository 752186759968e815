"""Agents' answers delivered through the dealer, as durable jobs.

One job per message: its text split into parts of at most 1,000 characters, then each image,
buttons on the last part. Every part has its own serial_number ("sodam-{message}-{n}"), the
dealer's idempotency key, so a retry after a lost answer never sends a part twice; parts
already sent are remembered on the message and skipped. A dealer 5xx, 429 or timeout is
tried again with a growing wait; a 4xx (or a closed session) fails the message for good.
The state is on the message (payload.kakao.delivery): sending / retrying / sent / failed.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.attachments import service as attachments
from sodam.config import get_settings
from sodam.contacts.models import Contact
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType
from sodam.db.session import session_scope
from sodam.jobs.app import defer_in_tx
from sodam.kakao import dealer, rules, service
from sodam.kakao.models import KakaoChannel

log = logging.getLogger(__name__)
DELIVER_TASK = "kakao.deliver"
QUEUE = "kakao"


async def set_delivery(session: AsyncSession, *, message_id: int, workspace_id: int, delivery: dict) -> None:
    """Record the delivery state in the message's payload (kakao.delivery)."""
    await session.execute(
        text(
            "UPDATE messages SET payload = COALESCE(payload, '{}'::jsonb) || jsonb_build_object('kakao',"
            " COALESCE(payload->'kakao', '{}'::jsonb) || jsonb_build_object('delivery', CAST(:d AS jsonb)))"
            " WHERE id = :m AND workspace_id = :w"
        ),
        {"d": json.dumps(delivery, default=str), "m": message_id, "w": workspace_id},
    )


def parts_of(message: Message, files: list[tuple[str, str, bytes]]) -> list[dealer.Part]:
    payload = message.payload or {}
    buttons = tuple(
        dealer.Button(str(b.get("name", ""))[:14], str(b.get("url", "")))
        for b in (payload.get("buttons") or [])[: rules.MAX_BUTTONS]
        if str(b.get("url", "")).startswith(("https://", "http://"))
    )
    body = message.content
    article = payload.get("article") or {}
    if article.get("title") and str(article.get("url") or "").startswith(("http://", "https://")):
        body = f"{body.rstrip()}\n\n{article['title']}: {article['url']}"
    parts = [dealer.Part(text=t) for t in rules.split_text(body)] if body.strip() else []
    parts += [dealer.Part(image=f) for f in files]
    if buttons and parts:
        last = parts[-1]
        parts[-1] = dealer.Part(text=last.text, image=last.image, buttons=buttons)
    return parts


async def _target(session: AsyncSession, message: Message) -> tuple[KakaoChannel, str | None, Any]:
    """The connection, the user's key and session row of this answer (its chosen channel)."""
    via = (message.payload or {}).get("via") or {}
    inbox_id = int(via.get("inbox_id") or message.inbox_id)
    conversation = await session.get(Conversation, message.conversation_id)
    channel = await service.channel_of(session, workspace_id=message.workspace_id, inbox_id=inbox_id)
    row = await service.session_row(
        session, workspace_id=message.workspace_id, inbox_id=inbox_id, contact_id=conversation.contact_id
    )
    user_key = row.user_key if row else None
    if user_key is None:
        ident = await session.scalar(
            text(
                "SELECT external_id FROM contact_identities WHERE workspace_id = :w AND contact_id = :c"
                " AND channel_type = :t AND external_id LIKE :p"
            ),
            {
                "w": message.workspace_id,
                "c": conversation.contact_id,
                "t": service.IDENTITY_CHANNEL,
                "p": f"{inbox_id}:%",
            },
        )
        user_key = ident.split(":", 1)[1] if ident else None
    return channel, user_key, row


async def deliver(message_id: int, attempt: int) -> str:
    """Send one answer's parts that are not sent yet; returns the outcome."""
    settings = get_settings()
    async with session_scope() as session:
        message = await session.get(Message, message_id)
        if message is None or message.sender_type not in (SenderType.agent, SenderType.bot):
            return "ignored"
        if message.kind not in (MessageKind.text, MessageKind.bot):
            return "ignored"
        delivery = dict(((message.payload or {}).get("kakao") or {}).get("delivery") or {})
        if delivery.get("status") in ("sent", "failed"):
            return "already_" + delivery["status"]
        channel, user_key, row = await _target(session, message)
        alimtalk = (message.payload or {}).get("alimtalk")
        phone = None
        if alimtalk:  # outside a session by design: to the user's key or phone
            contact = await session.get(
                Contact, (await session.get(Conversation, message.conversation_id)).contact_id
            )
            phone = contact.phone if contact else None
        if (alimtalk and not (user_key or phone)) or (
            not alimtalk and (user_key is None or not service.is_open(row))
        ):
            await set_delivery(
                session,
                message_id=message.id,
                workspace_id=message.workspace_id,
                delivery={
                    **delivery,
                    "status": "failed",
                    "error": "no_recipient" if alimtalk else "session_closed",
                    "attempts": attempt,
                },
            )
            await session.commit()
            return "failed"
        files = []
        for wire in (message.payload or {}).get("attachments") or []:
            att = await attachments.get(session, workspace_id=message.workspace_id, public_id=wire["id"])
            files.append((att.filename, att.content_type, await attachments.read(att)))
        parts = parts_of(message, files)
        if alimtalk:
            parts = [dealer.Part(text=message.content)]
            buttons = [
                dealer.Button(str(b.get("name")), str(b.get("url")))
                for b in (message.payload or {}).get("buttons") or []
            ]
        client = dealer.client_for(channel)
        sender_key, workspace_id = channel.sender_key, message.workspace_id
    done: list[str] = list(delivery.get("dealer_ids") or [])
    try:
        for n, part in enumerate(parts):
            if n < len(done):
                continue  # sent by an earlier try
            serial = f"sodam-{message_id}-{n}"
            if alimtalk:
                sent_id = await client.send_alimtalk(
                    sender_key=sender_key,
                    user_key=user_key,
                    phone=phone,
                    template_code=str(alimtalk["template_code"]),
                    text=part.text,
                    buttons=buttons,
                    serial_number=serial,
                )
            else:
                sent_id = await client.send_message(
                    sender_key=sender_key, user_key=user_key, part=part, serial_number=serial
                )
            done.append(sent_id)
    except dealer.DealerError as exc:
        permanent = isinstance(exc, dealer.DealerRefused) or attempt >= settings.kakao_send_attempts
        state: dict[str, Any] = {
            "attempts": attempt,
            "parts": len(parts),
            "dealer_ids": done,
            "error": str(exc)[:300],
            "at": datetime.now(UTC).isoformat(),
        }
        async with session_scope() as session:
            if permanent:
                state["status"] = "failed"
            else:
                next_at = datetime.now(UTC) + timedelta(
                    seconds=settings.kakao_retry_base_s * 2 ** (attempt - 1)
                )
                state.update(status="retrying", next_at=next_at.isoformat())
                await defer_in_tx(
                    session,
                    DELIVER_TASK,
                    {"message_id": message_id, "attempt": attempt + 1},
                    queue=QUEUE,
                    scheduled_at=next_at,
                )
            await set_delivery(session, message_id=message_id, workspace_id=workspace_id, delivery=state)
            await session.commit()
        log.warning("kakao message %s not sent (try %d): %s", message_id, attempt, exc)
        return state["status"]
    async with session_scope() as session:
        await set_delivery(
            session,
            message_id=message_id,
            workspace_id=workspace_id,
            delivery={
                "status": "sent",
                "attempts": attempt,
                "parts": len(parts),
                "dealer_ids": done,
                "at": datetime.now(UTC).isoformat(),
            },
        )
        await session.commit()
    return "sent"

"""Shared set-up of the SLA tests: a workspace with hours, a policy and conversations whose
queue entry is placed at a chosen time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, text, update

from sodam.channels import service as inboxes
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, ConversationEvent, Priority, SenderType
from sodam.db.session import session_scope
from sodam.sla import clocks
from sodam.sla import service as sla

SEOUL = ZoneInfo("Asia/Seoul")
KR_HOURS = {
    "timezone": "Asia/Seoul",
    "days": {d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holiday_country": "KR",
}
TARGETS = [
    {
        "tier": "vip",
        "priority": "*",
        "first_response_s": 900,
        "next_response_s": 1800,
        "resolution_s": 8 * 3600,
    },
    {
        "tier": "*",
        "priority": "urgent",
        "first_response_s": 1800,
        "next_response_s": 3600,
        "resolution_s": 8 * 3600,
    },
    {
        "tier": "*",
        "priority": "*",
        "first_response_s": 4 * 3600,
        "next_response_s": 2 * 3600,
        "resolution_s": 40 * 3600,
    },
]


def kst(*args) -> datetime:
    return datetime(*args, tzinfo=SEOUL)


async def with_policy(ws, *, business_hours: bool = True, targets=None, name: str = "기본 SLA") -> int:
    async with session_scope() as session:
        await inboxes.update(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, settings={"business_hours": KR_HOURS}
        )
        policy = await sla.create(
            session,
            workspace_id=ws.workspace_id,
            name=name,
            is_default=True,
            business_hours=business_hours,
            targets=targets or TARGETS,
        )
        await session.commit()
        return policy.id


async def queued_conversation(
    ws,
    *,
    at: datetime,
    tier: str | None = None,
    priority: Priority = Priority.none,
    name: str = "김고객",
    team_id: int | None = None,
) -> int:
    """A conversation whose customer wrote and entered the queue at `at`; due times computed."""
    async with session_scope() as session:
        contact = await contacts.create(session, workspace_id=ws.workspace_id, name=name, email=None)
        if tier:
            contact.custom_attributes = {"tier": tier}
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        await conversations.create_message(
            session,
            conversation=conv,
            content="문의드립니다",
            sender_type=SenderType.contact,
            sender_id=contact.id,
        )
        await session.execute(
            text("UPDATE messages SET created_at = :at WHERE conversation_id = :id"),
            {"at": at, "id": conv.id},
        )
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conv.id)
            .values(queued_at=at, created_at=at, priority=priority, team_id=team_id)
        )
        await session.commit()
        await clocks.recompute(session, conversation_id=conv.id)
        await session.commit()
        return conv.id


async def load(conversation_id: int) -> Conversation:
    async with session_scope() as session:
        return await session.get(Conversation, conversation_id)


async def recompute(conversation_id: int) -> dict:
    async with session_scope() as session:
        found = await clocks.recompute(session, conversation_id=conversation_id)
        await session.commit()
        return found


async def event_types(conversation_id: int) -> list[tuple[str, str, dict]]:
    async with session_scope() as session:
        rows = await session.scalars(
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id == conversation_id)
            .order_by(ConversationEvent.id)
        )
        return [(e.type, e.actor_type, e.data) for e in rows]

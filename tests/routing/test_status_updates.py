"""Keep them updated: one personal status update per wait to a customer whose question has
waited on the team longer than the inbox's threshold; none after an answer, none to robots,
none where the inbox turned it off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType
from sodam.db.session import session_scope
from sodam.routing import status_updates


async def _age(conversation_id: int, minutes: float) -> None:
    """Move the conversation's messages (and its last-message time) `minutes` into the past."""
    async with session_scope() as session:
        shift = {"c": conversation_id, "m": minutes}
        await session.execute(
            text(
                "UPDATE messages SET created_at = created_at - make_interval(mins => :m) WHERE conversation_id = :c"
            ),
            shift,
        )
        await session.execute(
            text(
                "UPDATE conversations SET last_message_at = last_message_at - make_interval(mins => :m),"
                " queued_at = queued_at - make_interval(mins => :m) WHERE id = :c"
            ),
            shift,
        )
        await session.commit()


async def _updates(conversation_id: int) -> list[Message]:
    async with session_scope() as session:
        return [
            m
            for m in await session.scalars(
                select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
            )
            if (m.payload or {}).get("status_update")
        ]


async def _run_sweep() -> None:
    now = datetime.now(UTC)
    async with session_scope() as session:
        due = await status_updates.due(session, now=now)
    for conversation_id in due:
        async with session_scope() as session:
            await status_updates.send(session, conversation_id=conversation_id, now=now)
            await session.commit()


async def _say(conversation_id: int, content: str, sender: SenderType, sender_id: int | None) -> None:
    async with session_scope() as session:
        conv = await session.get(Conversation, conversation_id)
        await conversations.create_message(
            session, conversation=conv, content=content, sender_type=sender, sender_id=sender_id
        )
        await session.commit()


async def test_a_waiting_customer_gets_one_personal_update_per_wait(floor):
    f = await floor(auto_assign=False, status_update_minutes=30)
    waiting = await f.customer("환불 문의드립니다")
    async with session_scope() as session:
        from sodam.contacts import service as contacts

        conv = await session.get(Conversation, waiting)
        await contacts.update(
            session, workspace_id=f.ws.workspace_id, contact_id=conv.contact_id, name="김하나"
        )
        await session.commit()
        contact_id = conv.contact_id

    # The first auto-reply (the bot's words) is not an answer: the wait goes on.
    async with session_scope() as session:
        conv = await session.get(Conversation, waiting)
        await conversations.create_message(
            session,
            conversation=conv,
            content="문의 남겨 주셔서 감사합니다.",
            sender_type=SenderType.bot,
            sender_id=None,
            kind=MessageKind.bot,
            payload={"auto_reply": True},
        )
        await session.commit()
    await _age(waiting, 10)
    await _run_sweep()
    assert await _updates(waiting) == []  # 10 minutes: not yet

    await _age(waiting, 25)
    await _run_sweep()
    (update,) = await _updates(waiting)
    assert update.sender_type == SenderType.bot
    assert update.content.startswith("김하나님, 기다려 주셔서 감사합니다.")
    assert "대기 순번은 1번" in update.content

    await _age(waiting, 40)
    await _run_sweep()
    assert len(await _updates(waiting)) == 1  # one per wait, not one every half hour

    # The customer writes again and waits again: a second update.
    await _say(waiting, "아직인가요?", SenderType.contact, contact_id)
    await _age(waiting, 31)
    await _run_sweep()
    assert len(await _updates(waiting)) == 2

    # An agent answered: nothing more, however long the silence.
    await _say(waiting, "확인해 드릴게요", SenderType.agent, f.ws.agent_id)
    await _age(waiting, 60)
    await _run_sweep()
    assert len(await _updates(waiting)) == 2


async def test_no_update_where_the_inbox_turned_it_off(floor):
    off = await floor(auto_assign=False, status_update_minutes=0)
    conv_off = await off.customer("배송 문의")
    await _age(conv_off, 45)
    await _run_sweep()
    assert await _updates(conv_off) == []


async def test_an_assigned_conversation_names_the_agent(floor):
    f = await floor(auto_assign=False, status_update_minutes=15)
    waiting = await f.customer("교환하고 싶어요")
    danbi = await f.agent("단비")
    async with session_scope() as session:
        await session.execute(
            text("UPDATE conversations SET assignee_id = :a WHERE id = :c"), {"a": danbi, "c": waiting}
        )
        await session.commit()
    await _age(waiting, 20)
    await _run_sweep()
    (update,) = await _updates(waiting)
    assert "단비 상담원이" in update.content
    assert update.created_at > datetime.now(UTC) - timedelta(minutes=5)

"""Callbacks (전화 예약) with a controllable clock: slots from business hours, public
holidays and staffed capacity; the task made and routed to a phone agent at the slot;
outcomes and rescheduling; confirmation and reminder on the customer's channel."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from sodam.channels import service as inboxes
from sodam.channels.models import ChannelType
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Message, Status
from sodam.core.errors import Conflict
from sodam.db.session import session_scope
from sodam.hours.calendar import DEFAULT_HOURS
from sodam.routing import engine
from sodam.voice import callbacks, service, slots
from sodam.voice.models import Callback
from tests.routing.conftest import Floor

SEOUL = ZoneInfo("Asia/Seoul")
# Friday 26 February 2027, 17:00 in Seoul; Monday 1 March is 삼일절 (a public holiday).
FRIDAY_5PM = datetime(2027, 2, 26, 17, 0, tzinfo=SEOUL)
FRIDAY_530 = datetime(2027, 2, 26, 17, 30, tzinfo=SEOUL)
TUESDAY_9 = datetime(2027, 3, 2, 9, 0, tzinfo=SEOUL)


async def _line(ws, **settings):
    async with session_scope() as session:
        inbox = await inboxes.create(
            session,
            workspace_id=ws.workspace_id,
            name="전화",
            channel_type=ChannelType.phone,
            settings={"auto_assign": True, "auto_reply": False, "business_hours": DEFAULT_HOURS, **settings},
        )
        await service.line_of(session, inbox=inbox)
        await session.commit()
        return inbox.id


async def _offered(inbox_id: int, ws, now: datetime, days: int = 5):
    async with session_scope() as session:
        inbox, line = await service.get_line(session, workspace_id=ws.workspace_id, inbox_id=inbox_id)
        return await slots.offered(
            session, line=line, config=inbox.settings["business_hours"], now=now, days=days
        )


async def _book(
    inbox_id: int, ws, at: datetime, *, now: datetime = FRIDAY_5PM, phone="010-2222-3333", origin=None
):
    async with session_scope() as session:
        inbox, line = await service.get_line(session, workspace_id=ws.workspace_id, inbox_id=inbox_id)
        contact = await service.contact_for_number(
            session, workspace_id=ws.workspace_id, number=None, name="고객"
        )
        booked = await callbacks.book(
            session,
            inbox=inbox,
            line=line,
            contact=contact,
            phone=phone,
            slot_at=at,
            source="api",
            note="환불 문의",
            origin_conversation_id=origin,
            now=now,
        )
        await session.commit()
        return booked.id


async def test_slots_follow_hours_holidays_and_staffed_capacity(make_workspace):
    ws = await make_workspace()
    floor = Floor(ws)
    inbox_id = await _line(ws)
    # Who takes phone work: the admin (default capacity) and a phone agent, not one whose phone
    # capacity is 0.
    await floor.agent("no-phone", online=False, capacity={"default": 3, "phone": 0})
    await floor.agent("phone", online=False, skills={"phone": 3})
    offered = await _offered(inbox_id, ws, FRIDAY_5PM)
    starts = [s.start for s in offered]
    # Friday's last slot (17:15 at the earliest), no weekend, no 삼일절, then Tuesday from 09:00.
    assert starts[0] == FRIDAY_530 and starts[1] == TUESDAY_9
    assert len(starts) == 1 + 18 and offered[0].left == 2
    assert all(s.start.minute in (0, 30) for s in offered)

    await _book(inbox_id, ws, FRIDAY_530)
    assert (await _offered(inbox_id, ws, FRIDAY_5PM))[0].left == 1
    await _book(inbox_id, ws, FRIDAY_530)
    assert (await _offered(inbox_id, ws, FRIDAY_5PM))[0].start == TUESDAY_9  # full
    with pytest.raises(Conflict) as full:
        await _book(inbox_id, ws, FRIDAY_530)
    assert full.value.code == "slot_unavailable"
    for not_offered in (
        datetime(2027, 2, 26, 17, 10, tzinfo=SEOUL),  # not on a half hour
        datetime(2027, 2, 27, 10, 0, tzinfo=SEOUL),  # Saturday
        datetime(2027, 3, 1, 10, 0, tzinfo=SEOUL),  # 삼일절
        datetime(2027, 2, 26, 16, 30, tzinfo=SEOUL),  # already past
    ):
        with pytest.raises(Conflict):
            await _book(inbox_id, ws, not_offered)
    # The line's own figure replaces the staffed count.
    async with session_scope() as session:
        await service.save_line(
            session, workspace_id=ws.workspace_id, inbox_id=inbox_id, changes={"callbacks_per_slot": 3}
        )
        await session.commit()
    assert (await _offered(inbox_id, ws, FRIDAY_5PM))[0] == slots.Slot(FRIDAY_530, 1)
    async with session_scope() as session:
        await service.save_line(
            session, workspace_id=ws.workspace_id, inbox_id=inbox_id, changes={"callbacks_per_slot": 0}
        )
        await session.commit()
    assert await _offered(inbox_id, ws, FRIDAY_5PM) == []


async def test_at_the_slot_the_task_is_routed_to_an_agent_with_phone_skills(make_workspace):
    ws = await make_workspace()
    floor = Floor(ws)
    inbox_id = await _line(ws)
    callback_id = await _book(inbox_id, ws, TUESDAY_9)
    async with session_scope() as session:
        jobs = (
            await session.execute(
                text(
                    "SELECT task_name, scheduled_at FROM procrastinate_jobs"
                    " WHERE args->>'callback_id' = :id ORDER BY scheduled_at"
                ),
                {"id": str(callback_id)},
            )
        ).all()
    assert [(j.task_name, j.scheduled_at) for j in jobs] == [
        ("voice.callback_reminder", TUESDAY_9 - timedelta(minutes=30)),
        ("voice.callback_due", TUESDAY_9),
    ]
    chat_only = await floor.agent("chat")
    phone_agent = await floor.agent("caller", skills={"phone": 2})
    async with session_scope() as session:
        stored = await session.get(Callback, callback_id)
        task = await callbacks.make_task(
            session, callback_id=callback_id, slot_at=stored.slot_at.isoformat(), now=TUESDAY_9
        )
        await session.commit()
    assert task is not None and task.inbox_id == inbox_id and "callback" in task.tags
    assert task.route["skills"] == {"phone": 1}
    async with session_scope() as session:
        note = await session.scalar(
            select(Message).where(Message.conversation_id == task.id, Message.kind == "system")
        )
    assert (
        note.content.startswith("전화 예약: 3월 2일(화) 09:00에 010-2222-3333")
        and "환불 문의" in note.content
    )
    assert note.payload["callback"]["id"] == callback_id
    # A second run of the same job (a retry) makes nothing more.
    async with session_scope() as session:
        assert (
            await callbacks.make_task(session, callback_id=callback_id, slot_at=stored.slot_at.isoformat())
            is None
        )
    async with session_scope() as session:
        decisions = await engine.dispatch(
            session, workspace_id=ws.workspace_id, now=TUESDAY_9 + timedelta(seconds=5)
        )
        await session.commit()
    # A test server's worker (the session's live server, started by other tests) may have routed
    # the task first, on the kick its creation deferred: either way it is the phone agent's.
    assert [(d.conversation_id, d.agent_id) for d in decisions] in ([(task.id, phone_agent)], [])
    assert await floor.assignee(task.id) == phone_agent
    assert chat_only != phone_agent
    async with session_scope() as session:
        assert (await session.get(Callback, callback_id)).status == "due"


async def test_outcomes_rescheduling_and_the_customer_told_on_their_channel(make_workspace):
    ws = await make_workspace()
    inbox_id = await _line(ws)
    async with session_scope() as session:
        visitor = await contacts.create(session, workspace_id=ws.workspace_id, name="방문자")
        chat = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=visitor.id
        )
        await session.commit()
    callback_id = await _book(inbox_id, ws, FRIDAY_530, origin=chat.id)

    async def told() -> list[str]:
        async with session_scope() as session:
            return list(
                await session.scalars(
                    select(Message.content).where(Message.conversation_id == chat.id).order_by(Message.seq)
                )
            )

    assert (await told())[
        0
    ] == "전화 예약이 접수되었습니다. 2월 26일(금) 17:30에 010-2222-3333(으)로 전화드리겠습니다."
    async with session_scope() as session:
        assert await callbacks.remind(
            session, callback_id=callback_id, slot_at=FRIDAY_530.astimezone(ZoneInfo("UTC")).isoformat()
        )
        await session.commit()
    async with session_scope() as session:  # once
        assert not await callbacks.remind(
            session, callback_id=callback_id, slot_at=FRIDAY_530.astimezone(ZoneInfo("UTC")).isoformat()
        )
    assert (await told())[-1].startswith("곧 전화드립니다")

    async with session_scope() as session:
        first_slot = (await session.get(Callback, callback_id)).slot_at.isoformat()
        task = await callbacks.make_task(session, callback_id=callback_id, slot_at=first_slot, now=FRIDAY_530)
        await session.commit()
    async with session_scope() as session:
        await callbacks.record_outcome(
            session,
            workspace_id=ws.workspace_id,
            callback_id=callback_id,
            outcome="no_answer",
            agent_id=ws.agent_id,
            now=FRIDAY_530,
        )
        await session.commit()
    assert "연결되지 않았습니다" in (await told())[-1]
    async with session_scope() as session:
        assert (await session.get(Conversation, task.id)).status == Status.resolved

    # Rescheduled to Tuesday 09:00: a new confirmation; the old slot's job does nothing; the
    # new one makes a new task.
    async with session_scope() as session:
        with pytest.raises(Conflict):  # not an offered slot
            await callbacks.record_outcome(
                session,
                workspace_id=ws.workspace_id,
                callback_id=callback_id,
                outcome="rescheduled",
                agent_id=ws.agent_id,
                new_slot_at=datetime(2027, 2, 27, 10, 0, tzinfo=SEOUL),
                now=FRIDAY_530,
            )
    async with session_scope() as session:
        moved = await callbacks.record_outcome(
            session,
            workspace_id=ws.workspace_id,
            callback_id=callback_id,
            outcome="rescheduled",
            agent_id=ws.agent_id,
            note="화요일 오전 희망",
            new_slot_at=TUESDAY_9,
            now=FRIDAY_530,
        )
        await session.commit()
    assert moved.status == "scheduled" and moved.slot_at == TUESDAY_9
    assert [h["outcome"] for h in moved.history] == ["no_answer", "rescheduled"]
    assert (await told())[
        -1
    ] == "전화 예약이 접수되었습니다. 3월 2일(화) 09:00에 010-2222-3333(으)로 전화드리겠습니다."
    async with session_scope() as session:
        assert await callbacks.make_task(session, callback_id=callback_id, slot_at=first_slot) is None
        second = await callbacks.make_task(
            session, callback_id=callback_id, slot_at=moved.slot_at.isoformat(), now=TUESDAY_9
        )
        await session.commit()
    assert second is not None and second.id != task.id
    async with session_scope() as session:
        done = await callbacks.record_outcome(
            session,
            workspace_id=ws.workspace_id,
            callback_id=callback_id,
            outcome="done",
            agent_id=ws.agent_id,
        )
        await session.commit()
    assert done.status == "done"
    async with session_scope() as session:
        assert (await session.get(Conversation, second.id)).status == Status.resolved
        with pytest.raises(Conflict) as closed:
            await callbacks.record_outcome(
                session,
                workspace_id=ws.workspace_id,
                callback_id=callback_id,
                outcome="done",
                agent_id=ws.agent_id,
            )
    assert closed.value.code == "callback_closed"

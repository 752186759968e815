"""SLA due times: by priority × customer tier, in business hours (설날 2027 included) and
in calendar hours; the clocks follow replies, resolve and reopen; the triggers defer the
recompute job without computing anything on the message path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from sodam.conversations import service as conversations
from sodam.conversations.models import Priority, SenderType, Status
from sodam.db.session import session_scope
from tests.sla.helpers import kst, load, queued_conversation, recompute, with_policy

FRIDAY_EVENING = kst(2027, 2, 5, 17, 0)  # the last working hour before 설날 (6–9 Feb 2027)


async def test_targets_by_priority_and_tier_in_business_hours(db, make_workspace):
    ws = await make_workspace()
    await with_policy(ws)
    vip = await queued_conversation(ws, at=FRIDAY_EVENING, tier="vip", name="VIP 고객")
    urgent = await queued_conversation(ws, at=FRIDAY_EVENING, priority=Priority.urgent, name="급한 고객")
    plain = await queued_conversation(ws, at=FRIDAY_EVENING, name="보통 고객")
    vip_urgent = await queued_conversation(ws, at=FRIDAY_EVENING, tier="VIP", priority=Priority.urgent)

    assert (await load(vip)).first_response_due_at == kst(2027, 2, 5, 17, 15)  # the tier row wins
    assert (await load(vip_urgent)).first_response_due_at == kst(2027, 2, 5, 17, 15)
    assert (await load(urgent)).first_response_due_at == kst(2027, 2, 5, 17, 30)
    c = await load(plain)
    # 4 business hours: 17:00–18:00 on Friday, then 설날 and its substitute day are closed,
    # then Wednesday 09:00–12:00.
    assert c.first_response_due_at == kst(2027, 2, 10, 12, 0)
    # 40 business hours: Fri 1 h, Wed–Fri 24 h, Mon 15 Feb 8 h, then Tue 09–12 and 13–17.
    assert c.resolution_due_at == kst(2027, 2, 16, 17, 0)
    assert c.next_response_due_at is None  # nobody has answered yet
    assert c.sla_policy_id is not None
    clock = c.sla_clocks["first_response"]
    # Amber at three quarters of the target in business time: 3 h → Wed 11:00.
    assert clock["warn"] == kst(2027, 2, 10, 11, 0).astimezone(UTC).isoformat()


async def test_targets_in_calendar_hours(db, make_workspace):
    ws = await make_workspace()
    await with_policy(ws, business_hours=False)
    plain = await queued_conversation(ws, at=FRIDAY_EVENING)
    vip = await queued_conversation(ws, at=FRIDAY_EVENING, tier="vip")
    assert (await load(plain)).first_response_due_at == kst(2027, 2, 5, 21, 0)
    assert (await load(plain)).resolution_due_at == kst(2027, 2, 7, 9, 0)
    assert (await load(vip)).first_response_due_at == kst(2027, 2, 5, 17, 15)


async def test_clocks_follow_replies_resolve_and_reopen(db, make_workspace):
    ws = await make_workspace()
    await with_policy(ws, business_hours=False)
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    cid = await queued_conversation(ws, at=start)
    assert (await load(cid)).first_response_due_at == start + timedelta(hours=4)

    async with session_scope() as session:
        conv = await conversations.get(session, workspace_id=ws.workspace_id, conversation_id=cid)
        await conversations.create_message(
            session,
            conversation=conv,
            content="확인해 드릴게요",
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
        )
        # The agent's reply defers the recompute (a trigger; nothing computed in the message path).
        queued = await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'sla.recompute'"
                " AND (args->>'conversation_id')::bigint = :id"
            ),
            {"id": cid},
        )
        assert queued >= 1
        await session.commit()
    await recompute(cid)
    c = await load(cid)
    assert c.first_response_due_at is None and c.next_response_due_at is None
    assert c.sla_awaiting_customer and c.resolution_due_at == start + timedelta(hours=40)

    async with session_scope() as session:
        conv = await conversations.get(session, workspace_id=ws.workspace_id, conversation_id=cid)
        message, _ = await conversations.create_message(
            session,
            conversation=conv,
            content="추가 질문이요",
            sender_type=SenderType.contact,
            sender_id=conv.contact_id,
        )
        await session.commit()
    await recompute(cid)
    c = await load(cid)
    assert c.next_response_due_at == message.created_at + timedelta(hours=2)
    assert not c.sla_awaiting_customer

    async with session_scope() as session:
        await conversations.set_status(
            session, workspace_id=ws.workspace_id, conversation_id=cid, status=Status.resolved, actor_id=None
        )
        await session.commit()
    await recompute(cid)
    c = await load(cid)
    assert (c.first_response_due_at, c.next_response_due_at, c.resolution_due_at) == (None, None, None)

    async with session_scope() as session:
        await conversations.set_status(
            session, workspace_id=ws.workspace_id, conversation_id=cid, status=Status.open, actor_id=None
        )
        await session.commit()
    await recompute(cid)
    c = await load(cid)
    reopened = datetime_of(c.sla_clocks["resolution"]["start"])
    assert reopened > start + timedelta(minutes=59)  # the resolution clock starts again at the reopen
    assert c.resolution_due_at == reopened + timedelta(hours=40)


async def test_priority_change_recomputes(db, make_workspace):
    ws = await make_workspace()
    await with_policy(ws, business_hours=False)
    start = kst(2027, 3, 2, 10, 0)
    cid = await queued_conversation(ws, at=start)
    async with session_scope() as session:
        await conversations.set_priority(
            session,
            workspace_id=ws.workspace_id,
            conversation_id=cid,
            priority=Priority.urgent,
            actor_id=None,
        )
        await session.commit()
    await recompute(cid)
    assert (await load(cid)).first_response_due_at == start + timedelta(minutes=30)


async def test_no_policy_no_due_times(db, make_workspace):
    ws = await make_workspace()
    cid = await queued_conversation(ws, at=kst(2027, 3, 2, 10, 0))
    c = await load(cid)
    assert c.first_response_due_at is None and c.sla_policy_id is None and c.sla_clocks == {}


def datetime_of(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _recompute_jobs(cid: int) -> int:
    async with session_scope() as session:
        return await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'sla.recompute'"
                " AND (args->>'conversation_id')::bigint = :id"
            ),
            {"id": cid},
        )


async def test_triggers_defer_the_recompute_only_where_a_policy_exists(db, make_workspace):
    from sodam.contacts import service as contacts
    from sodam.conversations.models import Conversation

    plain = await make_workspace()
    with_bot = await make_workspace(bot_enabled=True)
    await with_policy(with_bot, business_hours=False)
    async with session_scope() as session:
        made = {}
        for ws in (plain, with_bot):
            contact = await contacts.create(session, workspace_id=ws.workspace_id, name="고객", email=None)
            conv = await conversations.create(
                session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
            )
            made[ws.workspace_id] = conv.id
        await session.commit()
    assert await _recompute_jobs(made[plain.workspace_id]) == 0  # no policy: nothing deferred
    bot_conv = made[with_bot.workspace_id]
    assert await _recompute_jobs(bot_conv) == 0  # the bot has it: no queue entry yet
    assert await recompute(bot_conv) == {}
    # The bot's handoff puts it in the human queue (bot/service.py sets queued_at).
    async with session_scope() as session:
        conv = await session.get(Conversation, bot_conv)
        conv.bot_handling = False
        conv.queued_at = datetime.now(UTC)
        await session.commit()
    assert await _recompute_jobs(bot_conv) >= 1
    assert set(await recompute(bot_conv)) == {"first_response", "resolution"}


async def test_a_tier_change_recomputes(db, make_workspace):
    from sodam.contacts.models import Contact

    ws = await make_workspace()
    await with_policy(ws, business_hours=False)
    start = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
    cid = await queued_conversation(ws, at=start)
    assert (await load(cid)).first_response_due_at == start + timedelta(hours=4)
    before = await _recompute_jobs(cid)
    async with session_scope() as session:
        contact = await session.get(Contact, (await load(cid)).contact_id)
        contact.custom_attributes = {"tier": "vip", "plan": "gold"}
        await session.commit()
    assert await _recompute_jobs(cid) == before + 1  # deferred by the contacts trigger
    await recompute(cid)
    assert (await load(cid)).first_response_due_at == start + timedelta(minutes=15)
    async with session_scope() as session:
        contact = await session.get(Contact, (await load(cid)).contact_id)
        contact.custom_attributes = {"tier": "vip", "plan": "silver"}  # the tier stays: nothing
        await session.commit()
    assert await _recompute_jobs(cid) == before + 1

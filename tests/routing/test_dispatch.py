"""Routing against the database: who gets each waiting conversation, and when it goes back.

A background worker (of a test server started earlier in the session) may route the same
workspace at the same time; both take the workspace's routing lock, so the tests assert the
resulting assignments, not which process made them."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, update

from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, ConversationEvent, SenderType, Status
from sodam.conversations.with_attachments import agent_message
from sodam.db.session import session_scope
from sodam.routing import service
from sodam.routing.models import AgentState, Availability


async def test_least_busy_agent_gets_the_conversation_and_capacity_holds(floor):
    f = await floor()
    a = await f.agent("가은", capacity={"default": 2})
    b = await f.agent("나래", capacity={"default": 1})
    ids = [await f.customer("안녕하세요 문의드려요") for _ in range(5)]
    await f.dispatch()
    owners = [await f.assignee(i) for i in ids]
    assert owners.count(a) == 2 and owners.count(b) == 1 and owners.count(None) == 2
    # FIFO: the first three in line were served, the last two wait.
    assert owners[3] is None and owners[4] is None
    events = []
    async with session_scope() as session:
        events = list(
            await session.scalars(
                select(ConversationEvent).where(
                    ConversationEvent.conversation_id == ids[0],
                    ConversationEvent.type == "conversation.assigned",
                )
            )
        )
    assert events and events[-1].actor_type == "system" and events[-1].data["routing"]["stage"] == "exact"


async def test_resolving_frees_a_place_and_wrap_up_holds_new_work(floor):
    f = await floor(wrap_up_seconds=120)
    a = await f.agent("다온", capacity={"default": 1})
    first, second = await f.customer("첫 문의"), await f.customer("두 번째 문의")
    await f.dispatch()
    assert await f.assignee(first) == a and await f.assignee(second) is None
    async with session_scope() as session:
        await conversations.set_status(
            session, workspace_id=f.ws.workspace_id, conversation_id=first, status=Status.resolved, actor_id=a
        )
        await session.commit()
    await f.dispatch()
    assert await f.assignee(second) is None  # in wrap-up for two minutes
    async with session_scope() as session:
        state = await session.get(AgentState, a)
        assert state.wrap_up_until is not None
        await session.execute(update(AgentState).where(AgentState.agent_id == a).values(wrap_up_until=None))
        await session.commit()
    await f.dispatch()
    assert await f.assignee(second) == a


async def test_language_skill_routes_and_overflow_widens(floor):
    f = await floor(overflow_seconds=60)
    ko = await f.agent("라희", skills={"lang:ko": 5})
    en = await f.agent("Mark", skills={"lang:en": 4})
    english = await f.customer("Hi, my order has not arrived yet", language="en")
    korean = await f.customer("주문한 상품이 아직 안 왔어요", language="ko")
    await f.dispatch()
    assert await f.assignee(english) == en and await f.assignee(korean) == ko
    # Nobody speaks Japanese: the skill is dropped, not required, so the customer is served.
    japanese = await f.customer("注文がまだ届きません", language="ja")
    await f.dispatch()
    assert await f.assignee(japanese) in (ko, en)
    assert "lang:ja" in (await f.conversation(japanese)).route["dropped"]


async def test_skill_requirement_waits_then_overflows(floor):
    f = await floor(overflow_seconds=60)
    await f.agent("마루", skills={"lang:ko": 3})
    await f.agent("바다", skills={"lang:ko": 3, "billing": 4}, online=False)
    async with session_scope() as session:
        await service.create_rule(
            session,
            workspace_id=f.ws.workspace_id,
            kind="keyword",
            pattern="결제",
            skill="billing",
            team_id=None,
        )
        await session.commit()
    fresh = await f.customer("카드 결제가 안 돼요", language="ko")
    await f.dispatch()
    assert await f.assignee(fresh) is None  # the billing agent is offline: it waits
    route = (await f.conversation(fresh)).route
    assert route["skills"] == {"lang:ko": 1, "billing": 1} and route["sources"]["billing"] == "keyword:결제"
    waited = await f.customer("결제했는데 주문이 안 보여요", language="ko", waited_s=61)
    await f.dispatch()
    assert await f.assignee(waited) == f.agents["마루"]  # overflow: language only


async def test_page_rule_sends_to_a_team(floor, make_workspace):
    from sodam.accounts import service as accounts
    from sodam.contacts.models import VisitorPage

    f = await floor()
    sales = await f.agent("사랑", skills={"lang:ko": 3})
    await f.agent("아라", skills={"lang:ko": 3})
    async with session_scope() as session:
        team = await accounts.create_team(
            session, workspace_id=f.ws.workspace_id, name="영업", agent_ids=[sales]
        )
        await service.create_rule(
            session,
            workspace_id=f.ws.workspace_id,
            kind="page",
            pattern="/pricing*",
            skill=None,
            team_id=team.id,
        )
        await session.commit()
    # The scene under the routing lock: a live test server's worker dispatching the new
    # conversation before its page is stored would route it without the page's team.
    async with f.routing_held():
        conv_id = await f.customer()
        async with session_scope() as session:
            conv = await session.get(Conversation, conv_id)
            session.add(
                VisitorPage(
                    workspace_id=f.ws.workspace_id,
                    inbox_id=conv.inbox_id,
                    contact_id=conv.contact_id,
                    visit_id="v1",
                    url="https://shop.example/pricing/enterprise",
                )
            )
            await conversations.create_message(
                session,
                conversation=conv,
                content="가격 문의요",
                sender_type=SenderType.contact,
                sender_id=conv.contact_id,
            )
            await session.commit()
    await f.dispatch()
    conv = await f.conversation(conv_id)
    assert conv.assignee_id == sales and conv.team_id == team.id


async def test_vip_goes_first_and_needs_the_vip_skill(floor):
    f = await floor()
    async with f.routing_held():
        normal = await f.customer("일반 문의", waited_s=100)
        vip = await f.customer("VIP 문의", attributes={"tier": "vip"})
        vip_agent = await f.agent("자경", capacity={"default": 1}, skills={"vip": 5})
    await f.dispatch()
    assert await f.assignee(vip) == vip_agent and await f.assignee(normal) is None
    assert (await f.conversation(vip)).queue_rank >= 10


async def test_offline_agent_hands_back_unanswered_conversations(floor):
    f = await floor()
    a = await f.agent("차민", capacity={"default": 2})
    answered, unanswered = await f.customer("하나"), await f.customer("둘")
    await f.dispatch()
    assert await f.assignee(answered) == a and await f.assignee(unanswered) == a
    async with session_scope() as session:
        conv = await session.get(Conversation, answered)
        await agent_message(
            session,
            conversation=conv,
            content="확인해 드릴게요",
            agent_id=a,
            private=False,
            client_id=None,
            attachment_ids=None,
        )
        await service.set_availability(
            session,
            workspace_id=f.ws.workspace_id,
            agent_id=a,
            availability=Availability.offline,
            chosen=True,
            reason="test",
        )
        await session.commit()
    assert await f.assignee(answered) == a
    back = await f.conversation(unanswered)
    assert back.assignee_id is None and a in back.skipped_agent_ids
    b = await f.agent("카이")
    await f.dispatch()
    assert await f.assignee(unanswered) == b


async def test_an_agent_back_online_takes_the_conversation_they_left_before_newer_ones(floor):
    """A team of one: the agent closed the console before answering; the conversation went back
    to the queue with them skipped. Back online, it is theirs again first, not after every newer
    conversation and a ten-minute last-resort wait."""
    f = await floor()
    a = await f.agent("한결", capacity={"default": 1})
    left = await f.customer("먼저 왔어요")
    await f.dispatch()
    assert await f.assignee(left) == a
    async with f.routing_held():  # no dispatch of the server's worker in between
        await _set_availability(f, a, Availability.offline)
        newer = await f.customer("나중에 왔어요")
        await _set_availability(f, a, Availability.online)
    await f.dispatch()
    assert await f.assignee(left) == a  # one place: the older conversation, in queue order
    assert await f.assignee(newer) is None
    assert a not in (await f.conversation(left)).skipped_agent_ids


async def _set_availability(f, agent_id: int, availability: Availability) -> None:
    async with session_scope() as session:
        await service.set_availability(
            session,
            workspace_id=f.ws.workspace_id,
            agent_id=agent_id,
            availability=availability,
            chosen=True,
            reason="test",
        )
        await session.commit()


async def test_no_answer_in_time_reroutes_to_someone_else(floor):
    f = await floor(no_answer_seconds=1)
    a = await f.agent("타라", capacity={"default": 1})
    conv_id = await f.customer("빨리 답 주세요")
    await f.dispatch()
    conv = await f.conversation(conv_id)
    assert conv.assignee_id == a
    async with session_scope() as session:
        moved = await service.check_answer(
            session, conversation_id=conv_id, agent_id=a, assigned_at=conv.assigned_at.isoformat()
        )
        await session.commit()
    assert moved
    b = await f.agent("파도")
    await f.dispatch()
    assert await f.assignee(conv_id) == b
    # The timer of an older assignment does nothing.
    async with session_scope() as session:
        assert not await service.check_answer(
            session, conversation_id=conv_id, agent_id=b, assigned_at="2000-01-01"
        )


async def test_replying_claims_an_unassigned_conversation_once(floor):
    f = await floor(auto_assign=False)
    a = await f.agent("하늘")
    b = await f.agent("구름")
    conv_id = await f.customer("아무나 답해 주세요")
    await f.dispatch()
    assert await f.assignee(conv_id) is None  # auto-assignment is off in this inbox

    async def reply(agent_id, text):
        async with session_scope() as session:
            conv = await session.get(Conversation, conv_id)
            await agent_message(
                session,
                conversation=conv,
                content=text,
                agent_id=agent_id,
                private=False,
                client_id=None,
                attachment_ids=None,
            )
            await session.commit()

    await asyncio.gather(reply(a, "제가 도와드릴게요"), reply(b, "제가 볼게요"))
    owner = await f.assignee(conv_id)
    assert owner in (a, b)
    async with session_scope() as session:
        claims = list(
            await session.scalars(
                select(ConversationEvent).where(
                    ConversationEvent.conversation_id == conv_id,
                    ConversationEvent.type == "conversation.assigned",
                )
            )
        )
    assert len(claims) == 1 and claims[0].data["claimed"] is True


async def test_business_hours_hold_routing_until_opening(floor):
    closed = {"timezone": "Asia/Seoul", "days": {}}
    f = await floor(business_hours=closed)
    await f.agent("누리")
    conv_id = await f.customer("지금 상담 되나요?")
    await f.dispatch()
    assert await f.assignee(conv_id) is None


async def test_first_auto_reply_is_personal_and_names_the_queue_place(floor):
    from sodam.conversations.models import Message

    f = await floor()
    busy = await f.agent("단비", capacity={"default": 1})
    ahead = await f.customer("먼저 온 문의")
    await f.dispatch()
    assert await f.assignee(ahead) == busy
    # Held: a test server's worker routing the new customer before their name is set would send
    # the first auto-reply without it (once only, so the test's own pass would not send another).
    async with f.routing_held(), session_scope() as session:
        from sodam.contacts import service as contacts

        conv = await session.get(Conversation, await f.customer())
        await contacts.update(
            session, workspace_id=f.ws.workspace_id, contact_id=conv.contact_id, name="김하나"
        )
        await conversations.create_message(
            session,
            conversation=conv,
            content="배송 문의드려요",
            sender_type=SenderType.contact,
            sender_id=conv.contact_id,
        )
        await session.commit()
        waiting = conv.id
    await f.dispatch()
    replies = await f.bot_messages(waiting)
    first = await f.bot_messages(ahead)
    assert len(replies) == 1 and replies[0].payload == {"auto_reply": True}
    assert replies[0].content.startswith("김하나님, 문의 남겨 주셔서 감사합니다.")
    assert "대기 순번은 1번" in replies[0].content
    assert len(first) == 1 and "단비 상담원이" in first[0].content
    await f.dispatch()  # a second pass does not repeat it
    async with session_scope() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.conversation_id == waiting, Message.sender_type == SenderType.bot)
        )
    assert count == 1


async def test_the_first_reply_names_the_agent_another_pass_routed_to(floor, monkeypatch):
    """Two passes interleave (a test server's worker and this test, or two workers): the pass
    that describes a new conversation sends its first reply, another routes it in between.
    The reply names the agent all the same (it said "soon" with no name, CI, session 14)."""
    from sodam.routing import engine

    f = await floor()
    agent = await f.agent("단비", capacity={"default": 1})
    routed_by_the_other = []
    original = engine._route

    async def other_pass_first(session, *, workspace_id, now):
        await session.commit()  # let the routing lock go, as between the two transactions
        if not routed_by_the_other:
            async with session_scope() as other:
                routed_by_the_other.extend(await original(other, workspace_id=workspace_id, now=now))
                await other.commit()
        await engine._routing_lock(session, workspace_id)
        return await original(session, workspace_id=workspace_id, now=now)

    async with f.routing_held():
        conv_id = await f.customer("먼저 온 문의")
        monkeypatch.setattr(engine, "_route", other_pass_first)
    await f.dispatch()
    monkeypatch.setattr(engine, "_route", original)
    assert await f.assignee(conv_id) == agent
    replies = await f.bot_messages(conv_id)
    assert len(replies) == 1 and "단비 상담원이" in replies[0].content


async def test_an_sla_breach_reroutes_an_unanswered_conversation_and_puts_it_first(floor):
    f = await floor()
    a = await f.agent("가람", capacity={"default": 1})
    conv_id = await f.customer("답변이 늦네요")
    await f.dispatch()
    assert await f.assignee(conv_id) == a
    async with session_scope() as session:
        outcome = await service.on_sla_breached(
            session, workspace_id=f.ws.workspace_id, conversation_id=conv_id, kind="first_response"
        )
        await session.commit()
    assert outcome == "rerouted"
    conv = await f.conversation(conv_id)
    assert conv.assignee_id is None and a in conv.skipped_agent_ids and conv.queue_rank >= 20
    b = await f.agent("나비")
    await f.dispatch()
    assert await f.assignee(conv_id) == b


async def test_half_the_promised_wait_makes_a_conversation_at_risk(floor):
    from datetime import UTC, datetime, timedelta

    from sodam.routing import queue

    f = await floor()
    early, late = await f.customer("먼저"), await f.customer("나중", waited_s=400)
    async with session_scope() as session:
        now = datetime.now(UTC)
        for conv_id, due_in in ((early, 3000), (late, 100)):
            await session.execute(
                update(Conversation)
                .where(Conversation.id == conv_id)
                .values(first_response_due_at=now + timedelta(seconds=due_in))
            )
        await session.commit()
    async with session_scope() as session:
        assert await queue.mark_at_risk(session) >= 1
        await session.commit()
    assert (await f.conversation(late)).queue_rank >= 20 and (await f.conversation(early)).queue_rank < 20
    a = await f.agent("다솜", capacity={"default": 1})
    await f.dispatch()
    assert await f.assignee(late) == a and await f.assignee(early) is None


async def test_the_first_auto_reply_promises_the_sla_first_response_time(floor):
    from sodam.sla import service as sla

    f = await floor()
    async with session_scope() as session:
        await sla.seed_default(session, workspace_id=f.ws.workspace_id)
        await session.commit()
    conv_id = await f.customer("언제 답변 받을 수 있나요?")
    await f.dispatch()
    replies = await f.bot_messages(conv_id)
    reply = replies[0].content if replies else None
    assert reply is not None and "대기 순번은 1번" in reply
    assert "늦어도" in reply and "답변드리겠습니다" in reply


async def test_a_bot_handoff_is_routed_by_the_topic_the_bot_found(floor):
    from datetime import UTC, datetime

    f = await floor(bot_enabled=True)
    await f.agent("일반", skills={"lang:ko": 5})
    refunds = await f.agent("환불담당", skills={"lang:ko": 3, "topic:refund": 4})
    conv_id = await f.customer("환불하고 싶은데 상담원 연결해 주세요", language="ko", bot_job=False)
    await f.dispatch()
    conv = await f.conversation(conv_id)
    assert conv.bot_handling and conv.assignee_id is None  # the bot's, not the queue's
    async with session_scope() as session:
        conv = await session.get(Conversation, conv_id)
        await conversations.log_event(
            session,
            workspace_id=f.ws.workspace_id,
            conversation_id=conv_id,
            type="bot.handed_off",
            actor_type="bot",
            data={"reason": "asked_for_human", "language": "ko", "intent": "refund"},
        )
        conv.bot_handling = False
        conv.queued_at = datetime.now(UTC)
        await session.commit()
    await f.dispatch()
    conv = await f.conversation(conv_id)
    assert conv.assignee_id == refunds and conv.route["sources"]["topic:refund"] == "bot"


async def test_with_someone_online_an_inbox_without_its_own_hours_promises_their_wait(floor):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import sodam.routing.tasks  # noqa: F401 - registers routing's wait estimate, as a serving process does
    from sodam.channels.models import Inbox
    from sodam.channels.promise import wait_promise

    sunday_night = datetime(2026, 12, 6, 3, 0, tzinfo=ZoneInfo("Asia/Seoul"))  # closed by default hours
    f = await floor()
    async with session_scope() as session:
        inbox = await session.get(Inbox, f.ws.inbox_id)
        nobody = await wait_promise(session, inbox, sunday_night, 1)
    assert not nobody.open_now and nobody.opens_at is not None
    await f.agent("야간", capacity={"default": 2})
    async with session_scope() as session:
        inbox = await session.get(Inbox, f.ws.inbox_id)
        staffed = await wait_promise(session, inbox, sunday_night, 1)
        inbox.settings = {**inbox.settings, "business_hours": {"timezone": "Asia/Seoul", "days": {}}}
        closed = await wait_promise(session, inbox, sunday_night, 1)
    assert staffed.open_now and staffed.minutes == 1
    assert not closed.open_now  # hours the inbox set itself: routing waits for the opening, and says so


async def test_the_assignments_rows_are_held_for_no_round_trip_after_assigning(floor):
    """Routing's assignments, the agents' last assignment and the no-answer timers are one
    statement: after it, only the COMMIT (the message path's batch waits for any row held).
    The timers still carry what check_answer needs to tell this assignment from a later one."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import event, text

    from sodam.routing import engine

    f = await floor(no_answer_seconds=60)
    statements: list[str] = []

    def seen(conn, cursor, statement, params, context, executemany):
        statements.append(" ".join(statement.split()))

    now = datetime.now(UTC)
    async with session_scope() as session:
        # The routing lock first: a test server's worker routes nothing of this scene meanwhile.
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:cls, :ws)"),
            {"cls": engine.ROUTING_LOCK_CLASS, "ws": f.ws.workspace_id},
        )
        a = await f.agent("여름", capacity={"default": 2})
        ids = [await f.customer("주문 취소하고 싶어요") for _ in range(2)]
        await engine._describe_new(session, workspace_id=f.ws.workspace_id)
        connection = (await session.connection()).sync_connection
        event.listen(connection, "before_cursor_execute", seen)
        try:
            decisions = await engine._route(session, workspace_id=f.ws.workspace_id, now=now)
        finally:
            event.remove(connection, "before_cursor_execute", seen)
        await session.commit()
    assert sorted(d.conversation_id for d in decisions) == sorted(ids)
    assigning = [i for i, s in enumerate(statements) if "FOR NO KEY UPDATE OF c" in s]
    assert assigning == [len(statements) - 1], statements  # three round trips before: + 2
    async with session_scope() as session:
        state = await session.get(AgentState, a)
        timers = (
            await session.execute(
                text(
                    "SELECT args, scheduled_at FROM procrastinate_jobs"
                    " WHERE task_name = 'routing.check_answer' AND (args->>'conversation_id')::bigint = ANY(:ids)"
                ),
                {"ids": ids},
            )
        ).all()
    assert state.last_assigned_at == now
    assert sorted(t.args["conversation_id"] for t in timers) == sorted(ids)
    assert {t.args["agent_id"] for t in timers} == {a}
    assert {t.scheduled_at for t in timers} == {now + timedelta(seconds=60)}
    # The timer's assigned_at is the assignment's: not answered, so the timer moves it.
    timer = next(t for t in timers if t.args["conversation_id"] == ids[0])
    async with session_scope() as session:
        assert await service.check_answer(
            session, conversation_id=ids[0], agent_id=a, assigned_at=timer.args["assigned_at"]
        )
        await session.rollback()

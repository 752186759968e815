"""Dialogue context: after an answer, the next message is first read as a reply to it; and
the human queue holds only conversations a person has to take."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from sodam.bot.models import BotOutcome, BotState
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType
from sodam.db.session import session_scope


@pytest.mark.parametrize(
    ("question", "feedback"),
    [("환불 어떻게 하나요?", "그건 도움이 안 됐어요"), ("When will my order arrive?", "that didnt help")],
)
async def test_typed_feedback_moves_on_or_hands_off_and_the_note_quotes_the_question(
    chat, question, feedback
):
    c = await chat(name="정유진", email="yujin@example.kr")
    assert await c.say(question) == "answered"
    first = (await c.state()).answered_article_id
    outcome = await c.say(feedback)
    state = await c.state()
    # Never searched as a question of its own: either the next clear article, or a person.
    assert outcome in ("answered", "handed_off")
    if outcome == "answered":
        assert state.answered_article_id != first and first in state.tried_article_ids
        outcome = await c.say(feedback)
        assert outcome in ("answered", "handed_off")
    if outcome == "handed_off":
        assert (
            state.handoff_reason in (None, "not_helpful") or (await c.state()).handoff_reason == "not_helpful"
        )
        note = [m for m in await c.bot_messages() if m.kind == MessageKind.note][-1]
        assert question in note.content and feedback not in note.content
        # The note is for the team: in the workspace's language (Korean here), the customer's
        # language stated inside it.
        assert note.content.startswith("[봇 인계]")
    assert (await c.state()).last_question == question


@pytest.mark.parametrize("thanks", ["감사합니다", "해결됐어요", "thanks"])
async def test_thanks_after_an_answer_confirms_it(chat, thanks):
    c = await chat()
    assert await c.say("환불 어떻게 하나요?") == "answered"
    assert await c.say(thanks) in ("confirmed", "thanks")
    state = await c.state()
    assert state.outcome == BotOutcome.confirmed and state.state == BotState.resolved


async def test_a_follow_up_is_read_with_the_previous_question(chat):
    c = await chat()
    assert await c.say("환불 어떻게 하나요?") == "answered"
    refund = (await c.state()).answered_article_id
    assert await c.say("그럼 구매 취소는요?") == "answered"
    state = await c.state()
    assert state.answered_article_id != refund
    answer = [m for m in await c.bot_messages() if m.payload and m.payload.get("article")][-1]
    assert answer.payload["article"]["title"] == "구매 취소 방법"


async def test_the_bot_s_conversations_are_not_unassigned_work_until_the_handoff(chat):
    c = await chat()
    ws = c.ws
    assert await c.say("환불 어떻게 하나요?") == "answered"
    async with session_scope() as session:
        conv = await session.get(Conversation, c.conversation_id)
        assert conv.bot_handling and conv.queued_at is None
        counts = await conversations.counts(session, workspace_id=ws.workspace_id, agent_id=ws.agent_id)
        unassigned = await conversations.list_(
            session, workspace_id=ws.workspace_id, agent_id=ws.agent_id, view="unassigned"
        )
        with_bot = await conversations.list_(
            session, workspace_id=ws.workspace_id, agent_id=ws.agent_id, view="bot"
        )
        clock = await conversations.awaiting_reply_since(
            session, workspace_id=ws.workspace_id, conversation_ids=[c.conversation_id]
        )
        place = await conversations.queue_position(
            session, inbox_id=ws.inbox_id, conversation_id=c.conversation_id
        )
    assert counts["unassigned"] == 0 and counts["bot"] == 1
    assert c.conversation_id not in [x.id for x in unassigned]
    assert [x.id for x in with_bot] == [c.conversation_id]
    assert clock == {} and place is None  # no SLA clock, no queue place

    assert await c.say("상담원 연결해 주세요") == "handed_off"
    async with session_scope() as session:
        conv = await session.get(Conversation, c.conversation_id)
        assert not conv.bot_handling and conv.queued_at is not None
        counts = await conversations.counts(session, workspace_id=ws.workspace_id, agent_id=ws.agent_id)
        clock = await conversations.awaiting_reply_since(
            session, workspace_id=ws.workspace_id, conversation_ids=[c.conversation_id]
        )
        place = await conversations.queue_position(
            session, inbox_id=ws.inbox_id, conversation_id=c.conversation_id
        )
        events = await session.scalars(
            select(Conversation.id).where(Conversation.workspace_id == ws.workspace_id)
        )
    assert counts["unassigned"] == 1 and counts["bot"] == 0
    assert clock[c.conversation_id] >= conv.queued_at  # the first-reply clock starts at the handoff
    assert place == 1 and list(events) == [c.conversation_id]


class _SlowKnowledge:
    """The bot's knowledge source with a search that waits until released (a slow index)."""

    def __init__(self, inner):
        self.inner = inner
        self.searching = asyncio.Event()
        self.release = asyncio.Event()

    async def search(self, session, workspace_id, text, language):
        self.searching.set()
        await self.release.wait()
        return await self.inner.search(session, workspace_id, text, language)

    async def candidate(self, *args):
        return await self.inner.candidate(*args)

    async def feedback(self, *args):
        return await self.inner.feedback(*args)


async def test_a_visitor_message_commits_while_a_slow_bot_search_runs(chat):
    from sodam.bot import service
    from sodam.conversations.message_path import post_visitor_message

    c = await chat()
    async with session_scope() as session:
        conv = await session.get(Conversation, c.conversation_id)
        first, _ = await conversations.create_message(
            session,
            conversation=conv,
            content="환불 어떻게 하나요?",
            sender_type=SenderType.contact,
            sender_id=c.contact_id,
        )
    slow = _SlowKnowledge(c.kb)

    async def bot_turn():
        async with session_scope() as session:
            return await service.handle_customer_message(session, message_id=first.id, kb=slow)

    turn = asyncio.create_task(bot_turn())
    await asyncio.wait_for(slow.searching.wait(), 10)
    # The search is running: the customer's next message must not wait for it.
    message, created = await asyncio.wait_for(
        post_visitor_message(
            workspace_id=c.ws.workspace_id,
            inbox_id=c.ws.inbox_id,
            contact_id=c.contact_id,
            content="아 그리고 배송도 궁금해요",
            client_id="slow-search-1",
            language=None,
            max_chars=4000,
        ),
        timeout=3,
    )
    assert created and message["conversation_id"] == c.conversation_id
    slow.release.set()
    # The older message is superseded by the newer one: the bot answers only the latest.
    assert await asyncio.wait_for(turn, 20) == "superseded"


async def test_a_run_superseded_by_a_newer_message_skips_the_handoff_reads(chat, monkeypatch):
    """A run that a newer message supersedes ends "superseded" under the lock without first
    reading what a handoff needs (contact, queue place, wait promise); the same question with
    nothing newer hands off and reads them."""
    from sqlalchemy import event

    from sodam.bot import reply_jobs, service
    from sodam.conversations.message_path import post_visitor_message
    from sodam.db.pipeline import commit_in_one_round_trip
    from sodam.db.session import get_engine

    off_topic = "오늘 서울 날씨 어때요? 우산 챙겨야 할까요?"  # low confidence: a handoff
    statements: list[str] = []

    def seen(conn, cursor, statement, params, context, executemany):
        statements.append(" ".join(statement.split()))

    engine = get_engine().sync_engine
    event.listen(engine, "before_cursor_execute", seen)

    async def recording(session, batch):
        statements.extend(f"<pipeline> {' '.join(str(s).split())[:9]}" for s, _ in batch)
        return await commit_in_one_round_trip(session, batch)

    monkeypatch.setattr(reply_jobs, "commit_in_one_round_trip", recording)
    try:
        alone = await chat()
        assert await alone.say(off_topic) == "handed_off"
        assert any("FROM contacts" in s for s in statements)
        statements.clear()

        c = await chat()
        async with session_scope() as session:
            conv = await session.get(Conversation, c.conversation_id)
            first, _ = await conversations.create_message(
                session, conversation=conv, content=off_topic, sender_type=SenderType.contact,
                sender_id=c.contact_id,
            )  # fmt: skip
        slow = _SlowKnowledge(c.kb)

        async def bot_turn():
            async with session_scope() as session:
                return await service.handle_customer_message(session, message_id=first.id, kb=slow)

        turn = asyncio.create_task(bot_turn())
        await asyncio.wait_for(slow.searching.wait(), 10)
        await post_visitor_message(
            workspace_id=c.ws.workspace_id,
            inbox_id=c.ws.inbox_id,
            contact_id=c.contact_id,
            content="아 그리고 하나 더요",
            client_id="superseded-1",
            language=None,
            max_chars=4000,
        )
        statements.clear()
        slow.release.set()
        assert await asyncio.wait_for(turn, 20) == "superseded"
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert not any("FROM contacts" in s or "agent_states" in s for s in statements), statements
    # Under the lock: one statement (the checks, and the newer question's job when none waits),
    # sent with the COMMIT in one round trip — the newer message was seen before the lock.
    locked = next(i for i, s in enumerate(statements) if "FOR NO KEY UPDATE" in s)
    assert statements[locked + 1 :] == ["<pipeline> WITH c AS"], statements[locked + 1 :]
    assert not [m for m in await c.bot_messages() if (m.payload or {}).get("handoff")]
    # Nothing written for the superseded run but the newer message's reply job (when none
    # waits): no bot record yet (the run that answers makes it), and the job is there once.
    assert not any(
        s.startswith(("INSERT INTO bot_conversations", "UPDATE bot_conversations")) for s in statements
    )
    assert await c.state() is None


async def test_a_superseded_run_keeps_one_reply_job_waiting_for_the_newer_question(chat):
    """Under the lock, one statement says whether a newer question supersedes the run and, if
    none of the conversation's reply jobs waits, defers one for it — once; not when the run
    was answered already or the bot is quiet (may_defer=False)."""
    from sqlalchemy import delete, text

    from sodam.bot import reads
    from sodam.bot.reply_jobs import REPLY_LOCK, REPLY_TASK, check_under_lock
    from tests.bot.test_bot_flow import ProcrastinateJob

    c = await chat()
    lock = REPLY_LOCK.format(conversation_id=c.conversation_id)
    jobs = text(
        "SELECT args FROM procrastinate_jobs WHERE lock = :lock AND task_name = :task AND status = 'todo'"
    )
    async with session_scope() as session:
        conv = await session.get(Conversation, c.conversation_id)
        said = [
            (
                await conversations.create_message(
                    session, conversation=conv, content=line, sender_type=SenderType.contact,
                    sender_id=c.contact_id,
                )
            )[0]
            for line in ("환불 어떻게 하나요?", "아 그리고 배송은요?")
        ]  # fmt: skip
        await session.execute(delete(ProcrastinateJob).where(ProcrastinateJob.c.lock == lock))
        conv = await session.scalar(reads.LOCK_CONVERSATION, {"conversation_id": c.conversation_id})
        assert await check_under_lock(session, conv, said[0].seq, may_defer=False) == (
            False,
            said[1].seq,
            False,
        )
        assert (await session.execute(jobs, {"lock": lock, "task": REPLY_TASK})).all() == []
        for _ in range(2):  # the second run finds the first one's job waiting
            assert await check_under_lock(session, conv, said[0].seq, may_defer=True) == (
                False,
                said[1].seq,
                False,
            )
        waiting = (await session.execute(jobs, {"lock": lock, "task": REPLY_TASK})).scalars().all()
        assert [args["message_id"] for args in waiting] == [said[1].id]
        # Nothing newer than the latest question: not superseded, nothing deferred.
        assert await check_under_lock(session, conv, said[1].seq, may_defer=True) == (
            False,
            said[1].seq,
            False,
        )
        await session.execute(delete(ProcrastinateJob).where(ProcrastinateJob.c.lock == lock))
        await conversations.create_message(
            session, conversation=conv, content="환불 안내입니다", sender_type=SenderType.bot, sender_id=None,
            kind=MessageKind.bot,
        )  # fmt: skip
        answered, _, _ = await check_under_lock(session, conv, said[0].seq, may_defer=True)
        assert answered and (await session.execute(jobs, {"lock": lock, "task": REPLY_TASK})).all() == []
        await session.rollback()


@pytest.mark.parametrize(
    "second",
    [
        "아니 그게 아니라 로그인이 안 돼요 비밀번호를 잊어버렸어요",
        "그 답은 틀렸어요, 비밀번호를 잊어버렸어요",
    ],
)
async def test_a_new_problem_said_with_a_no_is_answered_as_a_question(chat, second):
    """After an answer, "아니 그게 아니라 …" followed by a new problem is that problem's question
    (its own search answers it with another article), not only "that did not help"."""
    from sodam.bot import rules

    assert rules.feedback(second) is False  # what the message would be read as alone
    c = await chat()
    assert await c.say("환불 어떻게 하나요?") == "answered"
    assert await c.say(second) == "answered"
    answer = [m for m in await c.bot_messages() if (m.payload or {}).get("article")][-1]
    assert answer.payload["article"]["title"] == "비밀번호 재설정"


@pytest.mark.parametrize("second", ["네 근데 비밀번호를 잊어버렸어요", "예전 비밀번호를 잊어버렸어요"])
async def test_a_question_that_begins_like_a_yes_is_answered_not_taken_as_thanks(chat, second):
    """'예전 …' begins with '예' (yes), '네 근데 …' with a yes and then a question: after an
    answer both are questions, not "it helped" (which closed the conversation as confirmed)."""
    c = await chat()
    assert await c.say("환불 어떻게 하나요?") == "answered"
    assert await c.say(second) == "answered"
    answer = [m for m in await c.bot_messages() if (m.payload or {}).get("article")][-1]
    assert answer.payload["article"]["title"] == "비밀번호 재설정"
    assert (await c.state()).outcome != BotOutcome.confirmed


async def test_a_bare_no_is_still_feedback_about_the_answer(chat):
    """Nothing said besides the verdict: no search of the message, the next candidate or a
    handoff for the first question (the password article must not answer "그건 아니에요")."""
    c = await chat()
    assert await c.say("환불 어떻게 하나요?") == "answered"
    assert await c.say("이건 제 질문이 아니에요") in ("answered", "choices", "handed_off", "collecting_lead")
    titles = [
        m.payload["article"]["title"] for m in await c.bot_messages() if (m.payload or {}).get("article")
    ]
    assert titles[0] == "환불 신청 방법" and "비밀번호 재설정" not in titles


async def test_lead_capture_keeps_the_conversation_language(chat):
    from tests.bot.test_bot_flow import CLOSED

    c = await chat()
    assert await c.say("상담원 연결해 주세요", now=CLOSED) == "collecting_lead"
    assert await c.say("Kim Haneul", now=CLOSED) == "lead_next"  # a latin name: still Korean
    assert await c.say("haneul@example.kr", now=CLOSED) == "lead_next"
    last = (await c.bot_messages())[-1]
    assert "전화번호" in last.content  # asked in Korean, not "phone number"
    assert (await c.state()).language == "ko"


def test_the_bot_s_tags_read_as_the_bot_s():
    from types import SimpleNamespace

    from sodam.conversations.event_lines import event_line
    from sodam.core.i18n import gettext

    # The bot only adds tags: the line says so and names what it added ("봇이 태그를
    # 추가했습니다"), not the whole set; a change that also removes one reads as a change.
    added = {"from": ["vip"], "to": ["vip", "bot-handoff"]}
    changed = {"from": ["vip"], "to": ["bot-handoff"]}
    for lang, data, expected in (
        ("ko", added, "봇이 태그를 추가했습니다: bot-handoff"),
        ("en", added, "The bot tagged the conversation: bot-handoff"),
        ("ko", {"to": ["bot-handoff"]}, "봇이 태그를 추가했습니다: bot-handoff"),
        ("ko", changed, "봇이 태그를 바꿨습니다: bot-handoff"),
        ("en", changed, "The bot set the tags: bot-handoff"),
    ):
        event = SimpleNamespace(type="tags.changed", actor_type="bot", actor_id=None, data=data)
        ctx = SimpleNamespace(t=lambda key, _l=lang, **kw: gettext(_l, key, **kw))
        line = event_line(ctx, event, {}, {})
        assert line == expected and "알 수 없는" not in line


async def test_an_article_without_a_body_is_answered_with_its_title(make_workspace):
    from sodam.bot import service
    from sodam.bot.knowledge_source import KnowledgeBaseSource
    from sodam.contacts import service as contacts
    from sodam.knowledge import service as knowledge
    from tests.bot.test_bot_flow import OPEN

    ws = await make_workspace(bot_enabled=True, lead_capture="off")
    async with session_scope() as session:
        await knowledge.create_article(
            session,
            workspace_id=ws.workspace_id,
            title="영수증 재발급",
            locale="ko",
            status="published",
            alternate_questions=["영수증 다시 받고 싶어요"],
        )
        contact = await contacts.create(session, workspace_id=ws.workspace_id)
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        message, _ = await conversations.create_message(
            session,
            conversation=conv,
            content="영수증 다시 받고 싶어요",
            sender_type=SenderType.contact,
            sender_id=contact.id,
        )
    async with session_scope() as session:
        outcome = await service.handle_customer_message(
            session, message_id=message.id, kb=KnowledgeBaseSource(), now=OPEN
        )
    assert outcome == "answered"
    async with session_scope() as session:
        answer = await session.scalar(
            select(Message)
            .where(Message.conversation_id == conv.id, Message.sender_type == SenderType.bot)
            .order_by(Message.seq)
        )
    assert answer.content == "영수증 재발급" and answer.payload["article"]["title"] == "영수증 재발급"


async def test_lines_typed_before_the_reply_job_runs_share_it_and_it_answers_the_latest(chat):
    """Reply jobs are coalesced: one waiting job per conversation, which answers the latest
    question when it runs, not the first line that deferred it."""
    from sqlalchemy import text

    import sodam.bot.tasks  # noqa: F401  (registers the reply reaction, as a worker does)
    from sodam.bot import service
    from tests.bot.test_bot_flow import OPEN

    c = await chat()
    ids = []
    for line in ("안녕하세요", "문의가 있는데요", "배송기간 얼마나 걸려요?"):
        async with session_scope() as session:
            conv = await session.get(Conversation, c.conversation_id)
            message, _ = await conversations.create_message(
                session,
                conversation=conv,
                content=line,
                sender_type=SenderType.contact,
                sender_id=c.contact_id,
            )
            ids.append(message.id)
    async with session_scope() as session:
        deferred = (
            await session.scalars(
                text(
                    "SELECT (args->>'message_id')::bigint FROM procrastinate_jobs"
                    " WHERE task_name = 'bot.on_customer_message' AND lock = :lock"
                ),
                {"lock": f"conversation-{c.conversation_id}"},
            )
        ).all()
    assert deferred == [ids[0]]
    async with session_scope() as session:
        outcome = await service.handle_customer_message(session, message_id=ids[0], kb=c.kb, now=OPEN)
    assert outcome in ("answered", "already_handled")  # (a live test server's worker may run it first)
    answers = [m for m in await c.bot_messages() if (m.payload or {}).get("article")]
    assert answers and answers[-1].payload["article"]["title"] == "배송 기간 안내"


def test_the_system_and_the_bot_are_not_honoured_as_people():
    """The first hour saw "시스템님이 김관리 (Admin)님에게 배정했습니다" after routing assigned."""
    from types import SimpleNamespace

    from sodam.conversations.event_lines import event_line
    from sodam.core.i18n import gettext

    assigned = SimpleNamespace(
        type="conversation.assigned", actor_type="system", actor_id=None, data={"assignee": {"to": 7}}
    )
    released = SimpleNamespace(
        type="conversation.assigned", actor_type="bot", actor_id=None, data={"assignee": {"to": None}}
    )
    by_agent = SimpleNamespace(
        type="conversation.assigned", actor_type="agent", actor_id=3, data={"assignee": {"to": 7}}
    )
    agents = {3: "김관리", 7: "이민지"}
    for lang, expected in (
        (
            "ko",
            [
                "시스템이 이민지님에게 배정했습니다",
                "봇이 배정을 해제했습니다",
                "김관리님이 이민지님에게 배정했습니다",
            ],
        ),
        (
            "en",
            [
                "System assigned this to 이민지",
                "Bot unassigned this conversation",
                "김관리 assigned this to 이민지",
            ],
        ),
    ):
        ctx = SimpleNamespace(t=lambda key, _l=lang, **kw: gettext(_l, key, **kw))
        lines = [event_line(ctx, e, agents, {}) for e in (assigned, released, by_agent)]
        assert lines == expected
        assert "시스템님" not in " ".join(lines) and "봇님" not in " ".join(lines)

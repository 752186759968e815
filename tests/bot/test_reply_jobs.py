"""Which message a reply job answers (reply_jobs.message_to_answer), against the database."""

from __future__ import annotations

from sqlalchemy import delete, event

from sodam.bot import reply_jobs
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, MessageKind, SenderType
from sodam.db.session import session_scope
from tests.bot.test_bot_flow import ProcrastinateJob


async def _post(chat, content: str, sender: SenderType = SenderType.contact, payload=None):
    async with session_scope() as session:
        conv = await session.get(Conversation, chat.conversation_id)
        message, _ = await conversations.create_message(
            session,
            conversation=conv,
            content=content,
            sender_type=sender,
            sender_id=chat.contact_id if sender == SenderType.contact else None,
            kind=MessageKind.text if sender == SenderType.contact else MessageKind.bot,
            payload=payload,
        )
        # Taken back before commit, as Chat.say does: a live test server's worker (same
        # database) must not answer these messages while the test reads them.
        await session.execute(
            delete(ProcrastinateJob).where(
                ProcrastinateJob.c.task_name == reply_jobs.REPLY_TASK,
                ProcrastinateJob.c.lock == reply_jobs.REPLY_LOCK.format(conversation_id=chat.conversation_id),
            )
        )
    return message


async def _answer_for(message_id: int):
    async with session_scope() as session:
        message, answered = await reply_jobs.message_to_answer(session, message_id)
        return (message.id if message is not None else None), answered


async def test_the_job_answers_the_latest_question_and_knows_what_was_answered(chat):
    c = await chat()
    first = await _post(c, "배송기간 얼마나 걸려요?")
    assert await _answer_for(first.id) == (first.id, False)
    status = await _post(c, "진행 상황?", payload={"status_request": True})
    # "진행 상황?" is routing's to answer: the job still answers the question before it.
    assert await _answer_for(first.id) == (first.id, False)
    assert await _answer_for(status.id) == (status.id, False)
    await _post(c, "평균 2~3일 걸립니다.", sender=SenderType.bot)
    assert await _answer_for(first.id) == (first.id, True)
    second = await _post(c, "환불은요?")
    # A newer question is what the older message's job answers; nothing after it yet.
    assert await _answer_for(first.id) == (second.id, False)
    bot_reply = await _post(c, "환불 안내입니다.", sender=SenderType.bot)
    assert await _answer_for(second.id) == (second.id, True)
    # A bot message is returned as it is (the job then ignores it).
    assert await _answer_for(bot_reply.id) == (bot_reply.id, False)
    assert await _answer_for(10**12) == (None, False)


async def test_the_statement_is_built_once_not_per_job(chat):
    """Building it per call (three aliases of messages) cost several ms of CPU per decision
    (7 ms at load 6) before the query's encoding could start; every call executes the one
    statement built at import."""
    c = await chat()
    message = await _post(c, "배송기간 얼마나 걸려요?")
    executed = []
    async with session_scope() as session:
        listener = lambda state: executed.append(state.statement)  # noqa: E731
        event.listen(session.sync_session, "do_orm_execute", listener)
        for _ in range(3):
            await reply_jobs.message_to_answer(session, message.id)
    assert len(executed) == 3
    assert all(s is reply_jobs._MESSAGE_TO_ANSWER for s in executed)


def test_the_bench_source_passes_the_early_start_on():
    """`sodam bench bot-latency` times the bot with a wrapped knowledge source: the bot finds
    `start_search` on it with getattr, so without it the bench never overlapped the query's
    encoding with the decision's reads as the product does."""
    from bench.faq import _TimedKnowledgeSource

    from sodam.bot.knowledge_source import KnowledgeBaseSource

    inner = KnowledgeBaseSource()
    wrapped = _TimedKnowledgeSource(inner)
    assert wrapped.start_search.__self__ is inner
    assert wrapped.start_search.__func__ is KnowledgeBaseSource.start_search
    assert wrapped.feedback.__self__ is inner

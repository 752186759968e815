"""Dialogue context: after an answer, the next message is first read as a reply to it; and
the human queue holds only conversations a person has to take."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sodam.bot.models import BotOutcome, BotState
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, MessageKind
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

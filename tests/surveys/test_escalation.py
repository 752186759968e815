"""Escalation rules run by the job's function directly: an answer without a conversation opens
one; a good score with a strongly negative comment escalates by sentiment; a mild one does
not; the per-survey threshold; a survey with escalation off; once per answer."""

from __future__ import annotations

from sqlalchemy import select, text

from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Message, MessageKind
from sodam.db.session import session_scope
from sodam.surveys import escalation
from sodam.surveys import service as surveys
from sodam.surveys.models import SurveyAnswer, SurveyEscalation
from tests.surveys.helpers import contact_with_conversation, make_survey


async def _answer(ws, survey_id: int, answers: dict, *, conversation: bool = False) -> int:
    async with session_scope() as s:
        if conversation:
            contact_id, conv_id = await contact_with_conversation(ws)
        else:
            contact_id, conv_id = (
                (await contacts.create(s, workspace_id=ws.workspace_id, name="고객", email=None)).id,
                None,
            )
        survey = await surveys.get(s, workspace_id=ws.workspace_id, survey_id=survey_id)
        recipient, _ = await surveys.invite(s, survey=survey, contact_id=contact_id, conversation_id=conv_id)
        answer, _ = await surveys.submit(s, recipient=recipient, survey=survey, answers=answers)
        await s.commit()
        return answer.id


async def _check(answer_id: int):
    """Escalate the answer now; if a server's job worker (sharing the test database) escalated
    it first, what that run recorded (an answer is escalated once, whoever runs it)."""
    async with session_scope() as s:
        done = await escalation.check_answer(s, answer_id=answer_id)
        await s.commit()
    if done is not None:
        return done
    async with session_scope() as s:
        first = await s.scalar(select(SurveyEscalation).where(SurveyEscalation.answer_id == answer_id))
    if first is None:
        return None
    return {
        "reason": first.reason,
        "conversation_id": first.conversation_id,
        "assignee_id": first.assignee_id,
    }


async def test_an_answer_without_a_conversation_opens_one(make_workspace):
    ws = await make_workspace()
    nps = await make_survey(ws, "nps")
    answer_id = await _answer(ws, nps, {"score": 2})
    done = await _check(answer_id)
    assert done["reason"] == "score" and done["assignee_id"] is None
    async with session_scope() as s:
        conv = await s.get(Conversation, done["conversation_id"])
        answer = await s.get(SurveyAnswer, answer_id)
        assert conv.contact_id == answer.contact_id and conv.inbox_id == ws.inbox_id
        assert (
            conv.priority.value == "urgent"
            and conv.tags == ["survey-escalation"]
            and conv.status.value == "open"
        )
        notes = list(
            await s.scalars(
                select(Message).where(Message.conversation_id == conv.id, Message.kind == MessageKind.note)
            )
        )
        assert (
            len(notes) == 1 and "2/10" in notes[0].content and "Original conversation" not in notes[0].content
        )
    async with session_scope() as s:  # once per answer: a second run does nothing
        assert await escalation.check_answer(s, answer_id=answer_id) is None
    async with session_scope() as s:  # nobody assigned: every 매니저 and admin is told
        notices = await s.execute(
            text("SELECT agent_id FROM agent_notices WHERE workspace_id = :w AND kind = 'survey_escalation'"),
            {"w": ws.workspace_id},
        )
        assert [n.agent_id for n in notices] == [ws.agent_id]


async def test_sentiment_and_thresholds(make_workspace):
    ws = await make_workspace()
    csat = await make_survey(ws, "csat")
    angry = await _answer(
        ws, csat, {"score": 4, "comment": "최악이에요. 정말 화가 납니다"}, conversation=True
    )
    done = await _check(angry)
    assert done["reason"] == "sentiment"
    async with session_scope() as s:
        assert (await s.get(SurveyAnswer, angry)).comment_sentiment <= -0.6
    mild = await _answer(ws, csat, {"score": 3, "comment": "그냥 그래요"}, conversation=True)
    assert await _check(mild) is None
    strict = await make_survey(ws, "csat", escalate_at=3)
    assert (await _check(await _answer(ws, strict, {"score": 3})))["reason"] == "score"
    ces = await make_survey(ws, "ces")
    assert await _check(await _answer(ws, ces, {"score": 5})) is None
    assert (await _check(await _answer(ws, ces, {"score": 7})))["reason"] == "score"
    quiet = await make_survey(ws, "csat", escalate=False)
    assert await _check(await _answer(ws, quiet, {"score": 1, "comment": "최악이에요"})) is None
    async with session_scope() as s:
        opened = await conversations.list_(s, workspace_id=ws.workspace_id, status=None, limit=100)
        assert sum(1 for c in opened if c.priority.value == "urgent") == 3


async def test_export_and_erasure_cover_survey_answers(make_workspace):
    from sodam.privacy import service as privacy

    ws = await make_workspace()
    # No escalation: a test server's worker escalating the CSAT 2 (it updates the answer and the
    # conversation) while the erasure below updates them in the other order can deadlock.
    csat = await make_survey(ws, "csat", escalate=False)
    answer_id = await _answer(
        ws, csat, {"score": 2, "comment": "010-1234-5678로 연락 주세요"}, conversation=True
    )
    async with session_scope() as s:
        contact_id = (await s.get(SurveyAnswer, answer_id)).contact_id
        exported = await privacy.export_contact(s, workspace_id=ws.workspace_id, contact_id=contact_id)
        assert [(a["score"], a["comment"]) for a in exported["survey_answers"]] == [
            (2, "010-1234-5678로 연락 주세요")
        ]
        await privacy.erase_contact(s, workspace_id=ws.workspace_id, contact_id=contact_id)
        await s.commit()
    async with session_scope() as s:
        answer = await s.get(SurveyAnswer, answer_id)
        assert answer.score == 2 and answer.comment is None and answer.answers == {"score": 2}

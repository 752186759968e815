"""What the customer reads when the bot hands over, as a newcomer walking the widget saw it:
the customer's name leads a sentence that still reads as one ("Emily Clark, sorry that didn't
help — …", never "Emily Clark, Sorry …"; in Korean no "죄송합니다, 상담원이" comma splice), and a
reply that is plainly not a name ("그건 도움이 안 됐어요" to "성함을 알려 주시겠어요?") is not
stored as the customer's name."""

from __future__ import annotations

import re

import pytest

from sodam.contacts import service as contacts
from sodam.conversations.models import MessageKind
from sodam.db.session import session_scope
from tests.bot.test_bot_flow import CLOSED


async def _handoff_text(c) -> str:
    return [m for m in await c.bot_messages() if m.kind == MessageKind.bot][-1].content


@pytest.mark.parametrize(
    ("name", "question", "feedback", "starts"),
    [
        ("Emily Clark", "When will my order arrive?", "that didn't help", r"Emily Clark, [a-z]"),
        ("정유진", "환불 어떻게 하나요?", "아니요, 상담원과 연결해 주세요", r"정유진님, \S"),
    ],
)
async def test_a_named_handoff_reads_as_sentences(chat, name, question, feedback, starts):
    c = await chat(name=name, email="customer@example.com")
    assert await c.say(question) == "answered"
    outcome = await c.say(feedback)
    if outcome == "answered":  # the next candidate first; the same feedback again hands off
        outcome = await c.say(feedback)
    assert outcome == "handed_off"
    text = await _handoff_text(c)
    assert re.match(starts, text), text
    # A sentence ends with a full stop, not a comma: "…죄송합니다, 상담원이…" is two run together.
    assert not re.search(r"(니다|어요|게요|해요),", text), text
    assert not re.search(r", [A-Z][a-z]", text.removeprefix(f"{name}, ")), text
    assert text.count(".") <= 2  # still two sentences at most


@pytest.mark.parametrize(
    ("text", "starts"),
    [
        ("talk to a human", r"Emily Clark, I'm "),
        ("Is it going to rain in Seoul tomorrow afternoon?", r"Emily Clark, [a-z]"),  # low confidence
        ("상담원 연결", r"Emily Clark님, \S"),
    ],
)
async def test_a_handoff_without_an_answer_names_the_customer(chat, text, starts):
    c = await chat(name="Emily Clark", email="emily@example.com")
    assert await c.say(text) == "handed_off"
    handoff = await _handoff_text(c)
    assert re.match(starts, handoff), handoff


@pytest.mark.parametrize(
    ("ask", "not_a_name", "real_name", "language_word"),
    [
        ("상담원 연결해 주세요", "그건 도움이 안 됐어요", "김하늘", "성함"),
        ("talk to a human", "that didn't help", "Haneul Kim", "name"),
    ],
)
async def test_feedback_typed_for_the_name_is_not_the_customer_s_name(
    chat, ask, not_a_name, real_name, language_word
):
    c = await chat()
    assert await c.say(ask, now=CLOSED) == "collecting_lead"
    assert await c.say(not_a_name, now=CLOSED) == "lead_invalid"
    again = (await c.bot_messages())[-1]
    assert language_word in again.content and again.payload == {"lead": "name"}
    async with session_scope() as session:
        contact = await contacts.get(session, workspace_id=c.ws.workspace_id, contact_id=c.contact_id)
    assert contact.name is None
    assert await c.say(real_name, now=CLOSED) == "lead_next"
    async with session_scope() as session:
        contact = await contacts.get(session, workspace_id=c.ws.workspace_id, contact_id=c.contact_id)
    assert contact.name == real_name


# What a newcomer typed at "성함을 알려 주시겠어요?" in the widget: the bot stored it (cut to
# 200 characters) as the customer's name and its handoff began "배송 가가가…님, ".
LONG_MESSAGE = "배송 " + "가" * 5000


@pytest.mark.parametrize(
    "reply", [LONG_MESSAGE, "주문한 신발이 아직 안 왔어요\n주문번호는 12345입니다", "x" * 61]
)
def test_a_message_longer_than_a_name_is_not_a_name(reply):
    from sodam.bot.handoff import not_a_name

    assert not_a_name(reply)


def test_a_long_name_is_still_a_name():
    from sodam.bot.handoff import not_a_name

    assert not not_a_name("Maria del Carmen Fernández de la Cruz")


async def test_a_long_message_typed_for_the_name_is_not_stored_as_the_name(chat):
    c = await chat()
    assert await c.say("상담원 연결해 주세요", now=CLOSED) == "collecting_lead"
    assert await c.say(LONG_MESSAGE, now=CLOSED) == "lead_invalid"
    assert "성함" in (await c.bot_messages())[-1].content
    async with session_scope() as session:
        contact = await contacts.get(session, workspace_id=c.ws.workspace_id, contact_id=c.contact_id)
    assert contact.name is None


@pytest.mark.parametrize(
    ("ask", "now_words"),
    [("상담원 연결해 주세요", ["바로", "지금 바로"]), ("talk to a human", [" now.", "right away"])],
)
async def test_a_request_for_a_person_while_closed_promises_no_immediacy(chat, ask, now_words):
    """The first hour at 06:45 in Seoul: "상담원에게 바로 연결해 드릴게요. 지금은 운영 시간이
    아니어서 오늘 09:00부터 답변드립니다." — "right away", then two hours later."""
    c = await chat(name="정유진", email="yujin@example.com", lead_capture="off")
    assert await c.say(ask, now=CLOSED) == "handed_off"
    text = await _handoff_text(c)
    assert "09:00" in text, text
    assert not any(word in text for word in now_words), text


async def test_the_note_names_the_language_and_the_article_in_words(chat):
    """ "언어: 영어", not "언어: en"; an article outside any category is named by its title, not
    "의도: article:6": the note is for the team, in the workspace's language."""
    c = await chat(name="Emily Clark", email="emily@example.com")
    assert await c.say("When will my order arrive?") == "answered"
    assert await c.say("talk to a human") == "handed_off"
    note = [m for m in await c.bot_messages() if m.kind == MessageKind.note][-1].content
    assert "언어: 영어 ·" in note and "의도: How long does shipping take? ·" in note, note


@pytest.mark.parametrize("reply", ["예린", "예린이에요", "아니타", "네오", "Noah", "Nancy", "김예린"])
def test_a_name_that_begins_like_a_yes_or_a_no_is_a_name(reply):
    """'예린' starts like '예' (yes) and '아니타' like '아니' (no): names all the same."""
    from sodam.bot.handoff import not_a_name

    assert not not_a_name(reply)


@pytest.mark.parametrize(
    "reply", ["네", "아니요", "아니요 괜찮아요", "no thanks", "ok!", "감사합니다", "그건 도움이 안 됐어요"]
)
def test_a_bare_verdict_is_not_a_name(reply):
    from sodam.bot.handoff import not_a_name

    assert not_a_name(reply)

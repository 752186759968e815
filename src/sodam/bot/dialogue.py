"""Reading a customer message in the light of the bot's last turn, before any lock is taken.

Everything slow happens here, outside the conversation's row lock: language detection
and every knowledge-base search the decision may need (the message itself; the previous
question with a follow-up such as "그럼 교환은요?"; the previous question again when the
customer says the answer did not help, to find the next candidate). The decision under
the lock then only reads these results and writes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.bot import rules
from sodam.bot.models import BotConversation, BotState
from sodam.core.i18n import normalise
from sodam.nlp.language import NEEDS_MODEL, detect, detect_at_once

# What a "not helpful" message must say besides its verdict (rules.beyond_feedback) to be
# searched as a question of its own too: "그게 아니라 환불이요" says 5 characters more.
NEW_PROBLEM_CHARS = 5


@dataclass
class Reading:
    """What the message is, relative to the bot's last turn."""

    language: str
    text: str
    feedback: bool | None = None  # after an answer: True helped, False did not, None neither
    follow_up_query: str | None = None  # the previous question + this follow-up
    searches: dict[str, object] = field(default_factory=dict)  # query -> KbAnswer


def message_language(text: str, fallback: str) -> str:
    """The language a message is answered in: ko or en (the fallback when neither is detected)."""
    return _answered_in(detect(text, default=fallback), fallback)


def _answered_in(detected: str | None, fallback: str) -> str:
    language = normalise(detected)
    return language if language in ("ko", "en") else fallback


async def _message_language(text: str, fallback: str) -> str:
    """message_language, on a thread only when the statistical model must decide (Hangul, no
    letters or a short ASCII word are decided at once: no thread round trip)."""
    detected = detect_at_once(text, fallback)
    if detected is NEEDS_MODEL:
        return await asyncio.to_thread(message_language, text, fallback)
    return _answered_in(detected, fallback)


async def read_message(
    session: AsyncSession,
    kb,
    *,
    workspace_id: int,
    text: str,
    conversation_language: str | None,
    state: BotConversation | None,
) -> Reading:
    text = text.strip()
    language = await _message_language(text, conversation_language or "ko")
    reading = Reading(language=language, text=text)
    previous = (state.last_question or "").strip() if state is not None else ""
    after_answer = state is not None and state.state == BotState.awaiting_feedback
    if after_answer:
        reading.feedback = rules.feedback(text)
    queries = []
    if reading.feedback is False and rules.beyond_feedback(text) >= NEW_PROBLEM_CHARS:
        # "로그인이 안돼요 비밀번호 틀렸대요" after an answer: a new problem, not only a verdict —
        # when the message alone is answered with another article, it is read as a question.
        own = await kb.search(session, workspace_id, text, language)
        if (
            own.decision == "answer"
            and own.candidates
            and own.candidates[0].article_id != state.answered_article_id
        ):
            reading.feedback = None
            reading.searches[text] = own
            return reading
    if reading.feedback is False and previous:
        queries.append(previous)  # the next candidate for the same question
    elif reading.feedback is None and not rules.wants_human(text) and not rules.small_talk(text):
        queries.append(text)
        if (
            previous
            and state.state in (BotState.awaiting_feedback, BotState.resolved)
            and rules.is_follow_up(text)
        ):
            reading.follow_up_query = f"{previous} {text}"
            queries.append(reading.follow_up_query)
    for query in queries:
        reading.searches[query] = await kb.search(session, workspace_id, query, language)
    return reading

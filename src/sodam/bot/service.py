"""The bot's decisions for one customer message.

Runs as a job after the customer's message is committed (never on the message
path). It answers only from the knowledge base; when unsure, asked for a person,
or told an answer did not help, it hands the conversation to the human queue with
the transcript, the detected language and intent attached.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.bot import dialogue, handoff, reads, reply_jobs, rules
from sodam.bot import state as state_records
from sodam.bot.models import BotConversation, BotOutcome, BotState
from sodam.bot.replier import BotReplier as BotReplier
from sodam.campaigns import announcements
from sodam.channels import hours
from sodam.channels import service as inboxes
from sodam.channels.models import Inbox
from sodam.conversations.message_path import inbox_hints
from sodam.conversations.models import Conversation, Message, SenderType, Status
from sodam.core.i18n import gettext
from sodam.db.pipeline import commit_in_one_round_trip
from sodam.jobs.app import defer_job_sql

DEFAULT_ASSUME_AFTER_S = 30 * 60


@dataclass
class Candidate:
    article_id: int
    title: str
    url: str
    snippet: str
    clear: bool = False  # the search would answer with this article on its own


MAX_ANSWERS_PER_QUESTION = 2


@dataclass
class KbAnswer:
    """What the knowledge base says about a question: the bot's only source of answers."""

    decision: str  # "answer" | "choices" | "handoff"
    candidates: list[Candidate] = field(default_factory=list)
    intent: str | None = None
    intent_names: dict[str, str] = field(default_factory=dict)  # the intent's category names by locale


class KnowledgeSource(Protocol):
    """Where answers come from (the knowledge base's search, the same one the help center uses)."""

    async def search(
        self, session: AsyncSession, workspace_id: int, text: str, language: str
    ) -> KbAnswer: ...

    async def candidate(
        self, session: AsyncSession, workspace_id: int, article_id: int, language: str
    ) -> Candidate | None: ...

    async def feedback(
        self, session: AsyncSession, workspace_id: int, article_id: int, helpful: bool
    ) -> None:
        """The customer's yes / no to "도움이 되었나요?" about an article (feeds the ranking)."""


def bot_settings(inbox: Inbox) -> dict[str, Any]:
    settings = inbox.settings or {}
    return {
        "enabled": bool(settings.get("bot_enabled")),
        "lead_capture": settings.get("lead_capture", "outside_hours"),  # off | always | outside_hours
        "business_hours": settings.get("business_hours") or hours.DEFAULT_HOURS,
        "assume_after_s": int(settings.get("bot_assume_resolved_after_s", DEFAULT_ASSUME_AFTER_S)),
    }


def _for_bot(settings: dict[str, Any], conversation: Conversation | None) -> bool:
    return (
        settings["enabled"]
        and conversation is not None
        and conversation.assignee_id is None
        and conversation.bot_handling
    )


def _quiet(state: BotConversation | None, conversation: Conversation) -> bool:
    if state is None:
        return False
    return state.state == BotState.handed_off or (
        conversation.status == Status.resolved and bool(state.outcome)
    )


async def handle_customer_message(
    session: AsyncSession,
    *,
    message_id: int,
    kb: KnowledgeSource,
    now: datetime | None = None,
) -> str:
    """Decide and send the bot's reply to one customer message; returns what it did.

    Reads, detects the language and searches first (dialogue.read_message), and only then
    locks the conversation row to write: a visitor's next message never waits on a search.
    """
    now = now or datetime.now(UTC)
    # Reply jobs are coalesced (none is deferred while one of the conversation's waits): the
    # job answers the latest question, which may be newer than the message that deferred it.
    # A bot reply after that question stays there: no search and no lock for a job that has
    # nothing left to do (checked again under the lock before writing).
    # One statement: the message to answer, with its conversation, inbox and the bot's record.
    read_at = datetime.now(UTC)  # the announcements' clock (the wall clock: `now` may be set by a caller)
    message, answered, conversation, inbox, state = await reads.read(session, message_id, read_at)
    if message is None or message.sender_type != SenderType.contact:
        return "ignored"
    if (message.payload or {}).get("no_reply"):
        return "no_reply"  # sent by a machine (an auto-reply, a bounce, a list): never answered
    if (message.payload or {}).get("status_request"):
        return "status_request"  # "진행 상황?": routing's status reply answers it
    if not answered:
        _start_search(kb, message)
    if inbox is None:
        inbox = await inboxes.get(session, workspace_id=message.workspace_id, inbox_id=message.inbox_id)
    settings = bot_settings(inbox)
    if not _for_bot(settings, conversation):
        return "not_for_bot"
    if answered:
        return "already_handled"
    if _quiet(state, conversation):
        return "quiet"
    # Read while the query's encoding runs (started above), not after the search; only when the
    # first read saw one (most of the time there is none: no statement).
    live = (
        await announcements.active(session, conversation.workspace_id, now=read_at)
        if message.announcing
        else []
    )
    reading = await dialogue.read_message(
        session,
        kb,
        workspace_id=conversation.workspace_id,
        text=message.content,
        conversation_language=conversation.language,
        state=state,
    )
    # The inbox's channel hints the bot's messages are stored with (read once per process):
    # read here, not by the first message under the lock.
    await inbox_hints(session, conversation.inbox_id)
    # A handoff's reads (contact, queue place, wait promise) before the lock too, when the message
    # may lead to one: under the lock only its writes. Not for a run a newer message supersedes (it
    # ends so under the lock): while a visitor types line after line, most runs do.
    may_hand_off = _may_hand_off(state, reading)
    newer_seen = may_hand_off and await reply_jobs.newer_message_stored(session, conversation.id, message.seq)
    ready = (
        await handoff.prepare(session, state, conversation, inbox, settings, now, reading)
        if may_hand_off and not newer_seen
        else None
    )

    # Lock only to write, and check again what may have changed meanwhile. NO KEY UPDATE, as
    # the message function takes it: it orders the conversation's writers without holding up
    # the key checks of rows that only refer to it (sentiment, events).
    conversation = await session.scalar(reads.LOCK_CONVERSATION, {"conversation_id": message.conversation_id})
    if not _for_bot(settings, conversation):
        return "not_for_bot"
    # Jobs can run twice (a retry, a second worker): under the conversation's row lock,
    # a bot reply after this message means it was already answered. "진행 상황?" after a
    # question does not replace it; a newer question does.
    if conversation.last_seq == message.seq:
        # Nothing stored after the message (the row's counter, read under its lock): no reply
        # to it, no newer question, and no record made since the read (a decision that makes
        # one stores a message with it). No statement: most decisions, unless the customer
        # is still typing.
        answered, newer, recorded = False, message.seq, state is not None
    else:
        # One statement, which also keeps a reply job waiting for a newer message when this
        # run ends "superseded" below (reply_jobs.check_under_lock).
        # A newer message seen before the lock ends this run whatever the check says (it is
        # still there: messages are not taken back), so the check goes with the COMMIT.
        answered, newer, recorded = await reply_jobs.check_under_lock(
            session,
            conversation,
            message.seq,
            may_defer=not (state is not None and _quiet(state, conversation)),
            then_commit=newer_seen,
        )
        recorded = recorded or state is not None
    if answered:
        return "already_handled"
    if state is not None and _quiet(state, conversation):
        return "quiet"
    if (newer is not None and newer > message.seq) or newer_seen:
        # A later message gets the reply (answer the latest only); its job waits (deferred
        # above when it had none). The bot's record is left as it is (a new one is made by
        # the run that answers). (With newer_seen the check committed: nothing may follow.)
        return "superseded"
    state = await state_records.for_update(session, conversation, reading.language, state, recorded=recorded)
    if _quiet(state, conversation):
        return "quiet"
    if state.state == BotState.collecting_lead and state.language:
        # A name, an e-mail or a phone number says nothing about the language: the questions
        # stay in the language the conversation had.
        reading.language = state.language
    if conversation.language is None:
        conversation.language = reading.language
    state.language = reading.language
    bot = BotReplier(session, conversation, reading.language)
    await _announce(session, bot, conversation, live)
    return await _decide(session, kb, bot, state, conversation, inbox, settings, reading, now, ready)


def _may_hand_off(state: BotConversation | None, reading) -> bool:
    """Whether _decide may hand the conversation off for this message, judged from the state
    read before the lock (a wrong guess costs a few reads, or reads under the lock)."""
    text = reading.text
    current = state.state if state is not None else None
    if current == BotState.collecting_lead:
        return len(state.lead_pending or []) <= 1  # the last answer of the lead form
    if reading.feedback is False or rules.wants_human(text):
        return True
    if current == BotState.offering_choices and _is_none_of_these(text):
        return True
    if rules.small_talk(text):
        return False
    answer = reading.searches.get(text)
    return answer is None or not answer.candidates or answer.decision not in ("answer", "choices")


# The decision's statements are built once with bind parameters (as reply_jobs' are): built per
# call, each cost about as much CPU as running it.
# The assumed-resolution job, after the answer's messages in the same round trip: the question's
# seq is the conversation's last (the row is held), read by the statement; with the
# conversation's language when the answer set it (state.take_language).
_AFTER_THE_ANSWER = defer_job_sql(
    "CAST(:args AS jsonb) || jsonb_build_object('after_seq',"
    " (SELECT last_seq FROM conversations WHERE id = :conversation_id))"
)
_DEFER_AFTER_ANSWER = text(_AFTER_THE_ANSWER)
_DEFER_AFTER_ANSWER_WITH_LANGUAGE = text(
    "WITH lang AS (UPDATE conversations SET language = CAST(:language AS varchar(8))"
    " WHERE id = :conversation_id) " + _AFTER_THE_ANSWER
)


def _start_search(kb: KnowledgeSource, message) -> None:
    """Start the search's CPU work for the message (the query's encoding, the largest part of
    a decision) in a thread now, while the decision still reads the database; the search
    picks it up. Not for a message that will not be searched as it is (a feedback, a request
    for a person, small talk). `message`: the row reads.read gives (workspace_id, content)."""
    start = getattr(kb, "start_search", None)
    text = (message.content or "").strip()
    if start is None or not text:
        return
    if rules.feedback(text) is not None or rules.wants_human(text) or rules.small_talk(text):
        return
    asyncio.get_running_loop().run_in_executor(None, start, message.workspace_id, text)


async def _announce(session: AsyncSession, bot: BotReplier, conversation: Conversation, live) -> None:
    """Active incident announcements (`live`: read before the search) first, once per
    conversation, then the answer."""
    if not live:
        return
    told = set(
        await session.scalars(
            select(Message.payload["announcement"].as_integer()).where(
                Message.conversation_id == conversation.id,
                Message.sender_type == SenderType.bot,
                Message.payload.has_key("announcement"),
            )
        )
    )
    for a in live:
        if a.id not in told:
            await bot.say(
                announcements.text_of(a, bot.language), {"announcement": a.id, "severity": a.severity}
            )


async def _decide(session, kb, bot, state, conversation, inbox, settings, reading, now, ready=None) -> str:
    text = reading.text
    language = reading.language
    if state.state == BotState.collecting_lead:
        return await handoff.collect_lead(
            session, bot, state, conversation, inbox, settings, text, now, ready
        )

    if state.state == BotState.awaiting_feedback:
        if reading.feedback is True:
            state.state = BotState.resolved
            _set_outcome(state, BotOutcome.confirmed, now)
            await _feedback(session, kb, state, helpful=True)
            await bot.say(bot.t("bot.confirmed"))
            return "confirmed"
        if reading.feedback is False:
            await _feedback(session, kb, state, helpful=False)
            tried = [*(state.tried_article_ids or []), state.answered_article_id]
            again = reading.searches.get((state.last_question or "").strip())
            following = _next_clear(again, tried)
            if following is not None:
                return await _answer(bot, state, following, settings, now, same_question=True)
            return await handoff.hand_off(
                session, bot, state, conversation, inbox, settings, "not_helpful", now, ready
            )

    if state.state == BotState.offering_choices:
        picked = await _picked_choice(session, kb, state, conversation.workspace_id, text, language)
        if picked is not None:
            return await _answer(bot, state, picked, settings, now)
        if _is_none_of_these(text):
            return await handoff.hand_off(
                session, bot, state, conversation, inbox, settings, "not_helpful", now, ready
            )

    if rules.wants_human(text):
        state.intent = state.intent or "human_request"
        if not state.last_question:
            state.last_question = text[:2000]
        return await handoff.hand_off(
            session, bot, state, conversation, inbox, settings, "asked_for_human", now, ready
        )

    kind = rules.small_talk(text)
    if kind == "greeting":
        await bot.say(bot.t("bot.greeting"))
        return "greeting"
    if kind == "thanks":
        # "도움이 되었다니 기쁩니다" only after an answer of ours; a thanks before any is politeness.
        helped = state.answered_article_id is not None
        await bot.say(bot.t("bot.thanks" if helped else "bot.you_are_welcome"))
        if state.state == BotState.awaiting_feedback:
            state.state = BotState.resolved
            _set_outcome(state, BotOutcome.confirmed, now)
            await _feedback(session, kb, state, helpful=True)
        return "thanks"
    if reading.feedback is False:
        # "그건 도움이 안 됐어요" with no answer of ours before it: not a question to search.
        return await handoff.hand_off(
            session, bot, state, conversation, inbox, settings, "not_helpful", now, ready
        )

    question, answer = text, reading.searches.get(text)
    if reading.follow_up_query:
        combined = reading.searches.get(reading.follow_up_query)
        if (
            combined is not None
            and combined.decision == "answer"
            and (answer is None or answer.decision != "answer")
        ):
            question, answer = reading.follow_up_query, combined
    if answer is None:
        answer = await kb.search(session, conversation.workspace_id, text, language)
    state.last_question = question[:2000]
    state.tried_article_ids = []
    if answer.intent:
        state.intent = answer.intent
    if answer.decision == "answer" and answer.candidates:
        return await _answer(bot, state, answer.candidates[0], settings, now)
    if answer.decision == "choices" and answer.candidates:
        top = answer.candidates[:3]
        state.state = BotState.offering_choices
        state.offered_article_ids = [c.article_id for c in top]
        await bot.say(
            bot.t("bot.choices"),
            payload={
                "quick_replies": [
                    {"label": c.title, "reply": c.title, "article_id": c.article_id, "url": c.url}
                    for c in top
                ]
                + [{"label": bot.t("bot.none_of_these"), "reply": bot.t("bot.none_of_these")}],
            },
        )
        return "choices"
    return await handoff.hand_off(
        session, bot, state, conversation, inbox, settings, "low_confidence", now, ready
    )


def _next_clear(answer: KbAnswer | None, tried: list[int | None]) -> Candidate | None:
    """The best candidate for the same question not tried yet, if the search is sure of it."""
    if answer is None or len([t for t in tried if t]) >= MAX_ANSWERS_PER_QUESTION:
        return None
    for candidate in answer.candidates:
        if candidate.article_id not in tried:
            return candidate if candidate.clear else None
    return None


async def _picked_choice(session, kb, state: BotConversation, workspace_id: int, text: str, language: str):
    """The offered article the customer picked: by quick-reply title or by number."""
    offered = list(state.offered_article_ids or [])
    chosen = None
    if text.isdigit() and 1 <= int(text) <= len(offered):
        chosen = offered[int(text) - 1]
    for article_id in offered:
        if chosen is not None:
            break
        candidate = await kb.candidate(session, workspace_id, article_id, language)
        if candidate is not None and candidate.title.strip() == text:
            return candidate
    if chosen is None:
        return None
    return await kb.candidate(session, workspace_id, chosen, language)


def _is_none_of_these(text: str) -> bool:
    return text.strip() in {gettext("ko", "bot.none_of_these"), gettext("en", "bot.none_of_these")}


async def _feedback(
    session: AsyncSession, kb: KnowledgeSource, state: BotConversation, *, helpful: bool
) -> None:
    # Called only on leaving awaiting_feedback, so one answer counts at most once.
    if state.answered_article_id is not None:
        await kb.feedback(session, state.workspace_id, state.answered_article_id, helpful)


def _set_outcome(state: BotConversation, outcome: BotOutcome, now: datetime) -> None:
    # Strict counting: a confirmed or handed-off outcome is final; "assumed" may
    # still turn into a handoff if the customer comes back unhappy.
    if state.outcome in (BotOutcome.confirmed, BotOutcome.handed_off):
        return
    state.outcome = outcome
    state.outcome_at = now


async def _answer(
    bot: BotReplier,
    state: BotConversation,
    candidate: Candidate,
    settings,
    now: datetime,
    *,
    same_question: bool = False,
) -> str:
    from sodam.jobs.app import defer_statement

    # The conversation's language when this answer is its first: written with the job below,
    # after the messages (one round trip less under the row lock).
    language_set, language = state_records.take_language(bot.conversation)
    if same_question and state.answered_article_id:
        state.tried_article_ids = [*(state.tried_article_ids or []), state.answered_article_id]
    state.state = BotState.awaiting_feedback
    state.answered_article_id = candidate.article_id
    state.offered_article_ids = []
    state.answers += 1
    # The card under the message carries the article's title and link: name it once.
    lead = bot.t("bot.answer_next") + "\n\n" if same_question else ""
    messages = (
        (
            lead + (candidate.snippet or candidate.title),  # an article with no body: its title
            {"article": {"id": candidate.article_id, "title": candidate.title, "url": candidate.url}},
        ),
        (
            bot.t("bot.helpful_question"),
            {
                "quick_replies": [
                    {"label": bot.t("bot.yes_helpful"), "reply": bot.t("bot.yes_helpful"), "value": "yes"},
                    {"label": bot.t("bot.no_helpful"), "reply": bot.t("bot.no_helpful"), "value": "no"},
                ]
            },
        ),
    )
    conversation_id = bot.conversation.id
    # The bot's record, the two messages and the job go with the COMMIT in one round trip: the
    # row is held one round trip after the lock (db.pipeline).
    with bot.session.no_autoflush:
        posted = await bot.statement_for(*messages)
        record = state_records.write_statement(bot.session, state)
        deferred = defer_statement(
            "bot.assume_resolved",
            {"conversation_id": conversation_id},
            # The window runs on the wall clock: `now` may be a business-hours clock set by a caller.
            scheduled_at=datetime.now(UTC) + timedelta(seconds=settings["assume_after_s"]),
            statement=_DEFER_AFTER_ANSWER_WITH_LANGUAGE if language_set else _DEFER_AFTER_ANSWER,
            params={"conversation_id": conversation_id, **({"language": language} if language_set else {})},
        )
    _, stored, _ = await commit_in_one_round_trip(bot.session, [record, posted, deferred])
    bot.stored(stored)
    return "answered"


async def assume_resolved(session: AsyncSession, *, conversation_id: int, after_seq: int) -> bool:
    """No customer message since the bot's answer within the window: count an assumed resolution."""
    state = await session.scalar(
        select(BotConversation).where(BotConversation.conversation_id == conversation_id).with_for_update()
    )
    if state is None or state.state != BotState.awaiting_feedback:
        return False
    replied = await session.scalar(
        select(func.count()).where(
            Message.conversation_id == conversation_id,
            Message.sender_type == SenderType.contact,
            Message.seq > after_seq,
        )
    )
    if replied:
        return False
    state.state = BotState.resolved
    _set_outcome(state, BotOutcome.assumed, datetime.now(UTC))
    return True

"""The bot hands a conversation to people: the lead form first when the inbox asks for one
(name, e-mail, phone, in the customer's language), then the handoff itself — the human queue's
clock starts, the customer hears the promised wait (the one figure the widget header and the
waiting bar show), the agents get a note quoting the customer's question, and the conversation
is tagged as the bot's doing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from sodam.bot import rules
from sodam.bot import state as state_records
from sodam.bot.models import BotConversation, BotOutcome, BotState
from sodam.channels import hours
from sodam.channels.promise import WaitPromise, wait_promise, when_text
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations import tags as conversation_tags
from sodam.conversations.models import MessageKind
from sodam.core.i18n import gettext, normalise
from sodam.db.pipeline import commit_in_one_round_trip
from sodam.jobs.app import defer_in_tx
from sodam.knowledge import categories as kb_categories
from sodam.knowledge.models import KbArticle

if TYPE_CHECKING:
    from sodam.bot.replier import BotReplier

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9\-\s()]{6,18}[0-9]$")
SKIP_WORDS = {"건너뛰기", "skip", "없음", "패스", "pass"}

LEAD_FIELDS = ("name", "email", "phone")


@dataclass
class Prepared:
    """What a handoff reads, read before the job locks the conversation row (prepare), so that
    under the lock there are only its writes: the customer's contact, the queue place the
    conversation takes when it joins the queue now, and the wait promised for that place."""

    contact: object
    position: int | None
    promise: WaitPromise | None  # None: not read (the lead form comes first), read under the lock if needed
    # The names of the intents the note may name ({"shipping": {"ko": "배송", "en": "Shipping"}}).
    intent_names: dict[str, dict[str, str]] | None = None


async def prepare(session, state, conversation, inbox, settings, now: datetime, reading=None) -> Prepared:
    """The handoff's reads (without any lock). The place is counted as if the conversation
    joined the queue now, so the text's figure is the one the widget header and the waiting
    bar show once it has; a conversation that joins the queue in between moves the figure
    by one at most."""
    contact = await contacts.get(
        session, workspace_id=conversation.workspace_id, contact_id=conversation.contact_id
    )
    names = await _intent_names(session, conversation.workspace_id, state, reading)
    collecting = state is not None and state.state == BotState.collecting_lead
    position = await conversations.position_if_queued_now(session, conversation)
    promise = await wait_promise(session, inbox, now, position)
    if not collecting and _missing_lead(contact, settings, now, staffed=promise.open_now):
        return Prepared(contact, None, None, names)  # the handoff asks for the lead first
    return Prepared(contact, position, promise, names)


def _is_category(intent: str | None) -> bool:
    return bool(intent) and intent != "human_request" and not intent.startswith("article:")


def _needs_name(intent: str | None) -> bool:
    return bool(intent) and intent != "human_request"


async def _intent_names(session, workspace_id: int, state, reading=None) -> dict[str, dict[str, str]]:
    """The category names of the intents a handoff note may name: the ones this message's
    searches found come with their answers (no statement); the one the conversation had
    before is read by its slug when no search brought it along."""
    names: dict[str, dict[str, str]] = {}
    for answer in (getattr(reading, "searches", None) or {}).values():
        if answer is not None and answer.intent and answer.intent_names:
            names[answer.intent] = answer.intent_names
    known = state.intent if state is not None else None
    if _is_category(known) and known not in names:
        category = await kb_categories.get_category_by_slug(session, workspace_id=workspace_id, slug=known)
        names[known] = dict(category.names or {}) if category is not None else {}  # {}: the slug
    elif known and known.startswith("article:") and known not in names:
        # An article outside any category: the team reads its title, not "article:6".
        article_id = known.partition(":")[2]
        title = (
            await session.scalar(
                select(KbArticle.title).where(
                    KbArticle.workspace_id == workspace_id, KbArticle.id == int(article_id)
                )
            )
            if article_id.isdigit()
            else None
        )
        names[known] = {"*": title} if title else {}
    return names


def intent_label(locale: str, intent: str | None, names: dict[str, dict[str, str]]) -> str:
    """The intent as the team reads it: the category's name in `locale` (else any name, else
    the slug), an uncategorised article's title; a request for a person in words."""
    if not intent:
        return "-"
    if intent == "human_request":
        return gettext(locale, "bot.intent_human_request")
    named = names.get(intent) or {}
    label = named.get(locale) or next((v for v in named.values() if v), None)
    return label or ("-" if intent.startswith("article:") else intent)


def language_label(locale: str, language: str | None) -> str:
    """The customer's language in words in the team's language ("영어", not "en")."""
    if language in ("ko", "en"):
        return gettext(locale, f"console.lang.{language}")
    return language or "-"


def _missing_lead(contact, settings, now: datetime, staffed: bool = False) -> list[str]:
    """The contact details to ask for first. "Outside hours" is when nobody will answer soon: an
    inbox without its own hours that has agents online now promises their wait (see
    channels.promise), so asking for an e-mail "so that we can get back to you" would contradict
    the "보통 1분 안에" said right after."""
    open_now = staffed or hours.is_open(settings["business_hours"], now)
    wants_lead = settings["lead_capture"] == "always" or (
        settings["lead_capture"] == "outside_hours" and not open_now
    )
    return [f for f in LEAD_FIELDS if not getattr(contact, f)] if wants_lead else []


# Longer than any name a person gives ("Maria del Carmen Fernández de la Cruz" is 36): a reply
# this long, or on several lines, is the problem told again, not a name (a 5,000-character
# message was stored as the contact's name and led the handoff: "배송 가가가…님, …").
MAX_NAME_CHARS = 60
# A lead form left unanswered this long goes to people with what it has (bot.lead_wait).
LEAD_WAIT_TASK = "bot.finish_abandoned_lead"
LEAD_WAIT_S = 10 * 60


async def schedule_lead_wait(session, conversation_id: int, *, after_s: float = LEAD_WAIT_S) -> None:
    """In the caller's transaction. No procrastinate lock: a job waiting for its time with the
    conversation's lock would hold up the bot's replies; it takes the row lock when it runs."""
    await defer_in_tx(
        session,
        LEAD_WAIT_TASK,
        {"conversation_id": conversation_id},
        queue="bot",
        scheduled_at=datetime.now(UTC) + timedelta(seconds=after_s),
    )


def not_a_name(text: str) -> bool:
    """A reply to "성함을 알려 주시겠어요?" that is plainly something else: feedback on the
    bot ("그건 도움이 안 됐어요", "no"), a request for a person, a question, or a message
    longer than a name (MAX_NAME_CHARS) or on more than one line."""
    text = text.strip()
    return (
        len(text) > MAX_NAME_CHARS
        or "\n" in text
        or rules.is_verdict(text)
        or rules.wants_human(text)
        or text.endswith("?")
    )


async def _contact(session, conversation, ready: Prepared | None):
    if ready is not None:
        return ready.contact
    return await contacts.get(
        session, workspace_id=conversation.workspace_id, contact_id=conversation.contact_id
    )


async def hand_off(
    session,
    bot: BotReplier,
    state,
    conversation,
    inbox,
    settings,
    reason: str,
    now: datetime,
    ready: Prepared | None = None,
) -> str:
    state.handoff_reason = reason
    contact = await _contact(session, conversation, ready)
    staffed = bool(ready and ready.promise and ready.promise.open_now)
    missing = _missing_lead(contact, settings, now, staffed=staffed)
    if missing and state.state != BotState.collecting_lead:
        state.state = BotState.collecting_lead
        state.lead_pending = missing
        await bot.say(
            bot.t("bot.lead_intro") + " " + bot.t(f"bot.ask_{missing[0]}"), payload={"lead": missing[0]}
        )
        await schedule_lead_wait(session, conversation.id)
        return "collecting_lead"
    return await complete_handoff(session, bot, state, conversation, inbox, contact, now, ready)


async def collect_lead(
    session,
    bot: BotReplier,
    state,
    conversation,
    inbox,
    settings,
    text: str,
    now,
    ready: Prepared | None = None,
) -> str:
    contact = await _contact(session, conversation, ready)
    pending = list(state.lead_pending or [])
    if not pending:
        return await complete_handoff(session, bot, state, conversation, inbox, contact, now, ready)
    current = pending[0]
    value = text.strip()
    skipped = value.lower() in SKIP_WORDS
    if not skipped:
        if current == "name" and not_a_name(value):
            await bot.say(bot.t("bot.invalid_name"), payload={"lead": current})
            return "lead_invalid"
        if current == "email" and not EMAIL_RE.match(value):
            await bot.say(bot.t("bot.invalid_email"), payload={"lead": current})
            return "lead_invalid"
        if current == "phone" and not PHONE_RE.match(value):
            await bot.say(bot.t("bot.invalid_phone"), payload={"lead": current})
            return "lead_invalid"
        await contacts.apply_claims(
            session, workspace_id=conversation.workspace_id, contact_id=contact.id, **{current: value[:200]}
        )
        state.lead = {**(state.lead or {}), current: value[:200]}
    pending = pending[1:]
    state.lead_pending = pending
    if pending:
        await bot.say(bot.t(f"bot.ask_{pending[0]}"), payload={"lead": pending[0]})
        return "lead_next"
    return await complete_handoff(session, bot, state, conversation, inbox, contact, now, ready)


async def complete_handoff(
    session, bot: BotReplier, state, conversation, inbox, contact, now, ready: Prepared | None = None
) -> str:
    """The handoff's writes. With `ready` (read before the row lock) nothing is read here, and
    the row is held for three round trips: the bot's record (flushed with the messages), the
    messages, and one statement for the rest (conversations.queue_for_people)."""
    state.state = BotState.handed_off
    state.lead_pending = []
    _set_outcome_handoff(state, now)
    # The human queue starts now: the first-reply clock, queue place and SLA count from here.
    # Written by the last statement below with the language the decision set (no flush writes
    # them: the conversation's own UPDATE, under the row lock, was one round trip more).
    queued_at = datetime.now(UTC)
    _, language = state_records.take_language(conversation)
    if ready is not None and ready.promise is not None:
        position, promise = ready.position, ready.promise
    else:
        # The queue place counts this conversation: in the queue before it is read.
        conversation.bot_handling = False
        conversation.queued_at = queued_at
        await session.flush()
        position = await conversations.queue_position(
            session, inbox_id=inbox.id, conversation_id=conversation.id
        )
        promise = await wait_promise(session, inbox, now, position)
    summary = {
        "reason": state.handoff_reason,
        "language": state.language,
        "intent": state.intent,
        "question": state.last_question,
        "answered_article_id": state.answered_article_id,
        "lead": state.lead or {},
    }
    # The note is for the team: in the workspace's language (read with the conversation, no
    # statement), whatever language the customer wrote in (that is stated inside the note).
    workspace = session.info.get("bot_workspace")
    note_lang = normalise(getattr(workspace, "default_locale", None) or state.language)
    # The intent's name was read before the lock (with the searches, or by prepare); only a
    # handoff nobody prepared for reads it here, as it reads the queue place.
    names = ready.intent_names if ready is not None and ready.intent_names is not None else None
    if names is None or (_needs_name(state.intent) and state.intent not in names):
        names = {**(names or {}), **await _intent_names(session, conversation.workspace_id, state)}
    note = gettext(
        note_lang,
        "bot.handoff_note",
        reason=gettext(note_lang, f"bot.reason_{state.handoff_reason or 'low_confidence'}"),
        language=language_label(note_lang, state.language),
        intent=intent_label(note_lang, state.intent, names),
        question=(state.last_question or "-")[:300],
    )
    messages = [
        (
            handoff_text(bot, state, (contact.name or "").strip(), promise, now, position),
            {"handoff": True},
            MessageKind.bot,
        ),
        (note, {"handoff": summary}, MessageKind.note),
    ]
    queue = {
        "conversation": conversation,
        "queued_at": queued_at,
        "language": language,
        "event_type": "bot.handed_off",
        "event_data": summary,
        "tags": ["bot-handoff"],
    }
    if ready is None or ready.promise is None:
        # The customer's message and the team's note in one statement; then the queue, the
        # language, the handoff's event and the "bot-handoff" tag (shown as the bot's: "봇이
        # 태그를 바꿨습니다") in one, after the messages.
        await bot.say_all(*messages)
        await conversations.queue_for_people(session, **queue)
        return "handed_off"
    # Prepared (nothing read under the lock): the bot's record, the messages, the queue's
    # statement and the COMMIT go to the server together — the row is held for one round trip
    # after the lock, not one per statement while this job waits for its event loop.
    with session.no_autoflush:
        posted = await bot.statement_for(*messages)
        queued = conversation_tags.queue_statement(**queue)
        record = state_records.write_statement(session, state)
    _, stored, ((updated_at, tagged),) = await commit_in_one_round_trip(session, [record, posted, queued])
    bot.stored(stored)
    await conversation_tags.apply_queued(session, conversation, queued[1], updated_at, tagged)
    return "handed_off"


def _set_outcome_handoff(state: BotConversation, now: datetime) -> None:
    if state.outcome == BotOutcome.confirmed:
        return
    state.outcome = BotOutcome.handed_off
    state.outcome_at = now


def handoff_text(
    bot: BotReplier, state: BotConversation, name: str, promise: WaitPromise, now, position: int | None = None
) -> str:
    """Two sentences at most: what happens (with the customer's name when known), and when —
    the place in the queue and its expected wait when routing can estimate it."""
    reason = state.handoff_reason or "low_confidence"
    # With the name, a sentence of its own per reason: "Emily, sorry …", never "Emily, Sorry …".
    first = bot.t(f"bot.handoff_{reason}_named", name=name) if name else bot.t(f"bot.handoff_{reason}")
    if not promise.open_now and promise.opens_at is not None:
        when = bot.t("bot.eta_closed", when=when_text(promise.opens_at, now, bot.language))
    elif promise.minutes and position and position > 1:
        when = bot.t("bot.eta_queue", position=position, minutes=promise.minutes)
    elif promise.minutes:
        when = bot.t("bot.eta_open", minutes=promise.minutes)
    else:
        when = bot.t("bot.eta_soon")
    return f"{first} {when}"

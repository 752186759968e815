"""The bot's record of a conversation (`bot_conversations`): what it answered and offered, its
state in the dialogue, the lead it collected and the outcome (confirmed, assumed, handed off)."""

from __future__ import annotations

import enum
import json
from datetime import datetime

from sqlalchemy import bindparam, func, inspect, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from sodam.bot.models import BotConversation, BotState
from sodam.conversations.models import Conversation


async def get_state(
    session: AsyncSession, *, workspace_id: int, conversation_id: int
) -> BotConversation | None:
    """The bot's record of a conversation, if the bot took part."""
    return await session.scalar(
        select(BotConversation).where(
            BotConversation.workspace_id == workspace_id, BotConversation.conversation_id == conversation_id
        )
    )


def _fresh(conversation: Conversation, language: str) -> dict:
    """A new record's columns: listening, nothing offered, answered or collected yet."""
    return {
        "workspace_id": conversation.workspace_id,
        "conversation_id": conversation.id,
        "state": BotState.listening,
        "language": language,
        "offered_article_ids": [],
        "lead": {},
        "lead_pending": [],
        "answers": 0,
    }


_FRESH_COLUMNS = (
    "workspace_id",
    "conversation_id",
    "state",
    "language",
    "offered_article_ids",
    "lead",
    "lead_pending",
    "answers",
)
# Built once with bind parameters (each bot decision of a new conversation runs it).
_INSERT_FRESH = (
    pg_insert(BotConversation)
    .values({name: bindparam(name) for name in _FRESH_COLUMNS})
    .on_conflict_do_nothing(index_elements=[BotConversation.conversation_id])
    .returning(BotConversation)
)


async def for_update(
    session: AsyncSession,
    conversation: Conversation,
    language: str,
    known: BotConversation | None = None,
    *,
    recorded: bool | None = None,
) -> BotConversation:
    """The bot's record of the conversation, locked (created when there is none). `known`: what
    the job read before its search; when there was none, the record is inserted at once (one
    statement; a job that raced it to the insert finds it below).

    `recorded`: whether the record exists, read under the conversation's row lock (every record
    is created under that lock, here). A new one is then added to the session and written by
    its next flush with the decision's values: one INSERT where there were an INSERT and the
    UPDATE of the flush."""
    if known is None and recorded is False:
        # The columns the INSERT ... RETURNING gave (server defaults), as the decision reads them.
        state = BotConversation(**_fresh(conversation, language), tried_article_ids=[])
        session.add(state)
        return state
    if known is None and not recorded:
        state = await session.scalar(_INSERT_FRESH, _fresh(conversation, language))
        if state is not None:
            return state
    state = await session.scalar(
        select(BotConversation).where(BotConversation.conversation_id == conversation.id).with_for_update()
    )
    if state is None:
        state = BotConversation(**_fresh(conversation, language))
        session.add(state)
        await session.flush()
    return state


# The record as the decision left it, written with the conversation's other writes
# (db.pipeline): inserted, or its columns set when it is there (created under the row lock).
_RECORD_COLUMNS = (
    "workspace_id",
    "conversation_id",
    "state",
    "language",
    "intent",
    "last_question",
    "answered_article_id",
    "offered_article_ids",
    "lead",
    "lead_pending",
    "handoff_reason",
    "outcome",
    "outcome_at",
    "answers",
    "tried_article_ids",
)
_CASTS = {
    "state": "bot_state",
    "outcome": "bot_outcome",
    "offered_article_ids": "bigint[]",
    "tried_article_ids": "bigint[]",
    "lead_pending": "varchar(20)[]",
    "lead": "jsonb",
    "outcome_at": "timestamptz",
}
_WRITE_RECORD = text(
    "INSERT INTO bot_conversations ("
    + ", ".join(_RECORD_COLUMNS)
    + ") VALUES ("
    + ", ".join(f"CAST(:{c} AS {_CASTS[c]})" if c in _CASTS else f":{c}" for c in _RECORD_COLUMNS)
    + ") ON CONFLICT (conversation_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _RECORD_COLUMNS[2:])
    + ", updated_at = now()"
)


def write_statement(session: AsyncSession, state: BotConversation):
    """The statement that writes `state` as it is now, and its parameters; `state` leaves the
    session (nothing flushes it again: the statement is its write)."""
    params = {}
    for column in _RECORD_COLUMNS:
        value = getattr(state, column)
        if column == "lead":
            value = json.dumps(value or {})
        elif isinstance(value, enum.Enum):
            value = value.name
        elif column in ("offered_article_ids", "tried_article_ids", "lead_pending"):
            value = list(value or [])
        params[column] = value
    if params["answers"] is None:
        params["answers"] = 0
    if state in session:
        session.expunge(state)
    return _WRITE_RECORD, params


def take_language(conversation: Conversation) -> tuple[bool, str | None]:
    """(set, language): whether the decision set the conversation's language (its first
    message's), and the language. A language it set is taken out of the session's flushes: the
    caller writes it with a statement of its own after the messages (its own UPDATE before them
    was one more round trip under the row lock; updated_at is the messages' either way)."""
    language = conversation.language
    if not inspect(conversation).attrs.language.history.added:
        return False, language
    set_committed_value(conversation, "language", language)
    return True, language


async def outcome_counts(
    session: AsyncSession, *, workspace_id: int, since: datetime | None = None
) -> dict[str, int]:
    """Bot conversations per outcome (confirmed / assumed / handed_off / open)."""
    stmt = select(BotConversation.outcome, func.count()).where(BotConversation.workspace_id == workspace_id)
    if since is not None:
        stmt = stmt.where(BotConversation.created_at >= since)
    rows = (await session.execute(stmt.group_by(BotConversation.outcome))).all()
    counts = {"confirmed": 0, "assumed": 0, "handed_off": 0, "open": 0}
    for outcome, n in rows:
        counts[outcome.value if outcome else "open"] = n
    return counts

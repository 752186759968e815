"""The bot's reply job: which message a run answers, and keeping one job waiting per conversation.

The message function defers a reply job for a customer message only while none of the
conversation's is waiting (coalesced, migration 0043), so a job answers the conversation's
latest question when it runs, not necessarily the message that deferred it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, bindparam, exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from sodam.bot.models import BotConversation
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType
from sodam.jobs.app import defer_in_tx

# Registered in bot.tasks; a conversation's jobs run one at a time, in order.
REPLY_TASK = "bot.on_customer_message"
REPLY_LOCK = "conversation-{conversation_id}"


def not_flagged(key: str, messages=Message):
    """Messages whose payload does not carry `key` (a NULL payload carries nothing)."""
    return func.coalesce(messages.payload.has_key(key), False).is_(False)


def _question_of(messages, conversation_id):
    """The conditions of latest_question on `messages` (an alias of Message)."""
    return (
        messages.conversation_id == conversation_id,
        messages.sender_type == SenderType.contact,
        messages.kind == MessageKind.text,
        not_flagged("status_request", messages),
    )


def _answered_after(messages, conversation_id, seq):
    """The conditions of answered_after on `messages` (an alias of Message)."""
    return (
        messages.conversation_id == conversation_id,
        messages.sender_type == SenderType.bot,
        messages.seq > seq,
        not_flagged("status_reply", messages),  # routing's answer to "진행 상황?" answers nothing here
    )


# The statements below are built once (bind parameters for the values): building them per job
# (aliases, JSONB operators) took several ms of the event loop each, more than running them.
_MESSAGE_ID = bindparam("message_id", type_=BigInteger)
_CONVERSATION_ID = bindparam("conversation_id", type_=BigInteger)
_SEQ = bindparam("seq", type_=Integer)


_LATEST_QUESTION = (
    select(Message).where(*_question_of(Message, _CONVERSATION_ID)).order_by(Message.seq.desc()).limit(1)
)
_ANSWERED_AFTER = select(exists().where(*_answered_after(Message, _CONVERSATION_ID, _SEQ)))
_NEWER_MESSAGE = select(
    exists().where(
        Message.conversation_id == _CONVERSATION_ID,
        Message.sender_type == SenderType.contact,
        Message.seq > _SEQ,
        not_flagged("status_request"),
    )
)
_ANSWERED_AND_NEWEST = select(
    exists().where(*_answered_after(Message, _CONVERSATION_ID, _SEQ)),
    select(func.max(Message.seq))
    .where(
        Message.conversation_id == _CONVERSATION_ID,
        Message.sender_type == SenderType.contact,
        not_flagged("status_request"),
    )
    .scalar_subquery(),
)
# The same, and whether the bot has a record of the conversation (bot.state.for_update's `recorded`).
_ANSWERED_NEWEST_RECORDED = _ANSWERED_AND_NEWEST.add_columns(
    exists().where(BotConversation.conversation_id == _CONVERSATION_ID)
)


def answering(message_id: int, rows: list[tuple]) -> tuple[int | None, bool]:
    """Which of `rows` — (id, sender_type, seq, answered) of the job's message and of the latest
    question — a job answers (its index), and whether a bot reply after it is there already;
    (None, False) when the job's message is gone."""
    job = next((i for i, row in enumerate(rows) if row[0] == message_id), None)
    if job is None:
        return None, False
    chosen = job
    if rows[job][1] == SenderType.contact:
        # The latest question when it is newer than the job's message (a customer's).
        chosen = next((i for i, row in enumerate(rows) if row[2] > rows[job][2]), job)
    return chosen, bool(rows[chosen][3])


def to_answer_statement(*entities):
    """The job's message (bind parameter `message_id`) and the conversation's latest question
    (latest_question), each with `answered` (answered_after its seq), and `entities` beside."""
    job, later, bot = aliased(Message), aliased(Message), aliased(Message)
    conversation_of = select(job.conversation_id).where(job.id == _MESSAGE_ID).scalar_subquery()
    latest_id = (
        select(later.id)
        .where(*_question_of(later, conversation_of))
        .order_by(later.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    answered = exists().where(*_answered_after(bot, Message.conversation_id, Message.seq))
    return select(*entities, answered.label("answered")).where(
        or_(Message.id == _MESSAGE_ID, Message.id == latest_id)
    )


_MESSAGE_TO_ANSWER = to_answer_statement(Message)


async def message_to_answer(session: AsyncSession, message_id: int) -> tuple[Message | None, bool]:
    """What a reply job starts from, in one statement: the job's message, or the conversation's
    latest question (latest_question) when that is newer and the job's message is a customer's;
    and whether a bot reply after that one is there already (answered_after). (None, False) when
    the message is gone."""
    rows = (await session.execute(_MESSAGE_TO_ANSWER, {"message_id": message_id})).all()
    chosen, answered = answering(message_id, [(m.id, m.sender_type, m.seq, a) for m, a in rows])
    return (None, False) if chosen is None else (rows[chosen][0], answered)


async def latest_question(session: AsyncSession, conversation_id: int) -> Message | None:
    """The conversation's newest customer text message that the bot would answer ("진행 상황?"
    is routing's to answer)."""
    return await session.scalar(_LATEST_QUESTION, {"conversation_id": conversation_id})


async def answered_after(session: AsyncSession, conversation_id: int, seq: int) -> bool:
    return bool(await session.scalar(_ANSWERED_AFTER, {"conversation_id": conversation_id, "seq": seq}))


async def newer_message_stored(session: AsyncSession, conversation_id: int, seq: int) -> bool:
    """Without a lock: a customer message after `seq` that answered_and_newest would count as
    newer (not a "진행 상황?"). Messages are not taken back, so the run that sees one ends
    "superseded" under the lock too."""
    return bool(await session.scalar(_NEWER_MESSAGE, {"conversation_id": conversation_id, "seq": seq}))


async def answered_and_newest(
    session: AsyncSession, conversation_id: int, seq: int
) -> tuple[bool, int | None]:
    """Under the conversation's row lock (no message can be added meanwhile), in one statement:
    answered_after(seq), and the seq of the conversation's newest customer message that is not
    a "진행 상황?" (a newer one gets the reply)."""
    row = (
        await session.execute(_ANSWERED_AND_NEWEST, {"conversation_id": conversation_id, "seq": seq})
    ).one()
    return bool(row[0]), row[1]


async def answered_newest_recorded(
    session: AsyncSession, conversation_id: int, seq: int
) -> tuple[bool, int | None, bool]:
    """answered_and_newest, and whether the bot has a record of the conversation, in one
    statement (under the conversation's row lock: every record is created under it)."""
    row = (
        await session.execute(_ANSWERED_NEWEST_RECORDED, {"conversation_id": conversation_id, "seq": seq})
    ).one()
    return bool(row[0]), row[1], bool(row[2])


_REPLY_JOB_WAITING = text(
    "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE lock = :lock AND status = 'todo' AND task_name = :task)"
)


async def ensure_reply_job(session: AsyncSession, conversation: Conversation) -> None:
    """Under the conversation's row lock: a reply job for its latest question unless one is
    waiting (the message function's coalescing check, the same lock held)."""
    latest = await latest_question(session, conversation.id)
    if latest is None:
        return
    lock = REPLY_LOCK.format(conversation_id=conversation.id)
    waiting = await session.scalar(_REPLY_JOB_WAITING, {"lock": lock, "task": REPLY_TASK})
    if waiting:
        return
    args = {
        "event": "message.created",
        "workspace_id": conversation.workspace_id,
        "conversation_id": conversation.id,
        "inbox_id": conversation.inbox_id,
        "message_id": latest.id,
        "sender_type": SenderType.contact.value,
        "kind": MessageKind.text.value,
    }
    await defer_in_tx(session, REPLY_TASK, args, queue="bot", lock=lock)

"""The bot's reply job: which message a run answers, and keeping one job waiting per conversation.

The message function defers a reply job for a customer message only while none of the
conversation's is waiting (coalesced, migration 0043), so a job answers the conversation's
latest question when it runs, not necessarily the message that deferred it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Integer,
    bindparam,
    exists,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from sodam.conversations.models import Conversation, Message, MessageKind, SenderType
from sodam.db.pipeline import commit_in_one_round_trip

# Registered in bot.tasks; a conversation's jobs run one at a time, in order.
REPLY_TASK = "bot.on_customer_message"
REPLY_LOCK = "conversation-{conversation_id}"


def not_flagged(key: str, messages=Message):
    """Messages whose payload does not carry `key` (a NULL payload carries nothing)."""
    return func.coalesce(messages.payload.has_key(key), False).is_(False)


def _question_of(messages, conversation_id):
    """The conditions of the latest question on `messages` (an alias of Message): the
    conversation's customer text messages the bot would answer ("진행 상황?" is routing's)."""
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


_NEWER_MESSAGE = select(
    exists().where(
        Message.conversation_id == _CONVERSATION_ID,
        Message.sender_type == SenderType.contact,
        Message.seq > _SEQ,
        not_flagged("status_request"),
    )
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
    (_question_of), each with `answered` (answered_after its seq), and `entities` beside."""
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
    latest question (_question_of) when that is newer and the job's message is a customer's;
    and whether a bot reply after that one is there already (answered_after). (None, False) when
    the message is gone."""
    rows = (await session.execute(_MESSAGE_TO_ANSWER, {"message_id": message_id})).all()
    chosen, answered = answering(message_id, [(m.id, m.sender_type, m.seq, a) for m, a in rows])
    return (None, False) if chosen is None else (rows[chosen][0], answered)


async def newer_message_stored(session: AsyncSession, conversation_id: int, seq: int) -> bool:
    """Without a lock: a customer message after `seq` that answered_and_newest would count as
    newer (not a "진행 상황?"). Messages are not taken back, so the run that sees one ends
    "superseded" under the lock too."""
    return bool(await session.scalar(_NEWER_MESSAGE, {"conversation_id": conversation_id, "seq": seq}))


# Under the conversation's row lock (no message can be added meanwhile, and the message function
# checks for a waiting reply job under the same lock), in one statement: whether a bot reply
# after :seq is there (_answered_after), the seq of the newest customer message that is not a
# "진행 상황?", whether the bot has a record of the conversation, and — when a newer message
# supersedes :seq, nothing answered it and :may_defer — a reply job for the latest question
# (_question_of) unless one waits: it was stored after this run read the latest question, maybe
# while this job still waited, and then has no job of its own. The conditions are
# _answered_after's and _question_of's, written out.
_CHECK_UNDER_LOCK = text(
    """
WITH c AS (
    SELECT EXISTS (SELECT 1 FROM messages
                    WHERE conversation_id = :conversation_id AND sender_type = 'bot' AND seq > :seq
                      AND NOT coalesce(payload ? 'status_reply', false)) AS answered,
           (SELECT max(seq) FROM messages
             WHERE conversation_id = :conversation_id AND sender_type = 'contact'
               AND NOT coalesce(payload ? 'status_request', false)) AS newest,
           EXISTS (SELECT 1 FROM bot_conversations WHERE conversation_id = :conversation_id) AS recorded
), latest AS (
    SELECT id FROM messages
     WHERE conversation_id = :conversation_id AND sender_type = 'contact' AND kind = 'text'
       AND NOT coalesce(payload ? 'status_request', false)
     ORDER BY seq DESC LIMIT 1
)
SELECT c.answered, c.newest, c.recorded,
       (SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW('bot', :task, 0, :lock, NULL,
                 jsonb_build_object('event', 'message.created', 'workspace_id', :workspace_id,
                                    'conversation_id', :conversation_id, 'inbox_id', :inbox_id,
                                    'message_id', latest.id, 'sender_type', 'contact', 'kind', 'text'),
                 NULL)::procrastinate_job_to_defer_v1]))[1]
          FROM latest
         WHERE CAST(:may_defer AS boolean) AND NOT c.answered AND c.newest > :seq
           AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs
                            WHERE lock = :lock AND status = 'todo' AND task_name = :task)) AS deferred
  FROM c
"""
)


async def check_under_lock(
    session: AsyncSession, conversation: Conversation, seq: int, *, may_defer: bool, then_commit: bool = False
) -> tuple[bool, int | None, bool]:
    """(answered, newest, recorded) of _CHECK_UNDER_LOCK, which also defers the latest
    question's reply job when a newer message supersedes `seq` (and may_defer). `then_commit`:
    for a run that ends whatever the check says, the COMMIT goes with it in one round trip."""
    params = {
        "conversation_id": conversation.id,
        "workspace_id": conversation.workspace_id,
        "inbox_id": conversation.inbox_id,
        "seq": seq,
        "may_defer": may_defer,
        "task": REPLY_TASK,
        "lock": REPLY_LOCK.format(conversation_id=conversation.id),
    }
    if then_commit:
        ((answered, newest, recorded, _),) = (
            await commit_in_one_round_trip(session, [(_CHECK_UNDER_LOCK, params)])
        )[0]
        return bool(answered), newest, bool(recorded)
    row = (await session.execute(_CHECK_UNDER_LOCK, params)).one()
    return bool(row.answered), row.newest, bool(row.recorded)

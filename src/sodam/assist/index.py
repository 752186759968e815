"""The past agent replies: pairing a resolved conversation's agent answers with the customer
words they answered (a job writes them to `assist_replies`, never a request), and each
process's cached `ReplyIndex` per workspace, refreshed when the table changes."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.assist.engine import PastReply, ReplyIndex, locale_of
from sodam.assist.models import QUESTION_MAX, REPLY_MAX, AssistReply
from sodam.conversations.models import Conversation, Direction, Message, MessageKind, SenderType, Status
from sodam.nlp import encoders

log = logging.getLogger(__name__)
SIGNATURE_CHECK_S = 5.0
INLINE_ROWS = 2000  # more new rows than this are indexed in the background, not in the request
MIN_REPLY_CHARS = 6  # "네", "감사합니다" alone teach nothing
QUESTION_MESSAGES = 2  # the customer's last messages before the answer make its question
VECTOR_CHANNEL = "e5q"


@dataclass(frozen=True)
class Pair:
    reply_message_id: int
    agent_id: int | None
    question: str
    reply: str


@dataclass(frozen=True)
class Line:
    id: int
    sender: str  # contact | agent | bot | system
    kind: str  # text | note | system | bot
    direction: str
    content: str
    sender_id: int | None = None


def pairs_of(lines: list[Line]) -> list[Pair]:
    """Each agent answer (consecutive public agent messages) after customer words, with the
    customer's last messages before it. Notes, bot and system messages are skipped."""
    out: list[Pair] = []
    asked: list[str] = []
    answer: list[Line] = []

    def close() -> None:
        if answer and asked:
            reply = "\n".join(a.content.strip() for a in answer)[:REPLY_MAX]
            question = " ".join(asked[-QUESTION_MESSAGES:])[:QUESTION_MAX]
            if len(reply.strip()) >= MIN_REPLY_CHARS and question.strip():
                out.append(Pair(answer[0].id, answer[0].sender_id, question, reply))
            asked.clear()
        answer.clear()

    for line in lines:
        text = (line.content or "").strip()
        if not text:
            continue
        if line.sender == "contact" and line.kind == "text":
            if answer:
                close()
            asked.append(text)
        elif line.sender == "agent" and line.kind == "text" and line.direction == "outgoing":
            answer.append(line)
    close()
    return out


async def index_conversation(session: AsyncSession, *, conversation_id: int) -> int:
    """Store the answers of a resolved conversation (once each); returns how many were new.
    The questions' vectors are encoded in a thread. Job-only: never call it in a request."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.status != Status.resolved:
        return 0
    rows = (
        await session.execute(
            select(
                Message.id,
                Message.sender_type,
                Message.kind,
                Message.direction,
                Message.content,
                Message.sender_id,
            )
            .where(
                Message.conversation_id == conversation_id, Message.workspace_id == conversation.workspace_id
            )
            .order_by(Message.seq)
        )
    ).all()
    lines = [Line(r[0], r[1].value, r[2].value, r[3].value, r[4] or "", r[5]) for r in rows]
    pairs = pairs_of(lines)
    if not pairs:
        return 0
    known = set(
        await session.scalars(
            select(AssistReply.reply_message_id).where(
                AssistReply.reply_message_id.in_([p.reply_message_id for p in pairs])
            )
        )
    )
    pairs = [p for p in pairs if p.reply_message_id not in known]
    if not pairs:
        return 0
    vectors, model = await asyncio.to_thread(_encode, [p.question for p in pairs])
    values = [
        {
            "workspace_id": conversation.workspace_id,
            "conversation_id": conversation_id,
            "reply_message_id": p.reply_message_id,
            "agent_id": p.agent_id,
            "locale": conversation.language
            if conversation.language in ("ko", "en")
            else locale_of(p.question),
            "question": p.question,
            "reply": p.reply,
            "vector": None if vectors is None else [float(x) for x in vectors[i]],
            "model": model,
        }
        for i, p in enumerate(pairs)
    ]
    await session.execute(insert(AssistReply).values(values).on_conflict_do_nothing())
    return len(values)


def _encode(texts: list[str]) -> tuple[np.ndarray | None, str | None]:
    model = encoders.channel_model(VECTOR_CHANNEL) if VECTOR_CHANNEL in encoders.available_channels() else ""
    if not model:
        return None, None
    encoder = encoders.get_encoder(encoders.CHANNELS[VECTOR_CHANNEL][0])
    if encoder is None:
        return None, None
    return encoder.queries(texts), model


def query_vector(text: str) -> np.ndarray | None:
    """The customer question's vector on the channel the past questions were stored with (CPU)."""
    if VECTOR_CHANNEL not in encoders.available_channels():
        return None
    return encoders.query_vectors(text, [VECTOR_CHANNEL]).get(VECTOR_CHANNEL)


async def resolved_conversation_ids(session: AsyncSession, *, workspace_id: int) -> list[int]:
    """Resolved conversations of a workspace with an agent message (backfill)."""
    stmt = (
        select(Conversation.id)
        .where(
            Conversation.workspace_id == workspace_id,
            Conversation.status == Status.resolved,
            select(Message.id)
            .where(
                Message.conversation_id == Conversation.id,
                Message.sender_type == SenderType.agent,
                Message.kind == MessageKind.text,
                Message.direction == Direction.outgoing,
            )
            .exists(),
        )
        .order_by(Conversation.id)
    )
    return list(await session.scalars(stmt))


class ReplyRegistry:
    """Workspace id → its ReplyIndex in this process. The table only grows between rebuilds
    (rows are added by the job, removed with their conversation): every few seconds a search
    compares (count, max id); new ids are loaded and added, fewer rows rebuild aside."""

    def __init__(self) -> None:
        self._indexes: dict[int, ReplyIndex] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._building: dict[int, asyncio.Task] = {}

    def forget(self, workspace_id: int | None = None) -> None:
        if workspace_id is None:
            self._indexes.clear()
        else:
            self._indexes.pop(workspace_id, None)

    async def get(self, session: AsyncSession, workspace_id: int) -> ReplyIndex:
        """The workspace's index. Up to INLINE_ROWS new rows are added before answering (in a
        thread); a bigger build (a process's first use of a large workspace) runs in the
        background and the request answers with what is indexed so far (at first nothing)."""
        current = self._indexes.get(workspace_id)
        if current is not None and time.monotonic() - current.checked_at < SIGNATURE_CHECK_S:
            return current
        lock = self._locks.setdefault(workspace_id, asyncio.Lock())
        async with lock:
            current = self._indexes.get(workspace_id)
            if current is not None and time.monotonic() - current.checked_at < SIGNATURE_CHECK_S:
                return current
            if workspace_id in self._building:
                return current or ReplyIndex(workspace_id)
            count, max_id = (
                await session.execute(
                    select(func.count(), func.coalesce(func.max(AssistReply.id), 0)).where(
                        AssistReply.workspace_id == workspace_id
                    )
                )
            ).one()
            fresh = current is None or count < len(current)  # first use, or rows went away
            missing = count if fresh else count - len(current)
            if missing > INLINE_ROWS:
                self._building[workspace_id] = asyncio.create_task(self._build(workspace_id))
                return current or ReplyIndex(workspace_id)
            if fresh:
                current = ReplyIndex(workspace_id)  # built aside, swapped in below
            if max_id > current.max_id:
                rows = await _load(session, workspace_id, after_id=current.max_id)
                await asyncio.to_thread(current.add_many, rows)
            current.checked_at = time.monotonic()
            self._indexes[workspace_id] = current
            return current

    async def _build(self, workspace_id: int) -> None:
        from sodam.db.session import session_scope

        try:
            async with session_scope() as session:
                rows = await _load(session, workspace_id, after_id=0)
            built = ReplyIndex(workspace_id)
            await asyncio.to_thread(built.add_many, rows)
            built.checked_at = time.monotonic()
            self._indexes[workspace_id] = built
        except Exception:  # the next request's signature check tries again
            log.exception("assist: building the past-replies index of workspace %s failed", workspace_id)
        finally:
            self._building.pop(workspace_id, None)


async def _load(session: AsyncSession, workspace_id: int, *, after_id: int) -> list[PastReply]:
    result = await session.execute(
        select(
            AssistReply.id,
            AssistReply.locale,
            AssistReply.question,
            AssistReply.reply,
            AssistReply.conversation_id,
            AssistReply.vector,
        )
        .where(AssistReply.workspace_id == workspace_id, AssistReply.id > after_id)
        .order_by(AssistReply.id)
    )
    return [
        PastReply(r[0], r[1], r[2], r[3], r[4], None if r[5] is None else np.asarray(r[5], np.float32))
        for r in result.all()
    ]


registry = ReplyRegistry()

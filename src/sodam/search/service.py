"""Searching a workspace's conversations: messages and private notes, newest first.

Every term of the query must be in a message (AND); the filters are the conversation's
(status, inbox, team, assignee, tag, contact) and the message's time. Keyset pages by
(time, message id). The query is analysed, and the hits highlighted, in a worker thread;
before searching, messages not yet indexed are indexed (normally none or a few: the
periodic indexer keeps up), so what was just written is found.

The search index is this domain's; the conversation filters are read from the
conversations table in the same statement (a join is the only way to keep a filtered
search one index scan), and messages are loaded through the conversations service.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, cast, or_, select, text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Status
from sodam.core.errors import Invalid
from sodam.search import indexer
from sodam.search.models import MessageSearch
from sodam.search.terms import highlight_many, query_terms, tsquery_literal

MAX_QUERY_CHARS = 200
FRESHEN_LIMIT = 500


@dataclass(frozen=True)
class Filters:
    status: Status | None = None
    inbox_id: int | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    tag: str | None = None
    contact_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class Hit:
    message: Any
    conversation: Conversation
    snippet: str
    matches: int


def clean_query(raw: str | None) -> str:
    query = (raw or "").replace("\x00", "").strip()
    if not query:
        raise Invalid("type something to search for", code="empty_query")
    if len(query) > MAX_QUERY_CHARS:
        raise Invalid(
            f"the search text is longer than {MAX_QUERY_CHARS} characters",
            code="query_too_long",
            details={"max_chars": MAX_QUERY_CHARS},
        )
    return query


async def analyse(query: str) -> list[str]:
    """The query's terms (Kiwi in a worker thread); [] when it has none worth searching."""
    return await asyncio.to_thread(query_terms, query)


def statement(
    *, workspace_id: int, terms: list[str], filters: Filters, after: tuple[datetime, int] | None, limit: int
):
    """The one SELECT of a search: (message id, time) of the hits, newest first."""
    stmt = (
        select(MessageSearch.message_id, MessageSearch.created_at)
        .join(Conversation, Conversation.id == MessageSearch.conversation_id)
        .where(
            MessageSearch.workspace_id == workspace_id,
            Conversation.workspace_id == workspace_id,
            MessageSearch.terms.op("@@")(cast(tsquery_literal(terms), TSQUERY)),
        )
    )
    f = filters
    if f.status is not None:
        stmt = stmt.where(Conversation.status == f.status)
    if f.inbox_id is not None:
        stmt = stmt.where(Conversation.inbox_id == f.inbox_id)
    if f.team_id is not None:
        stmt = stmt.where(Conversation.team_id == f.team_id)
    if f.unassigned:
        stmt = stmt.where(Conversation.assignee_id.is_(None))
    elif f.assignee_id is not None:
        stmt = stmt.where(Conversation.assignee_id == f.assignee_id)
    if f.tag:
        stmt = stmt.where(Conversation.tags.any(f.tag.strip().lower()))
    if f.contact_id is not None:
        stmt = stmt.where(Conversation.contact_id == f.contact_id)
    if f.since is not None:
        stmt = stmt.where(MessageSearch.created_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(MessageSearch.created_at < f.until)
    if after is not None:
        at, last_id = after
        stmt = stmt.where(
            or_(
                MessageSearch.created_at < at,
                and_(MessageSearch.created_at == at, MessageSearch.message_id < last_id),
            )
        )
    stmt = stmt.order_by(MessageSearch.created_at.desc(), MessageSearch.message_id.desc()).limit(limit)
    return stmt


async def search(
    session: AsyncSession,
    *,
    workspace_id: int,
    query: str,
    filters: Filters,
    after: tuple[datetime, int] | None = None,
    limit: int = 25,
    freshen: bool = True,
    timings: dict[str, float] | None = None,
) -> tuple[list[Hit], list[str]]:
    """(one page of hits, newest first; the query's terms). `timings`, when given, gets each
    phase's seconds (the benchmark prints them)."""
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        if timings is not None:
            now = time.perf_counter()
            timings[name] = timings.get(name, 0.0) + now - clock
            clock = now

    query = clean_query(query)
    terms = await analyse(query)
    lap("analyse")
    if not terms:
        return [], []
    if freshen:
        await indexer.catch_up(limit=FRESHEN_LIMIT, lookback=0, wait_ms=2000)
        lap("freshen")
    stmt = statement(workspace_id=workspace_id, terms=terms, filters=filters, after=after, limit=limit)
    rows = (await session.execute(stmt)).all()
    lap("find")
    if not rows:
        return [], terms
    ids = [r[0] for r in rows]
    messages = {
        m.id: m
        for m in await conversations.get_messages_by_ids(session, ids=ids)
        if m.workspace_id == workspace_id
    }
    conv_ids = {m.conversation_id for m in messages.values()}
    convs = {
        c.id: c
        for c in (
            await session.scalars(
                select(Conversation).where(
                    Conversation.workspace_id == workspace_id, Conversation.id.in_(conv_ids)
                )
            )
        )
    }
    ordered = [messages[i] for i in ids if i in messages and messages[i].conversation_id in convs]
    lap("load")
    marked = await asyncio.to_thread(highlight_many, [m.content for m in ordered], terms)
    lap("highlight")
    hits = [
        Hit(message=m, conversation=convs[m.conversation_id], snippet=str(html), matches=n)
        for m, (html, n) in zip(ordered, marked, strict=True)
    ]
    return hits, terms


async def index_size_bytes(session: AsyncSession) -> int:
    """What the search index takes on disk (table, TOAST and indexes)."""
    return int(await session.scalar(text("SELECT pg_total_relation_size('message_search')")) or 0)

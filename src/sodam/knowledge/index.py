"""The per-process search index of each workspace's published articles.

A thin adapter over `sodam.nlp.ranking.LexicalIndex` (one index per workspace and
locale). It is a cache, never the only copy: built lazily from the database on the
first search, then kept current article by article. Every change publishes
`{"t": "kb.changed", "ws", "article"}` on the bus inside the writer's transaction;
each process marks that article dirty when the NOTIFY arrives (`on_bus_event`) and
reloads it before its next search, so all processes agree within the NOTIFY delay.
The writer's own process also marks it on commit (no need to wait for the bus),
and a cheap signature check every few seconds repairs anything a dropped LISTEN
connection may have missed.
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from sodam.knowledge import vectors
from sodam.knowledge.markdown import plain_text
from sodam.knowledge.models import ARTICLE_LOCALES, KbArticle
from sodam.nlp import encoders
from sodam.nlp.ranking import Document, LexicalIndex, SearchResult
from sodam.realtime import bus

EVENT = "kb.changed"
SIGNATURE_CHECK_S = 5.0
BODY_CHARS = 4000  # long bodies add little to ranking and cost analysis time


@dataclass(frozen=True)
class IndexedArticle:
    id: int
    locale: str
    title: str
    category_id: int | None
    snippet: str


@dataclass(frozen=True)
class ArticleText:
    """An article as the index needs it, copied out of the ORM object (so that analysis and
    encoding can run in a thread), with its dense units and their stored vectors."""

    id: int
    locale: str
    title: str
    category_id: int | None
    text: str
    questions: tuple[str, ...]
    units: vectors.ArticleUnits | None = None
    found: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    @property
    def missing_vectors(self) -> bool:
        return self.units is not None and any(k not in self.found for k in self.units.keys)

    def document(self) -> Document:
        by_channel: dict[str, list[np.ndarray]] = {}
        if self.units is not None:
            for channel, key in zip(self.units.channels, self.units.keys, strict=True):
                if key in self.found:
                    by_channel.setdefault(channel, []).append(self.found[key])
        vecs = {c: np.stack(v) for c, v in by_channel.items()} or None
        return Document(str(self.id), self.title, self.text[:BODY_CHARS], self.questions, vectors=vecs)


async def article_texts(
    session: AsyncSession, workspace_id: int, articles: list[KbArticle]
) -> list[ArticleText]:
    """Plain copies of the articles with the vectors stored for their units (when an encoder is on)."""
    model = encoders.available_channels()
    out = []
    for article in articles:
        body = plain_text(article.body)
        questions = tuple(q.text for q in article.alternate_questions)
        units = vectors.units_of(article.title, body, questions) if model else None
        out.append(
            ArticleText(
                article.id, article.locale, article.title, article.category_id, body, questions, units
            )
        )
    if model:
        found = await vectors.load(session, workspace_id, [k for a in out for k in a.units.keys])
        out = [replace(a, found={k: found[k] for k in a.units.keys if k in found}) for a in out]
    return out


@dataclass
class WorkspaceIndex:
    """The indexes of one workspace (one per locale) and what they were built from."""

    workspace_id: int = 0
    by_locale: dict[str, LexicalIndex] = field(default_factory=dict)
    articles: dict[int, IndexedArticle] = field(default_factory=dict)
    signature: tuple[int, datetime | None] = (0, None)
    checked_at: float = 0.0
    # articles indexed without (all) their vectors: the embedding job was asked for them
    awaiting_vectors: set[int] = field(default_factory=set)
    vectors_requested: set[int] = field(default_factory=set)

    def index(self, locale: str) -> LexicalIndex:
        if locale not in self.by_locale:
            self.by_locale[locale] = LexicalIndex(language=locale)
        return self.by_locale[locale]

    def put_many(self, articles: list[ArticleText]) -> None:
        """Index articles, one batch per locale (CPU work: run it in a thread)."""
        by_locale: dict[str, list[Document]] = {}
        for article in articles:
            self.drop(article.id)
            by_locale.setdefault(article.locale, []).append(article.document())
            text = article.text
            snippet = text if len(text) <= 160 else text[:159].rstrip() + "…"
            self.articles[article.id] = IndexedArticle(
                article.id, article.locale, article.title, article.category_id, snippet
            )
            if article.missing_vectors:
                self.awaiting_vectors.add(article.id)
            else:
                self.awaiting_vectors.discard(article.id)
        for locale, docs in by_locale.items():
            self.index(locale).add_many(docs)

    def drop(self, article_id: int) -> None:
        known = self.articles.pop(article_id, None)
        self.awaiting_vectors.discard(article_id)
        if known is not None:
            self.by_locale[known.locale].remove(str(article_id))

    def _prepared(self, query: str, locale: str) -> tuple[LexicalIndex, str, str, list[str]] | None:
        """(the locale's index, the query as it is ranked, what the customer asked — the same
        without the customer-word expansions, for the decision —, the dense channels to encode
        the query for)."""
        idx = self.by_locale.get(locale)
        if idx is None or not len(idx):
            return None
        # "비번 바꾸고 싶어여" is matched as "비밀번호 바꾸고 싶어요", "환볼 언제되나요" as "환불 언제되나요"
        query, asked = idx.customer_question(query)
        return idx, query, asked, idx.channels if idx.has_vectors else []

    def start_encoding(self, query: str, locale: str) -> None:
        """Start encoding the query for a search that is coming (CPU work: run it in a thread);
        query() then waits for this encoding instead of starting its own."""
        prepared = self._prepared(query, locale)
        if prepared is not None and prepared[3]:
            encoders.start_query_vectors(prepared[1], prepared[3])

    def query(self, query: str, locale: str, limit: int) -> SearchResult | None:
        """Rank the locale's articles for a query (CPU work, the query's encoding included:
        run it in a thread)."""
        prepared = self._prepared(query, locale)
        if prepared is None:
            return None
        idx, query, asked, channels = prepared
        # The encoders run in their own threads while the lexical ranking runs here.
        query_vectors = encoders.start_query_vectors(query, channels) if channels else None
        return idx.query(query, limit, query_vectors, asked=asked)


class IndexRegistry:
    """Workspace id → WorkspaceIndex for this process, with pending (dirty) article ids."""

    def __init__(self) -> None:
        self._indexes: dict[int, WorkspaceIndex] = {}
        self._dirty: dict[int, set[int]] = {}
        self._full: set[int] = set()
        self._locks: dict[int, asyncio.Lock] = {}

    def mark(self, workspace_id: int, article_id: int | None) -> None:
        """An article changed (None: anything may have): reload it before the next search."""
        if workspace_id not in self._indexes and workspace_id not in self._locks:
            return  # never searched here: the first search builds it from scratch anyway
        if article_id is None:
            self._full.add(workspace_id)
        else:
            self._dirty.setdefault(workspace_id, set()).add(article_id)

    def mark_everything(self) -> None:
        """Anything may have changed anywhere (bus events were missed): reload every loaded index."""
        self._full.update(self._indexes)

    def forget(self, workspace_id: int | None = None) -> None:
        """Drop cached indexes (all, or one workspace's): tests and memory pressure."""
        if workspace_id is None:
            self._indexes.clear()
            self._dirty.clear()
            self._full.clear()
        else:
            self._indexes.pop(workspace_id, None)
            self._dirty.pop(workspace_id, None)
            self._full.discard(workspace_id)

    def loaded(self, workspace_id: int) -> bool:
        return workspace_id in self._indexes

    def peek(self, workspace_id: int) -> WorkspaceIndex | None:
        """The workspace's index as this process has it, without reading the database (maybe
        not up to date: for work ahead of a search, never for its results)."""
        return self._indexes.get(workspace_id)

    async def get(self, session: AsyncSession, workspace_id: int) -> WorkspaceIndex:
        """The workspace's index, brought up to date with every change this process heard of."""
        current = self._indexes.get(workspace_id)
        now = time.monotonic()
        if (
            current is not None
            and not self._dirty.get(workspace_id)
            and workspace_id not in self._full
            and now - current.checked_at < SIGNATURE_CHECK_S
        ):
            return current
        lock = self._locks.setdefault(workspace_id, asyncio.Lock())
        async with lock:
            current = self._indexes.get(workspace_id)
            if current is not None and now - current.checked_at >= SIGNATURE_CHECK_S:
                current.checked_at = now
                if await _signature(session, workspace_id) != current.signature:
                    self._full.add(workspace_id)
            if current is None or workspace_id in self._full:
                self._full.discard(workspace_id)
                self._dirty.pop(workspace_id, None)
                current = await _build(session, workspace_id)
                self._indexes[workspace_id] = current
                # Everything alive now (the index, the modules) out of the cyclic collector's
                # reach: a full collection scanned it all (200,000+ objects, 0.3-0.5 s at load 7)
                # in the middle of a search every hundred decisions or so.
                gc.freeze()
            dirty = self._dirty.pop(workspace_id, None)
            if dirty:
                rows = await article_texts(
                    session, workspace_id, await load_published(session, workspace_id, ids=dirty)
                )
                gone = dirty - {a.id for a in rows}
                for article_id in gone:
                    current.drop(article_id)
                await asyncio.to_thread(current.put_many, rows)
                current.signature = await _signature(session, workspace_id)
                current.checked_at = time.monotonic()
            await _ask_for_missing_vectors(current)
            return current


registry = IndexRegistry()


async def _ask_for_missing_vectors(current: WorkspaceIndex) -> None:
    """Articles indexed without vectors (written before the encoder was on, or whose job has not
    run yet): ask the embedding job once per process for them, in a transaction of its own."""
    ask = sorted(current.awaiting_vectors - current.vectors_requested)
    if not ask:
        return
    from sodam.db.session import session_scope

    current.vectors_requested.update(ask)
    async with session_scope() as own:
        await request_vectors(own, current.workspace_id, ask)


async def load_published(
    session: AsyncSession, workspace_id: int, *, ids: set[int] | None = None
) -> list[KbArticle]:
    stmt = (
        select(KbArticle)
        .where(KbArticle.workspace_id == workspace_id, KbArticle.status == "published")
        .options(selectinload(KbArticle.alternate_questions))
        .execution_options(populate_existing=True)
    )
    if ids is not None:
        stmt = stmt.where(KbArticle.id.in_(ids))
    return list((await session.scalars(stmt)).all())


async def _signature(session: AsyncSession, workspace_id: int) -> tuple[int, datetime | None]:
    row = (
        await session.execute(
            select(func.count(), func.max(KbArticle.updated_at)).where(
                KbArticle.workspace_id == workspace_id, KbArticle.status == "published"
            )
        )
    ).one()
    return int(row[0]), row[1]


async def _build(session: AsyncSession, workspace_id: int) -> WorkspaceIndex:
    """A new index, built aside (analysis in a thread) and only then swapped in by the caller."""
    signature = await _signature(session, workspace_id)
    built = WorkspaceIndex(workspace_id=workspace_id, signature=signature, checked_at=time.monotonic())
    for locale in ARTICLE_LOCALES:
        built.index(locale)
    texts = await article_texts(session, workspace_id, await load_published(session, workspace_id))
    await asyncio.to_thread(built.put_many, texts)
    return built


async def changed(
    session: AsyncSession, *, workspace_id: int, article_id: int | None, embed: bool = True
) -> None:
    """Call in the transaction that changed an article: every process refreshes it after commit,
    and (`embed`) the embedding job computes the vectors of its new text in the background."""
    await bus.publish(session, {"t": EVENT, "ws": workspace_id, "article": article_id})
    sync = session.sync_session
    pending: set[tuple[int, int | None]] = sync.info.setdefault("kb_changed", set())
    if not pending:
        event.listen(sync, "after_commit", _mark_after_commit, once=True)
        event.listen(sync, "after_rollback", _clear_pending, once=True)
    if embed and (workspace_id, article_id) not in pending and encoders.available_channels():
        await request_vectors(session, workspace_id, None if article_id is None else [article_id])
    pending.add((workspace_id, article_id))


async def request_vectors(session: AsyncSession, workspace_id: int, article_ids: list[int] | None) -> None:
    """Queue the embedding job in the session's transaction (one at a time per workspace)."""
    from sodam.jobs.app import defer_in_tx

    await defer_in_tx(
        session,
        "knowledge.embed_articles",
        {"workspace_id": workspace_id, "article_ids": article_ids},
        queue="nlp",
        lock=f"kb-embed-{workspace_id}",
    )


def _mark_after_commit(sync_session) -> None:
    for workspace_id, article_id in sync_session.info.pop("kb_changed", set()):
        registry.mark(workspace_id, article_id)


def _clear_pending(sync_session) -> None:
    sync_session.info.pop("kb_changed", None)


async def on_bus_event(payload: dict[str, Any]) -> None:
    """hub.on_event handler: remember which article to reload (no I/O on the listener task)."""
    if payload.get("t") != EVENT:
        return
    workspace_id = payload.get("ws")
    article_id = payload.get("article")
    if isinstance(workspace_id, int):
        registry.mark(workspace_id, article_id if isinstance(article_id, int) else None)


async def on_bus_reconnect() -> None:
    """The bus listener reconnected: events may have been lost, reload every index here."""
    registry.mark_everything()


_installed = False


def install() -> None:
    """Register the bus handler once per process (called by the app at start-up)."""
    global _installed
    if not _installed:
        from sodam.realtime.hub import hub

        hub.on_event(on_bus_event)
        _installed = True

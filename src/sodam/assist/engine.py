"""The CPU side of agent assist (no I/O; callers run these in a thread).

Two stages, so that a keystroke costs little whatever the size of the workspace:

1. **Per customer question** (once per question, cached): the question's sentence vector
   (encoded once, `QueryCache`), the past replies' candidates — the lexical top N of the
   workspace's `LexicalIndex` over past questions (BM25 over morphemes + character n-grams,
   the bot's ranking) united with the dense top N of one brute-force product over the
   workspace's vector matrix — and the knowledge base's candidates from the bot's own index
   (`sodam.knowledge.index`, fused lexical + dense). The fused score of a past reply is
   0.7 × the cosine of the questions + 0.3 × the lexical two-way match (`SearchHit.match`).
2. **Per keystroke** (the agent's draft): the candidates are only re-ranked by the share of
   the draft's terms found in each candidate's text (term sets cached per candidate), so
   typing costs a morpheme analysis of the draft and a few set intersections.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from sodam.nlp.ranking import Document, LexicalIndex
from sodam.nlp.text import customer_query, has_hangul, tokens

CANDIDATES = 30  # per source and question
DENSE_WEIGHT, LEXICAL_WEIGHT = 0.7, 0.3
DRAFT_WEIGHT = 0.3  # × share of the draft's terms found in a candidate
MIN_REPLY_SCORE = 0.2  # below this a past reply is not worth showing
RELATIVE_FLOOR = 0.4  # nor one scoring under 40 % of the best suggestion of its kind
REPLY_INDEX_CHARS = 600  # the reply's text indexed (lexical body field)


def locale_of(text: str, default: str = "ko") -> str:
    """ko when the text has Hangul, en when it has Latin letters only, else the default."""
    if has_hangul(text):
        return "ko"
    if any("a" <= c.lower() <= "z" for c in text):
        return "en"
    return default


@dataclass(frozen=True)
class PastReply:
    id: int
    locale: str
    question: str
    reply: str
    conversation_id: int = 0
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Candidate:
    """A suggestion before the draft's re-ranking: `key` identifies its cached term set."""

    key: tuple[str, int]
    score: float
    text: str  # what the draft's terms are looked for in


class ReplyIndex:
    """One workspace's past agent replies: a lexical index per locale over the customer's
    question (title) and the reply (body, lower weight), plus a float32 matrix of question
    vectors (one row per reply) searched by one matrix-vector product."""

    def __init__(self, workspace_id: int = 0) -> None:
        self.workspace_id = workspace_id
        self.rows: dict[int, PastReply] = {}
        self.lexical: dict[str, LexicalIndex] = {}
        self.dim = 0
        self._matrix = np.zeros((0, 0), np.float32)
        self._ids = np.zeros(0, np.int64)
        self._ko = np.zeros(0, bool)
        self._n = 0
        self._pos: dict[int, int] = {}  # reply id -> its row of the matrix
        self.max_id = 0
        self.version = 0  # bumped on every change: cached candidates of an older version are stale
        self.checked_at = 0.0
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.rows)

    def add_many(self, rows: Iterable[PastReply]) -> None:
        """Index new replies (ids not seen before; CPU work: call in a thread)."""
        rows = [r for r in rows if r.id not in self.rows]
        if not rows:
            return
        by_locale: dict[str, list[Document]] = {}
        for r in rows:
            by_locale.setdefault(r.locale, []).append(
                Document(str(r.id), r.question, r.reply[:REPLY_INDEX_CHARS])
            )
        built = {}
        for locale, docs in by_locale.items():
            idx = self.lexical.get(locale) or LexicalIndex()
            idx.add_many(docs)  # analysis outside our lock (LexicalIndex locks itself)
            built[locale] = idx
        with self._lock:
            self.lexical.update(built)
            with_vectors = [r for r in rows if r.vector is not None and len(r.vector)]
            if with_vectors:
                if self.dim == 0:
                    self.dim = len(with_vectors[0].vector)
                with_vectors = [r for r in with_vectors if len(r.vector) == self.dim]
                need = self._n + len(with_vectors)
                if need > len(self._matrix):
                    cap = max(need, 2 * len(self._matrix), 1024)
                    matrix = np.zeros((cap, self.dim), np.float32)
                    if self._n:
                        matrix[: self._n] = self._matrix[: self._n]
                    ids = np.zeros(cap, np.int64)
                    ids[: self._n] = self._ids[: self._n]
                    ko = np.zeros(cap, bool)
                    ko[: self._n] = self._ko[: self._n]
                    self._matrix, self._ids, self._ko = matrix, ids, ko
                stacked = np.stack([np.asarray(r.vector, np.float32) for r in with_vectors])
                norms = np.linalg.norm(stacked, axis=1, keepdims=True)
                self._matrix[self._n : need] = stacked / np.maximum(norms, 1e-9)
                self._ids[self._n : need] = [r.id for r in with_vectors]
                self._ko[self._n : need] = [r.locale == "ko" for r in with_vectors]
                for j, r in enumerate(with_vectors):
                    self._pos[r.id] = self._n + j
                self._n = need
            for r in rows:
                self.rows[r.id] = PastReply(r.id, r.locale, r.question, r.reply, r.conversation_id)
                self.max_id = max(self.max_id, r.id)
            self.version += 1

    def candidates(
        self, question: str, locale: str, vector: np.ndarray | None, k: int = CANDIDATES
    ) -> list[Candidate]:
        """Past replies for a customer question, best first (CPU: call in a thread)."""
        query = customer_query(question)
        lexical: dict[int, float] = {}
        idx = self.lexical.get(locale)
        if idx is not None and len(idx) and query:
            for hit in idx.query(query, k).hits:
                lexical[int(hit.doc_id)] = max(hit.match, 0.7 * hit.body_coverage)
        dense: dict[int, float] = {}
        with self._lock:
            n = self._n
            matrix, ids, ko = self._matrix, self._ids, self._ko
        if vector is not None and n and len(vector) == self.dim:
            sims = matrix[:n] @ np.asarray(vector, np.float32)
            sims[ko[:n] != (locale == "ko")] = -1.0
            top = np.argpartition(-sims, min(k, n - 1))[:k] if n > k else np.arange(n)
            dense = {int(ids[i]): float(sims[i]) for i in top if sims[i] > -1.0}
            # the lexical candidates' own cosines (they may be outside the dense top k)
            for i in lexical:
                j = self._pos.get(i)
                if i not in dense and j is not None and j < n:
                    dense[i] = float(sims[j])
        out = []
        for rid in set(lexical) | set(dense):
            row = self.rows.get(rid)
            if row is None:
                continue
            if dense:
                score = DENSE_WEIGHT * max(dense.get(rid, 0.0), 0.0) + LEXICAL_WEIGHT * lexical.get(rid, 0.0)
            else:
                score = lexical.get(rid, 0.0)
            if score >= MIN_REPLY_SCORE:
                out.append(Candidate(("reply", rid), score, row.reply))
        out.sort(key=lambda c: (-c.score, -c.key[1]))
        return out[:k]


class TermCache:
    """Term sets of candidate texts (morphemes / stems), kept for the next keystrokes."""

    def __init__(self, size: int = 20_000) -> None:
        self._terms: OrderedDict[tuple[str, int], frozenset[str]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int], text: str) -> frozenset[str]:
        with self._lock:
            hit = self._terms.get(key)
            if hit is not None:
                self._terms.move_to_end(key)
                return hit
        terms = frozenset(tokens(text))
        with self._lock:
            self._terms[key] = terms
            while len(self._terms) > self._size:
                self._terms.popitem(last=False)
        return terms


terms_cache = TermCache()


def warm(candidates: list[Candidate]) -> list[Candidate]:
    """Analyse the candidates' texts now (per question), so that keystrokes only intersect sets."""
    for c in candidates:
        terms_cache.get(c.key, c.text)
    return candidates


def draft_terms(draft: str) -> set[str]:
    return set(tokens(draft)) if draft and draft.strip() else set()


def rerank(candidates: list[Candidate], draft_terms: set[str], k: int) -> list[tuple[Candidate, float]]:
    """The candidates re-ranked by the share of the draft's terms each contains (CPU)."""
    scored = []
    for c in candidates:
        bonus = 0.0
        if draft_terms:
            found = len(draft_terms & terms_cache.get(c.key, c.text))
            bonus = DRAFT_WEIGHT * found / len(draft_terms)
        scored.append((c, c.score + bonus))
    scored.sort(key=lambda pair: -pair[1])
    if scored and scored[0][1] > 0:  # far behind the best is noise: drop it
        scored = [pair for pair in scored if pair[1] >= RELATIVE_FLOOR * scored[0][1]]
    return scored[:k]


class LruCache:
    """A small thread-safe LRU with a time to live (question vectors, question candidates)."""

    def __init__(self, size: int = 512, ttl_s: float = 600.0) -> None:
        self._items: OrderedDict[object, tuple[float, object]] = OrderedDict()
        self._size, self._ttl = size, ttl_s
        self._lock = threading.Lock()

    def get_or(self, key: object, make: Callable[[], object]) -> object:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > now:
                self._items.move_to_end(key)
                return hit[1]
        value = make()
        with self._lock:
            self._items[key] = (now + self._ttl, value)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

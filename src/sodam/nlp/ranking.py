"""In-memory lexical ranking (BM25 over morphemes + character n-grams) with a confidence a bot can threshold.

Why our own sparse index rather than bm25s: articles change one at a time while
the bot keeps answering, and BM25 statistics (idf, average length) move with
every change. We keep raw term frequencies in a compressed term-major matrix
plus a small "delta" of recent changes, and compute BM25 at query time from the
current statistics, so an add/update/remove costs one document's analysis and
the matrix is rebuilt only now and then (amortised). 10,000 articles answer in a
few milliseconds on one core (see bench/README_nlu.md).

Fields: the title and each alternate question are "question" units (an article's
question score is the best of them, so ten alternate questions do not dilute
one another), the body is scored separately with a lower weight.

Confidence: BM25 ranks, but a BM25 score says little about whether the query is
*about* the article. For the top hits we measure how much of the query's
idf-weighted terms the best question contains AND how much of that question's
terms the query contains (a query that shares a topic word with a question but
asks something else leaves most of the question unmatched); the geometric mean
of the two, plus the margin to the next article, is what the bot thresholds.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sodam.nlp.text import char_ngrams, english_tokens, has_hangul, morphemes_batch, normalize, tokens

__all__ = ["Confidence", "Document", "LexicalIndex", "SearchHit", "SearchResult", "analyze"]

WORD, CHAR = "w:", "c:"


def analyze(text: str, n_min: int = 2, n_max: int = 4) -> list[str]:
    """The terms of a text: word/morpheme terms and character n-gram terms, prefixed apart."""
    norm = normalize(text)
    return [WORD + t for t in tokens(norm, normalized=True)] + [
        CHAR + g for g in char_ngrams(norm, n_min, n_max, normalized=True)
    ]


def analyze_batch(texts: Sequence[str], n_min: int = 2, n_max: int = 4) -> list[list[str]]:
    """analyze() over many texts, Korean ones through Kiwi's multi-threaded batch."""
    norms = [normalize(t) for t in texts]
    ko = [i for i, t in enumerate(norms) if has_hangul(t)]
    words: list[list[str]] = [[] for _ in norms]
    for i, toks in zip(ko, morphemes_batch([norms[i] for i in ko], normalized=True), strict=True):
        words[i] = toks
    out = []
    for i, norm in enumerate(norms):
        toks = words[i] if has_hangul(norm) else english_tokens(norm, normalized=True)
        out.append(
            [WORD + t for t in toks] + [CHAR + g for g in char_ngrams(norm, n_min, n_max, normalized=True)]
        )
    return out


@dataclass(frozen=True)
class Document:
    id: str
    title: str = ""
    body: str = ""
    alternate_questions: Sequence[str] = ()


@dataclass(frozen=True)
class SearchHit:
    doc_id: str
    score: float
    question_coverage: float  # share of the query's idf mass found in the best title/alternate question
    body_coverage: float
    # sqrt(query share found in the question × question share found in the query), best question
    # unit (title or alternate), idf-weighted over distinct terms: 1.0 = same terms both ways.
    match: float = 0.0


@dataclass(frozen=True)
class Confidence:
    """How sure the ranking is: a bot answers, offers choices or hands off on these numbers.

    coverage: how well the top article matches, 0..1: the best question's two-way
    term match (SearchHit.match), or 0.7 × the body's query coverage when the body
    matches better — an off-topic question shares few terms either way.
    margin: (top1 - top2) / top1 — near 0 means two articles are equally good.
    value: coverage + MARGIN_WEIGHT × min(margin, 1), what decision() thresholds.
    """

    coverage: float
    margin: float
    ratio: float
    value: float

    # Chosen on the paraKQC dev split (bench/faq.py, `sodam bench faq --split dev`).
    # At these, 91 % of the dev split's off-topic queries are handed off (the target is
    # 90 %); a lower threshold answers more but hands fewer off (see docs/knowledge.md). One
    # threshold for both: a sure match is answered, or offered among the top three as choices
    # when the second article scores within 5 % of it.
    ANSWER_AT = 0.58
    CHOICES_AT = 0.58
    MIN_MARGIN = 0.05

    def decision(
        self,
        *,
        answer_at: float | None = None,
        choices_at: float | None = None,
        min_margin: float | None = None,
    ) -> str:
        """ "answer", "choices" or "handoff" on value and margin (defaults: the class constants)."""
        answer_at = self.ANSWER_AT if answer_at is None else answer_at
        choices_at = self.CHOICES_AT if choices_at is None else choices_at
        min_margin = self.MIN_MARGIN if min_margin is None else min_margin
        if self.value >= answer_at and self.margin >= min_margin:
            return "answer"
        if self.value >= choices_at:
            return "choices"
        return "handoff"


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    confidence: Confidence

    def pairs(self) -> list[tuple[str, float]]:
        return [(h.doc_id, h.score) for h in self.hits]


NO_CONFIDENCE = Confidence(0.0, 0.0, 0.0, 0.0)


class _Field:
    """One field's postings: raw term counts, BM25 computed at query time."""

    def __init__(self) -> None:
        self.unit_doc: list[int] = []  # unit -> doc slot
        self.unit_terms: list[tuple[np.ndarray, np.ndarray] | None] = []  # term ids, counts
        self.dl = np.zeros(0, dtype=np.float32)
        self.alive = np.zeros(0, dtype=bool)
        self.unit_doc_arr = np.zeros(0, dtype=np.int64)
        self.df = np.zeros(0, dtype=np.int32)
        self.n_alive = 0
        self.total_len = 0.0
        # compressed term-major postings of units [0, base_units)
        self.base_units = 0
        self.indptr = np.zeros(1, dtype=np.int64)
        self.post_unit = np.zeros(0, dtype=np.int32)
        self.post_tf = np.zeros(0, dtype=np.float32)
        self.delta: dict[int, tuple[list[int], list[int]]] = {}  # term -> (units, counts)
        self.dead = 0

    def _grow(self, n_terms: int) -> None:
        if n_terms > len(self.df):
            extra = max(n_terms - len(self.df), len(self.df), 1024)  # geometric: amortised O(1) per term
            self.df = np.concatenate([self.df, np.zeros(extra, np.int32)])

    def add(self, doc: int, term_ids: list[int], n_terms: int) -> int:
        counts = Counter(term_ids)
        ids = np.fromiter(counts.keys(), dtype=np.int32, count=len(counts))
        tfs = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        unit = len(self.unit_doc)
        self.unit_doc.append(doc)
        self.unit_terms.append((ids, tfs))
        if unit >= len(self.dl):
            cap = max(64, 2 * len(self.dl))
            self.dl = np.concatenate([self.dl, np.zeros(cap - len(self.dl), np.float32)])
            self.alive = np.concatenate([self.alive, np.zeros(cap - len(self.alive), bool)])
            self.unit_doc_arr = np.concatenate(
                [self.unit_doc_arr, np.zeros(cap - len(self.unit_doc_arr), np.int64)]
            )
        self.unit_doc_arr[unit] = doc
        self.dl[unit] = len(term_ids)
        self.alive[unit] = True
        self._grow(n_terms)
        self.df[ids] += 1
        self.n_alive += 1
        self.total_len += len(term_ids)
        for t, c in counts.items():
            entry = self.delta.get(t)
            if entry is None:
                entry = self.delta[t] = ([], [])
            entry[0].append(unit)
            entry[1].append(c)
        return unit

    def remove(self, unit: int) -> None:
        if not self.alive[unit]:
            return
        ids, _ = self.unit_terms[unit]
        self.alive[unit] = False
        self.df[ids] -= 1
        self.n_alive -= 1
        self.total_len -= float(self.dl[unit])
        self.unit_terms[unit] = None
        self.dead += 1

    def maybe_compact(self) -> None:
        delta_units = len(self.unit_doc) - self.base_units
        if delta_units > min(1024, max(256, self.base_units // 8)) or self.dead > max(
            256, len(self.unit_doc) // 4
        ):
            self.compact()

    def compact(self) -> None:
        """Fold the delta into the compressed postings (dead units are dropped from them)."""
        parts_t, parts_u, parts_f = [], [], []
        for u, entry in enumerate(self.unit_terms):
            if entry is not None:
                parts_t.append(entry[0])
                parts_f.append(entry[1])
                parts_u.append(np.full(len(entry[0]), u, dtype=np.int32))
        n_terms = len(self.df)
        if parts_t:
            t = np.concatenate(parts_t)
            order = np.argsort(t, kind="stable")
            self.post_unit = np.concatenate(parts_u)[order]
            self.post_tf = np.concatenate(parts_f)[order]
            counts = np.bincount(t, minlength=n_terms)
        else:
            self.post_unit = np.zeros(0, np.int32)
            self.post_tf = np.zeros(0, np.float32)
            counts = np.zeros(n_terms, np.int64)
        self.indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(counts, out=self.indptr[1:])
        self.base_units = len(self.unit_doc)
        self.delta = {}
        self.dead = 0

    def scores(self, qterms: list[tuple[int, float]], k1: float, b: float, max_idf: float):
        """Per-unit BM25 scores for weighted query terms, and the query's ideal (all-matched) score."""
        n_units = len(self.unit_doc)
        if self.n_alive == 0:
            return np.zeros(n_units, np.float32), sum(w for _, w in qterms) * max_idf
        avgdl = self.total_len / self.n_alive
        units, tfs, wts, lens = [], [], [], []
        ideal = 0.0
        n = self.n_alive
        df_all = self.df
        n_base_terms = len(self.indptr) - 1
        for t, qw in qterms:
            df = int(df_all[t]) if 0 <= t < len(df_all) else 0
            if df <= 0:
                ideal += qw * max_idf
                continue
            w = qw * math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            ideal += w
            if t < n_base_terms:
                lo, hi = self.indptr[t], self.indptr[t + 1]
                if hi > lo:
                    units.append(self.post_unit[lo:hi])
                    tfs.append(self.post_tf[lo:hi])
                    wts.append(w)
                    lens.append(hi - lo)
            extra = self.delta.get(t)
            if extra:
                units.append(np.array(extra[0], dtype=np.int32))
                tfs.append(np.array(extra[1], dtype=np.float32))
                wts.append(w)
                lens.append(len(extra[0]))
        if not units:
            return np.zeros(n_units, np.float32), ideal
        u = np.concatenate(units)
        tf = np.concatenate(tfs)
        w = np.repeat(np.asarray(wts, dtype=np.float32), lens)
        norm = k1 * (1.0 - b + b * self.dl[u] / avgdl)
        contrib = w * tf * (k1 + 1.0) / (tf + norm)
        contrib *= self.alive[u]
        return np.bincount(u, weights=contrib, minlength=n_units).astype(np.float32), ideal


@dataclass
class _DocEntry:
    id: str
    units: dict[str, list[int]] = field(default_factory=dict)


class LexicalIndex:
    """Add/update/remove documents by id; search(query, k) -> [(doc_id, score)].

    Weights: title and alternate questions count fully, the body less (it is
    long and wordy); character n-gram terms count less than morphemes (there
    are many of them) but make spacing/typo variants meet.
    """

    FIELDS = ("title", "alt", "body")

    def __init__(
        self,
        *,
        k1: float = 1.2,
        b: float = 0.75,
        title_weight: float = 1.0,
        alt_weight: float = 1.0,
        body_weight: float = 0.35,
        char_weight: float = 0.1,
        ngram_range: tuple[int, int] = (2, 3),
        embeddings: object | None = None,
    ) -> None:
        self.k1, self.b = k1, b
        self.weights = {"title": title_weight, "alt": alt_weight, "body": body_weight}
        self.char_weight = char_weight
        self.ngram_range = ngram_range
        self._vocab: dict[str, int] = {}
        self._is_word = np.zeros(1024, dtype=bool)  # per term id: word term (else character n-gram)
        self._fields = {f: _Field() for f in self.FIELDS}
        self._docs: list[_DocEntry | None] = []
        self._slot: dict[str, int] = {}
        self._lock = threading.RLock()
        # None: whatever the environment says (SODAM_EMBEDDING_MODEL); False: lexical only.
        self._dense = dense_from_env() if embeddings is None else (embeddings or None)

    # -- maintenance -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._slot

    def _ids(self, terms: list[str]) -> list[int]:
        vocab = self._vocab
        out = []
        for term in terms:
            t = vocab.get(term)
            if t is None:
                t = vocab[term] = len(vocab)
                if t >= len(self._is_word):
                    self._is_word = np.concatenate([self._is_word, np.zeros(len(self._is_word), bool)])
                self._is_word[t] = not term.startswith(CHAR)
            out.append(t)
        return out

    def add(self, doc: Document | str, title: str = "", body: str = "", alternate_questions=()) -> None:
        """Add or replace one document (a Document, or id + fields)."""
        if not isinstance(doc, Document):
            doc = Document(str(doc), title, body, tuple(alternate_questions or ()))
        self.add_many([doc])

    def add_many(self, docs: Iterable[Document]) -> None:
        docs = list(docs)
        fields = []
        for doc in docs:
            fields.append(
                {
                    "title": [doc.title] if doc.title else [],
                    "alt": [q for q in doc.alternate_questions if q],
                    "body": [doc.body] if doc.body else [],
                }
            )
        # Analysis (the slow part) happens outside the lock, in one batch.
        flat = [text for f in fields for items in f.values() for text in items]
        analysed = iter(analyze_batch(flat, *self.ngram_range))
        with self._lock:
            dense_batch = []
            for doc, texts in zip(docs, fields, strict=True):
                self._remove_units(doc.id)
                slot = self._slot.get(doc.id)
                if slot is None:
                    slot = len(self._docs)
                    self._docs.append(None)
                    self._slot[doc.id] = slot
                entry = _DocEntry(doc.id)
                for fname, items in texts.items():
                    f = self._fields[fname]
                    for _text in items:
                        ids = self._ids(next(analysed))
                        if ids:
                            entry.units.setdefault(fname, []).append(f.add(slot, ids, len(self._vocab)))
                self._docs[slot] = entry
                dense_batch.append((slot, doc))
            for f in self._fields.values():
                f.maybe_compact()
            if self._dense is not None and dense_batch:
                self._dense.add(dense_batch)

    update = add

    def remove(self, doc_id: str) -> bool:
        with self._lock:
            if doc_id not in self._slot:
                return False
            self._remove_units(doc_id)
            slot = self._slot.pop(doc_id)
            self._docs[slot] = None
            if self._dense is not None:
                self._dense.remove(slot)
            for f in self._fields.values():
                f.maybe_compact()
            return True

    def _remove_units(self, doc_id: str) -> None:
        slot = self._slot.get(doc_id)
        if slot is None or self._docs[slot] is None:
            return
        for fname, units in self._docs[slot].units.items():
            for u in units:
                self._fields[fname].remove(u)
        self._docs[slot] = _DocEntry(doc_id)

    def compact(self) -> None:
        with self._lock:
            for f in self._fields.values():
                f.compact()

    # -- search ------------------------------------------------------------------
    def _query_terms(self, query: str, terms: list[str] | None = None) -> list[tuple[int, float]]:
        counts = Counter(analyze(query, *self.ngram_range) if terms is None else terms)
        out = []
        for term, c in counts.items():
            w = c * (self.char_weight if term.startswith(CHAR) else 1.0)
            out.append((self._vocab.get(term, -1), w))
        return out

    def search(self, query: str, k: int = 5) -> list[tuple[str, float]]:
        return self.query(query, k).pairs()

    def query(self, query: str, k: int = 5) -> SearchResult:
        """Top-k documents with per-hit coverage and the result's confidence."""
        with self._lock:
            n_slots = len(self._docs)
            if not self._slot or k <= 0:
                return SearchResult([], NO_CONFIDENCE)
            terms = analyze(query, *self.ngram_range)
            qterms = self._query_terms(query, terms)
            if not qterms:
                return SearchResult([], NO_CONFIDENCE)
            per_field = {}
            for fname, f in self._fields.items():
                max_idf = math.log(1.0 + (f.n_alive + 0.5) / 0.5)
                unit_scores, ideal = f.scores(qterms, self.k1, self.b, max_idf)
                doc_scores = np.zeros(n_slots, np.float32)
                nz = np.flatnonzero(unit_scores)
                if len(nz):
                    if fname == "alt":  # several units per document: keep the best
                        np.maximum.at(doc_scores, f.unit_doc_arr[nz], unit_scores[nz])
                    else:  # one live unit per document
                        doc_scores[f.unit_doc_arr[nz]] = unit_scores[nz]
                per_field[fname] = (doc_scores, max(ideal, 1e-9))
            total = sum(self.weights[fn] * s for fn, (s, _) in per_field.items())
            order = _top(total, max(k, 2))
            order = [i for i in order if total[i] > 0]
            if self._dense is not None:
                order = self._dense.fuse(query, order, k=max(k, 2), alive=self._alive_slots())
            hits = []
            match = self._matcher(terms)
            for i in order[:k]:
                tq = per_field["title"][0][i] / per_field["title"][1]
                aq = per_field["alt"][0][i] / per_field["alt"][1]
                bq = per_field["body"][0][i] / per_field["body"][1]
                hits.append(
                    SearchHit(
                        self._docs[i].id,
                        float(total[i]),
                        float(min(1.0, max(tq, aq))),
                        float(min(1.0, bq)),
                        match(i),
                    )
                )
            return SearchResult(hits, _confidence(hits))

    def _matcher(self, query_terms: Iterable[str]):
        """slot -> SearchHit.match for this query (idf from the title field: every article has one)."""
        title = self._fields["title"]
        df = title.df
        n = max(title.n_alive, 1)
        max_idf = math.log(1.0 + (n + 0.5) / 0.5)
        is_word = self._is_word
        cw = self.char_weight

        def mass(ids: np.ndarray) -> np.ndarray:  # idf × (1 for a word term, char_weight for an n-gram)
            d = np.zeros(len(ids), np.float32)
            known = ids < len(df)
            d[known] = df[ids[known]]
            idf = np.where(d > 0, np.log1p((n - d + 0.5) / (d + 0.5)), max_idf)
            return idf * np.where(is_word[ids], 1.0, cw)

        known, unknown_mass = [], 0.0
        for term in set(query_terms):
            t = self._vocab.get(term)
            if t is None:  # in no article: counts in the query's mass, can never match
                unknown_mass += max_idf * (self.char_weight if term.startswith(CHAR) else 1.0)
            else:
                known.append(t)
        known_q = np.array(sorted(known), dtype=np.int64)
        q_mass = float(mass(known_q).sum()) + unknown_mass

        def match(slot: int) -> float:
            best = 0.0
            entry = self._docs[slot]
            if q_mass <= 0 or entry is None:
                return best
            for fname in ("title", "alt"):
                f = self._fields[fname]
                for u in entry.units.get(fname, ()):
                    terms = f.unit_terms[u]
                    if terms is None:
                        continue
                    ids = terms[0].astype(np.int64)
                    m = mass(ids)
                    d_mass = float(m.sum())
                    both = float(m[np.isin(ids, known_q, assume_unique=True)].sum())
                    if d_mass > 0 and both > 0:
                        best = max(best, math.sqrt((both / q_mass) * (both / d_mass)))
            return min(1.0, best)

        return match

    def _alive_slots(self) -> np.ndarray:
        return np.array([d is not None for d in self._docs], dtype=bool)


def _top(scores: np.ndarray, k: int) -> list[int]:
    if len(scores) <= k:
        return list(np.argsort(-scores, kind="stable"))
    part = np.argpartition(-scores, k)[:k]
    return list(part[np.argsort(-scores[part], kind="stable")])


def _confidence(hits: list[SearchHit]) -> Confidence:
    if not hits:
        return NO_CONFIDENCE
    s1 = hits[0].score
    s2 = hits[1].score if len(hits) > 1 else 0.0
    margin = max(0.0, (s1 - s2) / s1) if s1 > 0 else 0.0
    # The body matches more loosely (long text shares many words), so it counts for less.
    coverage = max(hits[0].match, BODY_FACTOR * hits[0].body_coverage)
    value = coverage + MARGIN_WEIGHT * min(1.0, margin)
    return Confidence(float(coverage), float(margin), float(s2 / s1) if s1 > 0 else 0.0, float(value))


BODY_FACTOR = 0.7
MARGIN_WEIGHT = 0.3


# -- optional dense embeddings -------------------------------------------------------
class VectorStore(Protocol):
    """Where computed sentence vectors are kept between processes and restarts (the
    knowledge domain keeps them in PostgreSQL), keyed by a hash of model and text."""

    def get(self, keys: list[str]) -> dict[str, np.ndarray]: ...

    def put(self, vectors: dict[str, np.ndarray]) -> None: ...


class DenseEmbeddings:
    """Sentence-embedding side index, fused with the lexical ranking by reciprocal rank.

    Only built when SODAM_EMBEDDING_MODEL names a local sentence-transformers model
    directory and sentence-transformers is installed (the `embeddings` extra). With a
    `store`, a text is encoded once per model, not once per process start.
    """

    def __init__(self, model, store: VectorStore | None = None, model_name: str = "") -> None:
        self.model = model
        self.store = store
        self.model_name = model_name
        self.vectors: dict[int, np.ndarray] = {}
        self.encoded = 0  # texts this instance had to encode (the rest came from the store)

    @classmethod
    def load(cls, path: str, store: VectorStore | None = None) -> DenseEmbeddings:
        """Over the process-wide encoder of nlp.embeddings (one loaded model, shared)."""
        from sodam.nlp.embeddings import get_encoder

        encoder = get_encoder(path)
        if encoder is None:
            raise ImportError("the embeddings extra (sentence-transformers) is not installed")
        return cls(encoder, store=store, model_name=path)

    def _encode(self, texts: list[str]) -> np.ndarray:
        # `model.encode` returns unit-length vectors (nlp.embeddings.Encoder does).
        return np.asarray(self.model.encode(texts), dtype=np.float32)

    def key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model_name}\0{text}".encode()).hexdigest()

    def add(self, batch: list[tuple[int, Document]]) -> None:
        texts = [" ".join([d.title, *d.alternate_questions, d.body[:500]]) for _, d in batch]
        keys = [self.key(t) for t in texts]
        known = self.store.get(keys) if self.store is not None else {}
        missing = [i for i, key in enumerate(keys) if key not in known]
        if missing:
            fresh = dict(
                zip([keys[i] for i in missing], self._encode([texts[i] for i in missing]), strict=True)
            )
            self.encoded += len(missing)
            if self.store is not None:
                self.store.put(fresh)
            known = {**known, **fresh}
        for (slot, _), key in zip(batch, keys, strict=True):
            self.vectors[slot] = known[key]

    def remove(self, slot: int) -> None:
        self.vectors.pop(slot, None)

    def fuse(self, query: str, lexical: list[int], *, k: int, alive: np.ndarray, c: int = 60) -> list[int]:
        if not self.vectors:
            return lexical
        slots = np.fromiter(self.vectors.keys(), dtype=np.int64)
        mat = np.stack([self.vectors[s] for s in slots])
        sims = mat @ self._encode([query])[0]
        dense = [int(slots[i]) for i in _top(sims, min(len(sims), max(k, 10)))]
        fused: dict[int, float] = {}
        for rank, s in enumerate(lexical):
            fused[s] = fused.get(s, 0.0) + 1.0 / (c + rank + 1)
        for rank, s in enumerate(dense):
            if alive[s]:
                fused[s] = fused.get(s, 0.0) + 1.0 / (c + rank + 1)
        return sorted(fused, key=lambda s: -fused[s])


def dense_from_env(store: VectorStore | None = None) -> DenseEmbeddings | None:
    """Dense embeddings when SODAM_EMBEDDING_MODEL is set and the extra is installed."""
    path = os.environ.get("SODAM_EMBEDDING_MODEL")
    if not path:
        return None
    try:
        return DenseEmbeddings.load(path, store=store)
    except ImportError:
        return None  # the embeddings extra is not installed: lexical only

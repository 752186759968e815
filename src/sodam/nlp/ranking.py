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

import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from sodam.nlp import query_adapter, small_talk
from sodam.nlp.background import for_language
from sodam.nlp.dense import DenseUnits, shortlist_similarities
from sodam.nlp.fusion import FusedScores, fuse, reads_background
from sodam.nlp.hits import NO_CONFIDENCE as NO_CONFIDENCE
from sodam.nlp.hits import Confidence as Confidence
from sodam.nlp.hits import Document as Document
from sodam.nlp.hits import SearchHit as SearchHit
from sodam.nlp.hits import SearchResult as SearchResult
from sodam.nlp.hits import fused_confidence, lexical_confidence
from sodam.nlp.postings import Postings
from sodam.nlp.terms import CHAR, WORD, analyze, analyze_batch, joined_word_terms
from sodam.nlp.text import (
    customer_query,
    topic_words,
)
from sodam.nlp.typos import TypoFixer

__all__ = ["Confidence", "Document", "LexicalIndex", "SearchHit", "SearchResult", "analyze"]

RECENT_QUESTIONS = 64  # customer_question's answers kept (a question is prepared twice per search)
# add_many of at least this many documents builds each field's postings in one compaction
# (a base's first load: 3.5 s of a 10,000-article build went to filling the delta).
BULK_DOCS = 512


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
        language: str | None = None,
    ) -> None:
        self.k1, self.b = k1, b
        self.language = language  # its articles' (ko, en): a small base reads that background
        self.background = None  # a nlp.background.Background other than the shipped one (tuning)
        self.weights = {"title": title_weight, "alt": alt_weight, "body": body_weight}
        self.char_weight = char_weight
        self.ngram_range = ngram_range
        self._vocab: dict[str, int] = {}
        self._is_word = np.zeros(1024, dtype=bool)  # per term id: word term (else character n-gram)
        self._doc_df = np.zeros(1024, dtype=np.int32)  # per term id: how many documents hold it (any field)
        self._fields = {f: Postings() for f in self.FIELDS}
        self._docs: list[_DocEntry | None] = []
        self._slot: dict[str, int] = {}
        self._lock = threading.RLock()
        self._dense: dict[str, DenseUnits] = {}
        # Documents without their sentence vectors yet (written moments ago, the job has not
        # run): while there are any, queries rank lexically, so that a new or edited article
        # is found at once instead of losing to the others' dense scores.
        self._without_vectors: set[int] = set()
        self._typos: tuple[int, TypoFixer] | None = None
        # customer_question's last answers, by (vocabulary size, text): the bot prepares a
        # question when it starts encoding it and again when it ranks it (knowledge.index)
        self._questions: OrderedDict[tuple[int, str], tuple[str, str]] = OrderedDict()

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
                    self._doc_df = np.concatenate([self._doc_df, np.zeros(len(self._doc_df), np.int32)])
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
        # Many documents (a base's first build): their units skip the postings' delta and each
        # field is compacted once at the end, as maybe_compact would have done anyway.
        bulk = len(docs) >= BULK_DOCS
        with self._lock:
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
                            unit = f.add(slot, ids, len(self._vocab), to_delta=not bulk)
                            entry.units.setdefault(fname, []).append(unit)
                self._docs[slot] = entry
                self._doc_df[self._doc_terms(entry)] += 1
                for channel, units in self._dense.items():
                    if not doc.vectors or channel not in doc.vectors:
                        units.remove(slot)
                for channel, vecs in (doc.vectors or {}).items():
                    self._dense.setdefault(channel, DenseUnits()).add(slot, vecs)
                if doc.vectors:
                    self._without_vectors.discard(slot)
                else:
                    self._without_vectors.add(slot)
            for f in self._fields.values():
                if bulk:
                    f.compact()
                else:
                    f.maybe_compact()

    update = add

    def remove(self, doc_id: str) -> bool:
        with self._lock:
            if doc_id not in self._slot:
                return False
            self._remove_units(doc_id)
            slot = self._slot.pop(doc_id)
            self._docs[slot] = None
            for units in self._dense.values():
                units.remove(slot)
            self._without_vectors.discard(slot)
            for f in self._fields.values():
                f.maybe_compact()
            return True

    def _remove_units(self, doc_id: str) -> None:
        slot = self._slot.get(doc_id)
        if slot is None or self._docs[slot] is None:
            return
        self._doc_df[self._doc_terms(self._docs[slot])] -= 1
        for fname, units in self._docs[slot].units.items():
            for u in units:
                self._fields[fname].remove(u)
        self._docs[slot] = _DocEntry(doc_id)

    def _doc_terms(self, entry: _DocEntry) -> np.ndarray:
        """The distinct term ids of a document's live units (every field)."""
        parts = [
            self._fields[fname].unit_terms[u][0]
            for fname, units in entry.units.items()
            for u in units
            if self._fields[fname].unit_terms[u] is not None
        ]
        return np.unique(np.concatenate(parts)).astype(np.int64) if parts else np.zeros(0, np.int64)

    def compact(self) -> None:
        with self._lock:
            for f in self._fields.values():
                f.compact()

    def customer_question(self, text: str) -> tuple[str, str]:
        """(the query as it is ranked: the customer's text in help-center spelling with the
        customer-word expansions (text.customer_query) and this index's typos fixed; what the
        customer asked: the same without the expansions, which the decision reads for the words no
        article holds — the expansions are the base's own words by design)."""
        key = (len(self._vocab), text)
        with self._lock:
            if key in self._questions:
                self._questions.move_to_end(key)
                return self._questions[key]
        query = self.fix_typos(customer_query(text))
        n_words = len(customer_query(text, expand=False).split(" "))
        prepared = query, " ".join(query.split(" ")[:n_words])
        with self._lock:
            self._questions[key] = prepared
            while len(self._questions) > RECENT_QUESTIONS:
                self._questions.popitem(last=False)
        return prepared

    def fix_typos(self, query: str) -> str:
        """The query with customers' typos of this index's own words corrected (nlp.typos);
        the fixer is rebuilt when the vocabulary has grown."""
        with self._lock:
            size = len(self._vocab)
            if self._typos is None or self._typos[0] != size:
                words = [t.removeprefix(WORD) for t, i in self._vocab.items() if self._is_word[i]]
                self._typos = (size, TypoFixer(words))
            fixer = self._typos[1]
        return fixer.fix(query)

    # -- search ------------------------------------------------------------------
    def _query_terms(self, query: str, terms: list[str] | None = None) -> list[tuple[int, float]]:
        counts = Counter(analyze(query, *self.ngram_range) if terms is None else terms)
        out = []
        for term, c in counts.items():
            w = c * (self.char_weight if term.startswith(CHAR) else 1.0)
            out.append((self._vocab.get(term, -1), w))
        return out

    def search(
        self, query: str, k: int = 5, vectors: dict[str, np.ndarray] | None = None
    ) -> list[tuple[str, float]]:
        return self.query(query, k, vectors).pairs()

    @property
    def channels(self) -> list[str]:
        """The dense channels some documents carry vectors on (query vectors are wanted for them)."""
        return [c for c, units in self._dense.items() if len(units)]

    @property
    def has_vectors(self) -> bool:
        """Every document has its vectors: queries are ranked by the fused scores."""
        return bool(self.channels) and not self._without_vectors

    def query(
        self,
        query: str,
        k: int = 5,
        vectors: dict[str, np.ndarray] | Callable[[], dict[str, np.ndarray]] | None = None,
        *,
        asked: str | None = None,
    ) -> SearchResult:
        """Top-k documents with per-hit coverage and the result's confidence.

        `asked`: the customer's question before the customer-word expansions (customer_question);
        the fused decision reads which of its words a candidate lacks (default: the query).

        With `vectors` (the query's sentence vector per channel, same models as the
        documents'; or the call that waits for them, made once the lexical scores are in, so
        encoding and lexical ranking overlap), the ranking and the confidence are the fused
        ones (nlp.fusion.fuse); without, lexical.
        """
        with self._lock:
            n_slots = len(self._docs)
            if not self._slot or k <= 0:
                return SearchResult([], NO_CONFIDENCE)
            terms = analyze(query, *self.ngram_range)
            # fused ranking only: the lexical decision (two-way match, BM25 margin) reads the query as typed
            fused = vectors is not None and self.has_vectors
            qterms = self._query_terms(query, terms + joined_word_terms(query, terms) if fused else terms)
            # The fused decision's reading of the asked words (a Kiwi analysis, ~2 ms) is done
            # before waiting for the vectors, while the encoders still run.
            missing = self._missing(query if asked is None else asked) if fused else None
            if not qterms and callable(vectors):
                vectors = vectors()
            if not qterms and not self._dense_for(vectors):
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
            if callable(vectors):
                vectors = vectors()
            if self._dense_for(vectors):
                return self._fused(total, per_field, vectors, k, missing)
            match = self._matcher(terms)
            order = _top(total, max(k, 2))
            order = [i for i in order if total[i] > 0]
            hits = [self._hit(i, total, per_field, match(i)) for i in order[:k]]
            return SearchResult(hits, lexical_confidence(hits))

    def _dense_for(self, vectors) -> bool:
        return bool(vectors) and self.has_vectors and any(c in vectors for c in self.channels)

    def _hit(
        self,
        slot: int,
        total,
        per_field,
        match: float,
        dense: float = -1.0,
        score: float | None = None,
        lacks: float = 0.0,
    ) -> SearchHit:
        tq = per_field["title"][0][slot] / per_field["title"][1]
        aq = per_field["alt"][0][slot] / per_field["alt"][1]
        bq = per_field["body"][0][slot] / per_field["body"][1]
        return SearchHit(
            self._docs[slot].id,
            float(total[slot]) if score is None else score,
            float(min(1.0, max(tq, aq))),
            float(min(1.0, bq)),
            match,
            dense,
            lacks,
        )

    def _fused(
        self,
        total,
        per_field,
        vectors: dict[str, np.ndarray],
        k: int,
        missing: Callable[[int], dict[str, float]],
    ) -> SearchResult:
        """`missing`: the asked words' _missing, the decision's feature and what the bot reads
        of a second article after a "no"."""
        # Exact below dense.APPROX_MIN_ARTICLES articles; above, a shortlist is (and whatever
        # reaches the top k with estimated similarities is made exact and ranked again).
        sims = shortlist_similarities(self._dense, vectors, len(self._docs), total)
        # The ranking reads the query as the language's adapter moves it, the decision the
        # encoders' own similarities; a base small enough to read the background ranks with
        # those too (nlp.query_adapter).
        small = reads_background(len(self._slot))
        ranked = (
            None
            if small
            else query_adapter.similarities(self._dense, vectors, len(self._docs), total, self.language)
        )
        shipped = (self.background or for_language(self.language)) if small else None
        background = shipped.similarities(vectors) if shipped is not None else None

        def ranking() -> FusedScores:
            return fuse(
                sims.sims, total, max(k, 2), missing, background, None if ranked is None else ranked.sims
            )

        fused = ranking()
        # An article with estimated similarities that reached the top k is made exact (the
        # adapter's similarities are exact: it does not run on approximate bases).
        while sims.make_exact(fused.slots):
            fused = ranking()
        hits = []
        # Small talk that matches no article beyond the guard: every hit below any threshold.
        best = fused.answer[0] if fused.answer else 0.0
        ceiling = 0.0 if small_talk.gated(vectors, self.language, best) else 1.0
        for slot, dense, answer in zip(fused.slots, fused.dense, fused.answer, strict=True):
            if self._docs[slot] is not None:
                # score: the decision's answer probability, never above a better-ranked hit's
                ceiling = min(ceiling, answer)
                lacks = missing(slot)["missing"]
                hits.append(self._hit(slot, total, per_field, 0.0, dense, score=ceiling, lacks=lacks))
        return SearchResult(hits[:k], fused_confidence(hits, fused.fused))

    def _missing(self, asked: str) -> Callable[[int], dict[str, float]]:
        """slot -> {"missing": the idf-weighted share of the asked question's own words that the
        document does not hold} — a question that uses the business's words but asks for
        something no article has ("제 강의도 올려서 팔 수 있나요", "how do i change a flat tire")
        leaves its own words out of the best article. The words: a Korean question's nouns,
        verbs and adjectives (text.asked_words), another's English words but the frame words
        (text.topic_words; measured on the English dev set, bench/README.md "Session 20"). A
        word is held when the document has it as a word term, or has it inside its text (a 2–3
        syllable word as one of its character n-grams, a longer one as all its 3-grams in one
        unit); idf over the documents (a word in no document: the highest); no such word: 0."""
        return self._lacking(topic_words(asked))

    def _lacking(self, words: list[str]) -> Callable[[int], dict[str, float]]:
        """slot -> {"missing": the idf-weighted share of `words` the document does not hold}."""
        n = max(len(self._slot), 1)
        vocab, df = self._vocab, self._doc_df
        parts = []  # per word: (idf, word term id or -1, character n-gram ids or None)
        for w in words:
            t = vocab.get(WORD + w, -1)
            d = int(df[t]) if t >= 0 else 0
            grams = [w] if len(w) in (2, 3) else [w[i : i + 3] for i in range(len(w) - 2)]
            ids = [vocab.get(CHAR + g, -1) for g in grams] if len(w) >= 2 else []
            parts.append((math.log1p((n - d + 0.5) / (d + 0.5)), t, ids if ids and min(ids) >= 0 else None))
        total = sum(p[0] for p in parts)

        def missing(slot: int) -> dict[str, float]:
            entry = self._docs[slot] if slot < len(self._docs) else None
            if total <= 0 or entry is None:
                return {"missing": 0.0}
            units = [
                set(self._fields[fname].unit_terms[u][0].tolist())
                for fname, us in entry.units.items()
                for u in us
                if self._fields[fname].unit_terms[u] is not None
            ]
            held = set().union(*units) if units else set()
            lost = 0.0
            for weight, t, ids in parts:
                if t >= 0 and t in held:
                    continue
                if ids is not None and any(all(i in u for i in ids) for u in units):
                    continue
                lost += weight
            return {"missing": lost / total}

        return missing

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

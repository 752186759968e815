"""The dense side of article matching: sentence vectors of each article's units, searched
by brute-force dot product, and the fusion with the lexical ranking.

Vectors come in channels (nlp.encoders.CHANNELS: e5 question-like units, the e5 passage,
the USE passage); an article's similarity on a channel is the best of its units there.
The fused ranking sums the channels' similarities as z-scores with the BM25 score; the
decision is a small logistic model over the top article's raw similarities and z-scores (fuse). Brute force is enough: 10,000 articles × ~6 units × 384 floats is under 100 MB
and one matrix-vector product of a few milliseconds.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

__all__ = ["DenseUnits", "FusedScores", "fuse"]

# Chosen on the Korean dev set only (bench/data/faq_dev, cross-checked company by company;
# see docs/knowledge.md and bench/faq_tune.py). Ranking: each channel's similarities become
# z-scores among the knowledge base's articles (so channels with different spreads add up
# fairly), plus the BM25 score relative to the query's best article.
CHANNEL_WEIGHTS = {"e5q": 1.0, "e5p": 1.0, "use": 1.0, "e5s": 1.0}
BM25_WEIGHT = 2.0
FALLBACK = {"e5s": "e5p"}
Z_FLOOR = 0.01  # keeps a knowledge base of near-identical articles from blowing z-scores up
# The decision: a logistic model over the top article's raw similarity on each channel, how far
# it stands out among the base's articles there (its z-score), and log(1 + its BM25 score),
# trained on the dev set (bench/faq_tune.py --train).
DECISION_WEIGHTS: dict[str, float] = {
    "e5q": 5.6745,
    "e5p": 5.5002,
    "use": 0.9716,
    "e5s": 12.2305,
    "bm25": 0.4311,
    "z_e5q": 0.1616,
    "z_e5p": 0.8139,
    "z_use": 0.6371,
    "z_e5s": 0.491,
}
DECISION_BIAS = -24.0662


class DenseUnits:
    """One channel's unit vectors with their owner (a document slot)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.dim = 0
        self.matrix = np.zeros((0, 0), np.float32)
        self.owner = np.zeros(0, np.int64)  # slot, -1 for a dead row
        self.rows: dict[int, list[int]] = {}  # slot -> its rows
        self.n = 0
        self.dead = 0

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, slot: int, vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, np.float32)
        if vectors.ndim != 2 or len(vectors) == 0:
            self.remove(slot)
            return
        with self._lock:
            self.remove(slot)
            if self.dim == 0:
                self.dim = vectors.shape[1]
                self.matrix = np.zeros((64, self.dim), np.float32)
                self.owner = np.full(64, -1, np.int64)
            if vectors.shape[1] != self.dim:
                return  # another model's vectors: not comparable, leave the document lexical only
            need = self.n + len(vectors)
            if need > len(self.matrix):
                cap = max(need, 2 * len(self.matrix))
                self.matrix = np.concatenate(
                    [self.matrix, np.zeros((cap - len(self.matrix), self.dim), np.float32)]
                )
                self.owner = np.concatenate([self.owner, np.full(cap - len(self.owner), -1, np.int64)])
            rows = list(range(self.n, need))
            self.matrix[rows] = vectors
            self.owner[rows] = slot
            self.rows[slot] = rows
            self.n = need

    def remove(self, slot: int) -> None:
        with self._lock:
            rows = self.rows.pop(slot, None)
            if not rows:
                return
            self.owner[rows] = -1
            self.matrix[rows] = 0.0
            self.dead += len(rows)
            if self.dead > max(256, self.n // 4):
                self._compact()

    def _compact(self) -> None:
        live = np.flatnonzero(self.owner[: self.n] >= 0)
        self.matrix = np.ascontiguousarray(self.matrix[live])
        self.owner = self.owner[live]
        self.n = len(live)
        self.dead = 0
        self.rows = {}
        for row, slot in enumerate(self.owner.tolist()):
            self.rows.setdefault(slot, []).append(row)

    def similarities(self, query: np.ndarray, n_slots: int) -> np.ndarray:
        """Per slot: the best unit similarity; -1 with no vector."""
        out = np.full(n_slots, -1.0, np.float32)
        with self._lock:
            if self.n == 0:
                return out
            sims = self.matrix[: self.n] @ np.asarray(query, np.float32)
            owner = self.owner[: self.n]
            live = owner >= 0
            np.maximum.at(out, owner[live], sims[live])
        return out


@dataclass(frozen=True)
class FusedScores:
    slots: list[int]  # best first
    fused: list[float]  # the ranking score (z-scores summed, see fuse)
    dense: list[float]  # best channel similarity
    answer: list[float]  # the decision's probability that this article answers the query (0..1)
    features: list[dict[str, float]]  # what answer_probability read, per slot (for tuning)


def answer_probability(features: dict[str, float]) -> float:
    """The logistic decision (DECISION_WEIGHTS, trained on the dev set by bench/faq_tune.py)."""
    x = DECISION_BIAS + sum(w * features.get(name, 0.0) for name, w in DECISION_WEIGHTS.items())
    return float(1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x)))))


def fuse(channel_sims: dict[str, np.ndarray], bm25: np.ndarray, k: int) -> FusedScores:
    """Rank every article with vectors by Σ CHANNEL_WEIGHTS × (its similarity on a channel as a
    z-score among the knowledge base's articles) + BM25_WEIGHT × (its BM25 score / the query's
    best); then the decision's answer probability for each of the top k from its raw
    similarities, their z-scores and the BM25 score (answer_probability)."""
    n = max((len(s) for s in channel_sims.values()), default=0)
    if n == 0:
        return FusedScores([], [], [], [], [])
    has = np.zeros(n, bool)
    for sims in channel_sims.values():
        has |= sims > -1.0
    live = np.flatnonzero(has)
    if len(live) == 0:
        return FusedScores([], [], [], [], [])
    score = np.zeros(len(live), np.float64)
    best = np.full(len(live), -1.0, np.float64)
    raw: dict[str, np.ndarray] = {}
    zs: dict[str, np.ndarray] = {}
    for channel, sims in channel_sims.items():
        x = np.asarray(sims[live], np.float64)
        present = x > -1.0
        if not present.any():
            continue  # no article has a unit there (e.g. no article has a body)
        best = np.maximum(best, x)
        # An article without a unit on the channel (no body) sits at the channel's mean.
        x = np.where(present, x, x[present].mean())
        raw[channel] = x
        w = CHANNEL_WEIGHTS.get(channel, 0.0)
        if len(x) > 1:
            zs[channel] = (x - x.mean()) / (x.std() + Z_FLOOR)
            if w:
                score += w * zs[channel]
    for channel, fallback in FALLBACK.items():
        if channel not in raw and fallback in raw:
            raw[channel] = raw[fallback]  # the decision's feature when no article has body sentences
            if fallback in zs:
                zs[channel] = zs[fallback]
    lexical = np.zeros(len(live), np.float64)
    if bm25 is not None and len(bm25):
        b = np.zeros(n, np.float64)
        b[: min(n, len(bm25))] = bm25[:n]
        lexical = b[live]
    top_bm25 = float(lexical.max()) if len(lexical) else 0.0
    if top_bm25 > 0:
        score += BM25_WEIGHT * lexical / top_bm25
    order = np.argsort(-score, kind="stable")[:k]
    answer, features = [], []
    for i in order:
        f = {channel: float(x[i]) for channel, x in raw.items()}
        f["bm25"] = math.log1p(max(0.0, float(lexical[i])))
        f.update({f"z_{channel}": float(z[i]) for channel, z in zs.items()})
        features.append(f)
        answer.append(answer_probability(f))
    return FusedScores(
        [int(live[i]) for i in order],
        [float(score[i]) for i in order],
        [float(best[i]) for i in order],
        answer,
        features,
    )

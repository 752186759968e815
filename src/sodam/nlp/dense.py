"""The dense side of article matching: sentence vectors of each article's units, searched
by brute-force dot product, and the fusion with the lexical ranking.

Vectors come in channels (nlp.encoders.CHANNELS: e5 question-like units, the e5 passage,
the USE passage); an article's similarity on a channel is the best of its units there.
The fused score is a weighted sum of the channels' similarities and the lexical two-way
match. Brute force is enough: 10,000 articles × ~6 units × 384 floats is under 100 MB
and one matrix-vector product of a few milliseconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["DenseUnits", "FusedScores", "fuse"]

# Chosen on the Korean dev set only (bench/data/faq_dev; see docs/knowledge.md).
CHANNEL_WEIGHTS = {"e5q": 0.417, "e5p": 0.417, "use": 0.083}
LEXICAL_WEIGHT = 0.083  # × the lexical two-way match (0..1)


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
    fused: list[float]
    dense: list[float]
    match: list[float]


def fuse(
    channel_sims: dict[str, np.ndarray],
    lexical_match: Callable[[int], float],
    lexical_order: list[int],
    k: int,
) -> FusedScores:
    """Rank the union of the lexical top and each channel's top by
    Σ CHANNEL_WEIGHTS × similarity + LEXICAL_WEIGHT × match (the lexical two-way match of a
    slot, nlp.ranking's SearchHit.match); `dense` is the best channel similarity."""
    candidates = set(lexical_order)
    for sims in channel_sims.values():
        has_vector = np.flatnonzero(sims > -1.0)
        n = max(k, 10)
        if len(has_vector) > n:
            has_vector = has_vector[np.argpartition(-sims[has_vector], n)[:n]]
        candidates.update(int(s) for s in has_vector)
    # The dense part first; the lexical match (the costly part) only for candidates that can
    # still reach the top k with it (it adds at most LEXICAL_WEIGHT).
    partial = []
    for slot in candidates:
        dense_part = 0.0
        best = -1.0
        for channel, sims in channel_sims.items():
            if slot < len(sims):
                dense_part += CHANNEL_WEIGHTS.get(channel, 0.0) * max(float(sims[slot]), 0.0)
                best = max(best, float(sims[slot]))
        partial.append((dense_part, best, slot))
    partial.sort(key=lambda x: (-x[0], x[2]))
    scored = []
    for dense_part, best, slot in partial:
        if len(scored) >= k:
            kth = sorted(f for f, *_ in scored)[-k]
            if dense_part + LEXICAL_WEIGHT < kth:
                break
        match = lexical_match(slot)
        scored.append((dense_part + LEXICAL_WEIGHT * match, best, match, slot))
    scored.sort(key=lambda x: (-x[0], x[3]))
    scored = scored[:k]
    return FusedScores(
        [s for *_, s in scored],
        [f for f, *_ in scored],
        [d for _, d, *_ in scored],
        [m for _, _, m, _ in scored],
    )

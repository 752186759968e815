"""The vectors side of article matching: each article's unit vectors per channel, searched by
dot product.

Vectors come in channels (nlp.encoders.CHANNELS: e5 question-like units, the e5 passage,
the USE passage); an article's similarity on a channel is the best of its units there
(DenseUnits). Bases under APPROX_MIN_ARTICLES are searched exactly (every unit); larger ones rank
every article on a 64-d projection and score a shortlist (and a calibration sample that keeps
the z-scores over all articles) exactly — shortlist_similarities, which picks its shortlist by
the fused ranking's formula. The fusion with the lexical ranking and the decision on the top
article are in nlp.fusion. Importing this module sets numpy's BLAS threads (limit_blas_threads).
"""

from __future__ import annotations

import functools
import math
import os
import threading
from dataclasses import dataclass

import numpy as np

from sodam.nlp import fusion  # its weights read at each call: a bench or a test may change them
from sodam.nlp.fusion import bm25_of, mean_filled, z_scores

__all__ = ["ChannelSimilarities", "DenseUnits", "shortlist_similarities"]

# Approximate search on a large knowledge base (DenseUnits.approximate, shortlist_similarities):
# a channel whose vectors belong to at least APPROX_MIN_ARTICLES articles also keeps them
# projected on their COARSE_DIM principal axes; a query reads that small matrix for every
# article, then the full vectors only for a shortlist. Below it every similarity is exact.
APPROX_MIN_ARTICLES = 4000
COARSE_DIM = 64
PCA_SAMPLE = 8192  # rows the principal axes are fitted on
SHORTLIST = 256  # articles re-scored exactly: the best by the approximate fused score ...
SHORTLIST_PER_CHANNEL = 32  # ... plus each channel's and the BM25 ranking's best
CALIBRATION_SAMPLE = 512  # articles scored exactly to place the others' estimates (z-score stats)


def limit_blas_threads() -> None:
    """numpy's BLAS on SODAM_BLAS_THREADS threads, process-wide (default 1; "auto" leaves it).

    A query's products are matrix-vector ones over a few MB (memory-bound: a second thread buys
    little), and OpenBLAS's threads wait for each other: with the other core busy (the encoders,
    PostgreSQL, another process) a split product waits for its descheduled half. Measured at
    10,000 articles, same process, queries alternating (load ~8): the ranking with the query's
    vectors given p50 37 / p99 130 ms on one thread against 61 / 229 ms on two; a single
    approximate pass p90 6 ms against 16."""
    wanted = os.environ.get("SODAM_BLAS_THREADS", "1").strip().lower()
    if wanted in ("", "auto"):
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn's dependency, so normally installed
        return
    threadpool_limits(limits=max(1, int(wanted)), user_api="blas")


limit_blas_threads()


class DenseUnits:
    """One channel's unit vectors with their owner (a document slot).

    A slot's rows are contiguous (add appends them together; compaction keeps the order), so
    an article's best unit is a segment maximum (np.maximum.reduceat)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.dim = 0
        self.matrix = np.zeros((0, 0), np.float32)
        self.owner = np.zeros(0, np.int64)  # slot, -1 for a dead row
        self.rows: dict[int, range] = {}  # slot -> its rows
        self.first = np.zeros(0, np.int64)  # per slot: its first row ...
        self.count = np.zeros(0, np.int64)  # ... and how many (0: none)
        self.n = 0
        self.dead = 0
        self._runs_cache: tuple[np.ndarray, np.ndarray] | None = None  # (first row, slot) per run
        # Bumped on every change of the rows: exact_for_fixed's gathered block is of one generation.
        self._generation = 0
        self._fixed: tuple | None = None
        # Principal axes of the rows (mean, dim × COARSE_DIM) once the channel is large, and
        # every row projected on them (coarse[:n], kept with matrix).
        self._basis: tuple[np.ndarray, np.ndarray] | None = None
        self.coarse = np.zeros((0, 0), np.float32)
        self._fitted_slots = 0

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
            start, need = self.n, self.n + len(vectors)
            if need > len(self.matrix):
                cap = max(need, 2 * len(self.matrix))
                self.matrix = _grown(self.matrix, cap, 0.0)
                self.owner = _grown(self.owner, cap, -1)
                if self._basis is not None:
                    self.coarse = _grown(self.coarse, cap, 0.0)
            if slot >= len(self.first):
                cap = max(slot + 1, 2 * len(self.first), 64)
                self.first = _grown(self.first, cap, 0)
                self.count = _grown(self.count, cap, 0)
            self.matrix[start:need] = vectors
            self.owner[start:need] = slot
            self.rows[slot] = range(start, need)
            self.first[slot], self.count[slot] = start, len(vectors)
            self.n = need
            self._runs_cache = None
            self._generation += 1
            if len(self.rows) >= APPROX_MIN_ARTICLES and len(self.rows) >= 2 * self._fitted_slots:
                self._fit()  # the first time, and again each time the channel has doubled
            elif self._basis is not None:
                mean, axes = self._basis
                self.coarse[start:need] = (vectors - mean) @ axes

    def remove(self, slot: int) -> None:
        with self._lock:
            rows = self.rows.pop(slot, None)
            if not rows:
                return
            self.owner[rows.start : rows.stop] = -1
            self.matrix[rows.start : rows.stop] = 0.0
            if self._basis is not None:
                self.coarse[rows.start : rows.stop] = 0.0
            self.count[slot] = 0
            self.dead += len(rows)
            self._runs_cache = None
            self._generation += 1
            if self.dead > max(256, self.n // 4):
                self._compact()

    def _compact(self) -> None:
        live = np.flatnonzero(self.owner[: self.n] >= 0)
        self.matrix = np.ascontiguousarray(self.matrix[live])
        if self._basis is not None:
            self.coarse = np.ascontiguousarray(self.coarse[live])
        self.owner = self.owner[live]
        self.n = len(live)
        self.dead = 0
        starts, slots = self._runs()
        stops = np.append(starts[1:], self.n)
        self.rows = {}
        self.count[:] = 0
        for slot, a, b in zip(slots.tolist(), starts.tolist(), stops.tolist(), strict=True):
            self.rows[slot] = range(a, b)
            self.first[slot], self.count[slot] = a, b - a

    def _fit(self) -> None:
        """Principal axes of (a sample of) the live rows, and every row projected on them.
        CPU work of ~0.1 s at 100,000 rows, in the indexing thread (never a query's): when the
        channel first reaches APPROX_MIN_ARTICLES and each time it has doubled since."""
        live = np.flatnonzero(self.owner[: self.n] >= 0)
        sample = live
        if len(live) > PCA_SAMPLE:
            sample = np.sort(np.random.default_rng(len(live)).choice(live, PCA_SAMPLE, replace=False))
        x = self.matrix[sample].astype(np.float64)
        mean = x.mean(axis=0)
        x -= mean
        _, vecs = np.linalg.eigh(x.T @ x)
        axes = np.ascontiguousarray(vecs[:, ::-1][:, :COARSE_DIM], dtype=np.float32)
        mean32 = mean.astype(np.float32)
        coarse = np.zeros((len(self.matrix), axes.shape[1]), np.float32)
        coarse[: self.n] = (self.matrix[: self.n] - mean32) @ axes
        coarse[: self.n][self.owner[: self.n] < 0] = 0.0
        self._basis = (mean32, axes)
        self.coarse = coarse
        self._fitted_slots = len(self.rows)

    def _runs(self) -> tuple[np.ndarray, np.ndarray]:
        """(first row, owner) of each run of equal owners in matrix[:n] (dead runs included)."""
        if self._runs_cache is None:
            owner = self.owner[: self.n]
            starts = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]]))
            self._runs_cache = (starts, owner[starts])
        return self._runs_cache

    def _best_per_slot(self, sims: np.ndarray, n_slots: int) -> np.ndarray:
        out = np.full(n_slots, -1.0, np.float32)
        starts, slots = self._runs()
        best = np.maximum.reduceat(sims, starts)
        live = slots >= 0
        out[slots[live]] = best[live]
        return out

    @property
    def approximate_ready(self) -> bool:
        return self._basis is not None

    def similarities(self, query: np.ndarray, n_slots: int) -> np.ndarray:
        """Per slot: the best unit similarity (exact); -1 with no vector."""
        with self._lock:
            if self.n == 0:
                return np.full(n_slots, -1.0, np.float32)
            sims = self.matrix[: self.n] @ np.asarray(query, np.float32)
            return self._best_per_slot(sims, n_slots)

    def approximate(self, query: np.ndarray, n_slots: int) -> np.ndarray | None:
        """Per slot: an estimate of the best unit similarity from the rows' projection on their
        principal axes (None below APPROX_MIN_ARTICLES); -1 with no vector."""
        with self._lock:
            if self._basis is None or self.n == 0:
                return None
            mean, axes = self._basis
            q = np.asarray(query, np.float32)
            sims = self.coarse[: self.n] @ (q @ axes)
            sims += float(mean @ q)
            return self._best_per_slot(sims, n_slots)

    def _rows_of(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, each slot's first position among them, which slots have rows); under the lock."""
        known = slots < len(self.count)
        count = np.zeros(len(slots), np.int64)
        count[known] = self.count[slots[known]]
        has = count > 0
        first, count = self.first[slots[has]], count[has]
        offsets = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
        rows = np.repeat(first - offsets, count) + np.arange(int(count.sum()))
        return rows, offsets, has

    def exact_for(self, query: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """The exact best unit similarity of these slots (-1 for a slot without vectors)."""
        slots = np.asarray(slots, np.int64)
        out = np.full(len(slots), -1.0, np.float32)
        with self._lock:
            rows, offsets, has = self._rows_of(slots)
            if has.any():
                out[has] = np.maximum.reduceat(self.matrix[rows] @ np.asarray(query, np.float32), offsets)
        return out

    def exact_for_fixed(self, query: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """exact_for a set of slots asked for query after query (the calibration sample): their
        rows are gathered into one block once per change of the channel, not per query."""
        slots = np.asarray(slots, np.int64)
        out = np.full(len(slots), -1.0, np.float32)
        with self._lock:
            kept = self._fixed
            if kept is None or kept[0] != self._generation or not np.array_equal(kept[1], slots):
                rows, offsets, has = self._rows_of(slots)
                kept = (self._generation, slots.copy(), np.ascontiguousarray(self.matrix[rows]), offsets, has)
                self._fixed = kept
            _, _, block, offsets, has = kept
            if has.any():
                out[has] = np.maximum.reduceat(block @ np.asarray(query, np.float32), offsets)
        return out


def _grown(a: np.ndarray, cap: int, fill) -> np.ndarray:
    extra = np.full((cap - len(a), *a.shape[1:]), fill, a.dtype)
    return np.concatenate([a, extra])


@dataclass
class ChannelSimilarities:
    """Per channel the articles' best unit similarities (what fuse() reads), and which
    articles have exact ones (None: all)."""

    sims: dict[str, np.ndarray]
    exact: np.ndarray | None = None
    units: dict[str, DenseUnits] | None = None
    vectors: dict[str, np.ndarray] | None = None

    def make_exact(self, slots: list[int]) -> bool:
        """Replace the estimates of these slots by their exact similarities; False when they
        were all exact already (rank again after True: an estimate had reached the top)."""
        if self.exact is None:
            return False
        todo = np.array([s for s in slots if not self.exact[s]], np.int64)
        if not len(todo):
            return False
        for channel, x in self.sims.items():
            x[todo] = self.units[channel].exact_for(self.vectors[channel], todo)
        self.exact[todo] = True
        return True


@functools.lru_cache(maxsize=8)
def _calibration_positions(n_live: int) -> np.ndarray:
    """The calibration sample's positions among n_live articles: fixed for a base's size (the
    same for every query), drawn once (a draw without replacement shuffles all n_live)."""
    positions = np.random.default_rng(n_live).choice(n_live, CALIBRATION_SAMPLE, replace=False)
    positions.setflags(write=False)
    return positions


def shortlist_similarities(
    units: dict[str, DenseUnits], vectors: dict[str, np.ndarray], n_slots: int, bm25: np.ndarray
) -> ChannelSimilarities:
    """Per channel the articles' best unit similarities, as fuse() reads them.

    Exact on a channel below APPROX_MIN_ARTICLES. On a large channel the rows' projection
    (DenseUnits.approximate) ranks every article; a shortlist gets its exact similarities: the
    SHORTLIST best by the approximate fused score (fuse's formula) and each channel's and
    BM25's SHORTLIST_PER_CHANNEL best. The other articles keep an estimate, placed so that
    fuse's z-scores stay those of the exact similarities: the non-shortlisted articles' mean and
    standard deviation are estimated from their approximate values and, on a fixed uniform
    sample of CALIBRATION_SAMPLE of them scored exactly too, how the exact values differ; the
    estimates are then shifted and scaled to have that mean and deviation (the shortlist's
    values being exact, the channel's z-scores are the exact ones up to the sample's error).
    The caller ranks with fuse(), and when an article with estimates reaches fuse's top k,
    makes it exact (ChannelSimilarities.make_exact) and ranks again.
    """
    sims: dict[str, np.ndarray] = {}
    rough: dict[str, np.ndarray] = {}
    for channel, u in units.items():
        if channel not in vectors or not len(u):
            continue
        approx = u.approximate(vectors[channel], n_slots)
        if approx is None:
            sims[channel] = u.similarities(vectors[channel], n_slots)
        else:
            rough[channel] = approx
    if not rough:
        return ChannelSimilarities(sims)
    every = {**sims, **rough}
    has = np.zeros(n_slots, bool)
    for x in every.values():
        has |= x > -1.0
    live = np.flatnonzero(has)
    if len(live) <= SHORTLIST + CALIBRATION_SAMPLE:
        return ChannelSimilarities({c: units[c].similarities(vectors[c], n_slots) for c in every})
    lexical = bm25_of(bm25, n_slots, live)
    score = np.zeros(len(live), np.float64)
    picked = np.zeros(len(live), bool)
    for channel, x in every.items():
        xl = x[live].astype(np.float64)
        present = xl > -1.0
        if not present.any():
            continue
        xl = mean_filled(xl, present)
        score += fusion.CHANNEL_WEIGHTS.get(channel, 0.0) * z_scores(xl)
        picked[np.argpartition(-xl, SHORTLIST_PER_CHANNEL)[:SHORTLIST_PER_CHANNEL]] = True
    if lexical.max() > 0:
        score += fusion.BM25_WEIGHT * lexical / lexical.max()
        picked[np.argpartition(-lexical, SHORTLIST_PER_CHANNEL)[:SHORTLIST_PER_CHANNEL]] = True
    picked[np.argpartition(-score, SHORTLIST)[:SHORTLIST]] = True
    in_sample = np.zeros(len(live), bool)
    in_sample[_calibration_positions(len(live))] = True
    whole_sample, shortlist_only = live[in_sample], live[picked & ~in_sample]
    in_sample &= ~picked
    sample, rest = live[in_sample], live[~(picked | in_sample)]
    for channel, approx in rough.items():
        u, q = units[channel], vectors[channel]
        out = approx.copy()
        # The sample is the same for every query (until the base changes): its rows are kept
        # gathered; only the query's shortlist is gathered per query.
        out[whole_sample] = u.exact_for_fixed(q, whole_sample)
        out[shortlist_only] = u.exact_for(q, shortlist_only)
        # The shortlist's values are exact; the others' (R) mean and variance are estimated
        # from their approximate values and, on the sample (uniform over R), how the exact
        # values differ from them. The rest of R is then placed to have those moments.
        others = live[~picked]
        others = others[approx[others] > -1.0]
        known = sample[(out[sample] > -1.0) & (approx[sample] > -1.0)]
        rest_present = rest[approx[rest] > -1.0]
        if len(known) > 1 and len(rest_present) > 1:
            a_known = approx[known].astype(np.float64)
            diff = out[known].astype(np.float64) - a_known
            a_others = approx[others].astype(np.float64)
            mean = a_others.mean() + diff.mean()
            cov = float(np.mean((a_known - a_known.mean()) * (diff - diff.mean())))
            var = a_others.var() + diff.var() + 2 * cov
            f = out[known].astype(np.float64)
            n_all, n_rest = len(f) + len(rest_present), len(rest_present)
            rest_mean = (n_all * mean - f.sum()) / n_rest
            rest_var = (n_all * (var + mean**2) - (f**2).sum()) / n_rest - rest_mean**2
            r = approx[rest_present].astype(np.float64)
            spread = math.sqrt(max(rest_var, 0.0)) / max(float(r.std()), 1e-9)
            out[rest_present] = (rest_mean + (r - r.mean()) * spread).astype(np.float32)
        sims[channel] = out
    exact = np.ones(n_slots, bool)
    exact[rest] = False
    return ChannelSimilarities(sims, exact, units, vectors)

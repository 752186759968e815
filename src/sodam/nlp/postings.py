"""One field's postings for nlp.ranking: raw term counts per unit, BM25 at query time.

Raw counts live in a compressed term-major matrix plus a small delta of recent
changes; the matrix is rebuilt only now and then (amortised), so an article change
costs one document's analysis.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np


class Postings:
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

    def add(self, doc: int, term_ids: list[int], n_terms: int, *, to_delta: bool = True) -> int:
        """Add one unit. to_delta=False leaves it out of the delta (searchable only after the
        caller's compact()): a whole base's build compacts once instead of filling the delta."""
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
        if not to_delta:
            return unit
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

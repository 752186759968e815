"""The dense search structure (nlp.dense.DenseUnits): the per-article segment maximum, the
exact re-scoring of a shortlist and the approximate path on large channels."""

from __future__ import annotations

import numpy as np
import pytest

from sodam.nlp import dense, fusion
from sodam.nlp.dense import DenseUnits, shortlist_similarities
from sodam.nlp.fusion import fuse


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _reference(units: DenseUnits, q: np.ndarray, n_slots: int) -> np.ndarray:
    """The former computation: np.maximum.at over the live rows."""
    out = np.full(n_slots, -1.0, np.float32)
    sims = units.matrix[: units.n] @ q
    owner = units.owner[: units.n]
    live = owner >= 0
    np.maximum.at(out, owner[live], sims[live])
    return out


def test_segment_max_equals_maximum_at_with_removed_and_replaced_slots():
    rng = np.random.default_rng(1)
    units = DenseUnits()
    n_slots = 400
    for slot in range(n_slots):
        units.add(slot, _unit(rng.standard_normal((int(rng.integers(1, 6)), 16))))
    for slot in rng.choice(n_slots, 60, replace=False):  # dead rows in the middle
        units.remove(int(slot))
    for slot in rng.choice(n_slots, 40, replace=False):  # re-added at the end
        units.add(int(slot), _unit(rng.standard_normal((int(rng.integers(1, 4)), 16))))
    assert units.dead > 0  # no compaction yet: dead runs are between live ones
    for _ in range(5):
        q = _unit(rng.standard_normal(16))
        got = units.similarities(q, n_slots + 3)
        np.testing.assert_array_equal(got, _reference(units, q, n_slots + 3))
        assert (got[n_slots:] == -1.0).all() and (got[:n_slots] == -1.0).sum() == len(
            set(range(n_slots)) - set(units.rows)
        )
        some = np.array(sorted(rng.choice(n_slots, 50, replace=False)))
        # the same rows, multiplied in another batch (BLAS may differ in the last bit)
        np.testing.assert_allclose(units.exact_for(q, some), got[some], rtol=1e-6, atol=1e-7)
    for slot in list(units.rows)[:200]:  # compaction keeps each slot's rows contiguous
        units.remove(slot)
    assert units.dead < 256
    q = _unit(rng.standard_normal(16))
    np.testing.assert_array_equal(units.similarities(q, n_slots), _reference(units, q, n_slots))


def _base(rng, n_articles: int, dim: int = 48):
    """Articles on shared topics (vectors close to one another, as sentence vectors are)."""
    topics = rng.standard_normal((40, dim))
    common = rng.standard_normal(dim) * 3
    by_channel: dict[str, DenseUnits] = {"q": DenseUnits(), "s": DenseUnits()}
    own = []
    for slot in range(n_articles):
        center = common + topics[rng.integers(40)] + 0.8 * rng.standard_normal(dim)
        own.append(center)
        for channel, count in (("q", 4), ("s", 3)):
            by_channel[channel].add(slot, _unit(center + 0.7 * rng.standard_normal((count, dim))))
    return by_channel, np.array(own)


def test_the_approximate_path_finds_the_exact_top_article(monkeypatch):
    monkeypatch.setattr(dense, "APPROX_MIN_ARTICLES", 1000)
    monkeypatch.setattr(dense, "COARSE_DIM", 16)
    monkeypatch.setattr(fusion, "CHANNEL_WEIGHTS", {"q": 1.0, "s": 1.0})
    rng = np.random.default_rng(7)
    n = 1500
    units, centers = _base(rng, n)
    assert all(u.approximate_ready for u in units.values())  # 6,000 and 4,500 rows
    same_top, checked, errors = 0, 0, []
    for target in rng.choice(n, 40, replace=False):
        q = _unit(centers[target] + 0.9 * rng.standard_normal(centers.shape[1]))
        vectors = {"q": q, "s": q}
        bm25 = np.zeros(n, np.float32)
        exact = {c: u.similarities(q, n) for c, u in units.items()}
        found = shortlist_similarities(units, vectors, n, bm25)
        got = fuse(found.sims, bm25, 3)
        while found.make_exact(got.slots):  # as LexicalIndex._fused does
            got = fuse(found.sims, bm25, 3)
        short, want = found.sims, fuse(exact, bm25, 3)
        assert found.exact[got.slots].all() and 0 < found.exact.sum() < n / 2
        checked += 1
        same_top += want.slots[0] == got.slots[0]
        for c in units:
            # The top articles carry their exact similarities (the decision's inputs) ...
            for slot in got.slots:
                assert short[c][slot] == pytest.approx(exact[c][slot], rel=1e-6)
            # ... and the channel's mean and spread (fuse's z-scores) are the exact ones', nearly.
            sd = float(exact[c].std())
            errors.append((abs(short[c].mean() - exact[c].mean()) / sd, abs(short[c].std() / sd - 1)))
    assert same_top == checked
    errors = np.array(errors)
    assert (errors.max(axis=0) < [0.1, 0.08]).all()
    assert (errors.mean(axis=0) < [0.035, 0.035]).all()


def test_small_channels_stay_exact():
    rng = np.random.default_rng(3)
    units, centers = _base(rng, 200)
    assert not any(u.approximate_ready for u in units.values())
    q = _unit(centers[5])
    found = shortlist_similarities(units, {"q": q, "s": q}, 200, np.zeros(200, np.float32))
    assert found.exact is None
    short = found.sims
    for c, u in units.items():
        np.testing.assert_array_equal(short[c], u.similarities(q, 200))


def test_the_projection_follows_adds_removals_and_compaction(monkeypatch):
    monkeypatch.setattr(dense, "APPROX_MIN_ARTICLES", 300)
    monkeypatch.setattr(dense, "COARSE_DIM", 8)
    rng = np.random.default_rng(5)
    units = DenseUnits()
    for slot in range(700):  # fitted at 300 articles, again at 600
        units.add(slot, _unit(rng.standard_normal((3, 24))))
    assert units.approximate_ready and units._fitted_slots == 600
    for slot in range(0, 700, 2):  # enough dead rows to compact
        units.remove(slot)
    for slot in range(0, 100, 2):
        units.add(slot, _unit(rng.standard_normal((2, 24))))
    mean, axes = units._basis
    q = _unit(rng.standard_normal(24))
    want = np.full(710, -1.0, np.float32)
    for slot, rows in units.rows.items():
        want[slot] = ((units.matrix[rows.start : rows.stop] - mean) @ axes @ (q @ axes) + mean @ q).max()
    np.testing.assert_allclose(units.approximate(q, 710), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(units.similarities(q, 710), _reference(units, q, 710))


def test_a_base_of_one_article_reads_a_typical_standing_not_none():
    """With one article there is no spread: the decision's z-score features read Z_SMALL_BASE
    (without them a one-article base handed every right answer off)."""
    sims = {c: np.array([0.9], np.float32) for c in ("e5q", "e5p", "use", "e5s")}
    out = fuse(sims, np.array([1.0]), 1)
    assert all(out.features[0][f"z_{c}"] == fusion.Z_SMALL_BASE for c in sims)
    many = fuse({c: np.linspace(0.5, 0.9, 8).astype(np.float32) for c in sims}, np.zeros(8), 1)
    assert many.features[0]["z_e5q"] != fusion.Z_SMALL_BASE and many.slots[0] == 7


def test_the_kept_sample_block_follows_changes_of_the_channel():
    rng = np.random.default_rng(7)
    units = DenseUnits()
    for slot in range(40):
        units.add(slot, _unit(rng.standard_normal((1 + slot % 3, 8))))
    slots = np.array([3, 5, 8, 13, 21, 34], np.int64)
    q = _unit(rng.standard_normal(8))
    assert np.allclose(units.exact_for_fixed(q, slots), units.exact_for(q, slots))
    units.add(5, _unit(rng.standard_normal((2, 8))))  # replaced: new rows elsewhere
    units.remove(8)  # gone: -1
    again = units.exact_for_fixed(q, slots)
    assert np.allclose(again, units.exact_for(q, slots)) and again[2] == -1.0


def test_fuse_top_k_is_the_stable_sorts_first_k_ties_included():
    rng = np.random.default_rng(3)
    for trial in range(300):
        n, k = int(rng.integers(1, 400)), int(rng.integers(1, 12))
        x = rng.standard_normal(n)
        if trial % 3 == 0:
            x = np.round(x, 1)  # many ties
        if trial % 7 == 0:
            x[:] = 0.5  # all tied: by position
        assert np.array_equal(fusion._stable_top(x, k), np.argsort(-x, kind="stable")[:k])


def test_blas_runs_on_one_thread_unless_told_otherwise():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert blas and all(i["num_threads"] == 1 for i in blas if "numpy" in i["filepath"])

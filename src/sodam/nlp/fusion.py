"""The fusion of the dense and lexical rankings, and the decision on the top article.

fuse ranks every article with vectors by the sum of its channels' similarities as z-scores among
the knowledge base's articles (nlp.encoders.CHANNELS, weighted by CHANNEL_WEIGHTS) and its BM25
score relative to the query's best (BM25_WEIGHT); then, for the top k, the decision: a small
logistic model (answer_probability, DECISION_WEIGHTS) over the article's raw similarities, their
z-scores, its BM25 score and the lexical index's "missing". The similarities come from the
vectors side (nlp.dense: DenseUnits, shortlist_similarities), which reads the same ranking terms
(CHANNEL_WEIGHTS, z_scores) to pick its shortlist on a large knowledge base.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["FusedScores", "answer_probability", "fuse"]

# Chosen on the Korean dev set only (bench/data/faq_dev, cross-checked company by company;
# see docs/knowledge.md and bench/faq_tune.py). Ranking: each channel's similarities become
# z-scores among the knowledge base's articles (so channels with different spreads add up
# fairly), plus the BM25 score relative to the query's best article.
CHANNEL_WEIGHTS = {"e5q": 1.0, "e5p": 1.0, "use": 1.0, "e5s": 1.0}
BM25_WEIGHT = 2.0
FALLBACK = {"e5s": "e5p"}
Z_FLOOR = 0.01  # keeps a knowledge base of near-identical articles from blowing z-scores up
# Under this many articles, when the language has no shipped background (nlp.background), the
# decision's z-score features are not computed (one article has no spread at all): it reads
# Z_SMALL_BASE, about where a right top article stands on dev.
MIN_Z_ARTICLES = 5
Z_SMALL_BASE = 1.5
# A base of fewer articles than this reads the spread of its similarities with a prior: the
# shipped background's articles count as BACKGROUND_PRIOR_ARTICLES − n articles' worth beside
# its own n. Its own z-scores over a few articles are capped (at most √(n − 1)) and noisy, so a
# right answer could not stand out as it does in the 20–40-article bases the decision was
# fitted on; chosen on the dev sets (bench/README.md "Session 22").
BACKGROUND_PRIOR_ARTICLES = 12
# The decision: a logistic model over the top article's raw similarity on each channel, how far
# it stands out among the base's articles there (its z-score), log(1 + its BM25 score) and the
# share of the customer's own words it lacks ("missing", nlp.ranking.LexicalIndex._missing),
# trained on the dev set's eight companies (bench/faq_tune.py --train; refitted 2026-12-06 with
# "missing" added: leave-one-company-out it answers as many right at a higher handoff,
# bench/README.md "Issue 11, tenth pass").
DECISION_WEIGHTS: dict[str, float] = {
    "e5q": 9.0883,
    "e5p": -0.0634,
    "use": -1.6565,
    "e5s": 12.185,
    "bm25": 0.7656,
    "z_e5q": 0.197,
    "z_e5p": 1.1375,
    "z_use": 0.6861,
    "z_e5s": 0.5018,
    "missing": -1.2371,
}
DECISION_BIAS = -22.0281
# The decision of a base ranked with the query adapter (nlp.query_adapter: Korean, 12+
# articles): the same model fitted on the eighteen dev companies, each ranked by the adapter
# learned without it, over the questions the small-talk gate lets through (each company's gate
# learned without it; nlp.small_talk), at 0.91 of the mix with the gate's handoffs
# counted (bench/small_talk.py, bench/README.md "Issue 11, thirteenth pass"). Its threshold was
# 0.254; the bias is moved by the two thresholds' log-odds so that
# hits.Confidence.FUSED_ANSWER_AT is its threshold too.
ADAPTED_DECISION_WEIGHTS: dict[str, float] = {
    "e5q": 21.483,
    "e5p": -32.279,
    "use": -0.4096,
    "e5s": 6.5039,
    "bm25": 0.3726,
    "z_e5q": -0.2772,
    "z_e5p": 1.4874,
    "z_use": 0.3166,
    "z_e5s": 0.8564,
    "missing": -2.3848,
}
ADAPTED_DECISION_BIAS = 1.291


def mean_filled(x: np.ndarray, present: np.ndarray) -> np.ndarray:
    """An article without a unit on the channel (no body) sits at the channel's mean."""
    return np.where(present, x, x[present].mean())


def z_scores(x: np.ndarray) -> np.ndarray:
    """Similarities as z-scores among the base's articles (fuse's ranking terms)."""
    return (x - x.mean()) / (x.std() + Z_FLOOR)


def reads_background(n_articles: int) -> bool:
    """Whether a base of this many articles reads its decision's z-scores with the background."""
    return n_articles < BACKGROUND_PRIOR_ARTICLES


def _decision_z(x: np.ndarray, own: np.ndarray, background: np.ndarray | None) -> np.ndarray:
    """The decision's z-scores of a base's articles on one channel, given their own (z_scores):
    those from BACKGROUND_PRIOR_ARTICLES articles on; below, the z-scores among the base's and
    the background's (nlp.background) similarities, the background weighing
    BACKGROUND_PRIOR_ARTICLES − n articles in all. Without a background a base under
    MIN_Z_ARTICLES reads Z_SMALL_BASE (a right top article's usual)."""
    n = len(x)
    if not reads_background(n) or background is None or not len(background):
        return own if n >= MIN_Z_ARTICLES else np.full(n, Z_SMALL_BASE)
    prior = np.asarray(background, np.float64)
    weight = (BACKGROUND_PRIOR_ARTICLES - n) / len(prior)  # of each background article
    total = n + weight * len(prior)
    mean = (x.sum() + weight * prior.sum()) / total
    var = (((x - mean) ** 2).sum() + weight * ((prior - mean) ** 2).sum()) / total
    return (x - mean) / (np.sqrt(var) + Z_FLOOR)


def bm25_of(bm25: np.ndarray | None, n_slots: int, live: np.ndarray) -> np.ndarray:
    """The live articles' BM25 scores (0 where the lexical index has none)."""
    if bm25 is None or not len(bm25):
        return np.zeros(len(live), np.float64)
    b = np.zeros(n_slots, np.float64)
    b[: min(n_slots, len(bm25))] = bm25[:n_slots]
    return b[live]


def _stable_top(score: np.ndarray, k: int) -> np.ndarray:
    """np.argsort(-score, kind="stable")[:k] without sorting every article: the ones at or above
    the k-th best score (ties at the boundary included) sorted, then cut (same order, ties by
    position)."""
    if k <= 0:
        return np.zeros(0, np.int64)
    if len(score) <= 4 * k:
        return np.argsort(-score, kind="stable")[:k]
    kth = np.partition(score, len(score) - k)[len(score) - k]
    candidates = np.flatnonzero(score >= kth)
    return candidates[np.argsort(-score[candidates], kind="stable")][:k]


@dataclass(frozen=True)
class FusedScores:
    slots: list[int]  # best first
    fused: list[float]  # the ranking score (z-scores summed, see fuse)
    dense: list[float]  # best channel similarity
    answer: list[float]  # the decision's probability that this article answers the query (0..1)
    features: list[dict[str, float]]  # what answer_probability read, per slot (for tuning)


def answer_probability(features: dict[str, float], adapted: bool = False) -> float:
    """The logistic decision (DECISION_WEIGHTS, trained on the dev set by bench/faq_tune.py;
    `adapted`: of a ranking that read the query adapter, ADAPTED_DECISION_WEIGHTS)."""
    weights, bias = (
        (ADAPTED_DECISION_WEIGHTS, ADAPTED_DECISION_BIAS) if adapted else (DECISION_WEIGHTS, DECISION_BIAS)
    )
    x = bias + sum(w * features.get(name, 0.0) for name, w in weights.items())
    return float(1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x)))))


def fuse(
    channel_sims: dict[str, np.ndarray],
    bm25: np.ndarray,
    k: int,
    extra: Callable[[int], dict[str, float]] | None = None,
    background: dict[str, np.ndarray] | None = None,
    ranking_sims: dict[str, np.ndarray] | None = None,
) -> FusedScores:
    """Rank every article with vectors by Σ CHANNEL_WEIGHTS × (its similarity on a channel as a
    z-score among the knowledge base's articles) + BM25_WEIGHT × (its BM25 score / the query's
    best); then the decision's answer probability for each of the top k from its raw
    similarities, their z-scores, the BM25 score and `extra(slot)`'s features (the lexical
    index's "missing") — answer_probability. The ranking does not read `extra`. `background`:
    the query's similarities to the shipped background's articles per channel, which a base of
    fewer than BACKGROUND_PRIOR_ARTICLES articles reads its z-scores with (see _decision_z).
    `ranking_sims`: the similarities to rank by instead, per channel (the query adapter's,
    nlp.query_adapter); the decision still reads `channel_sims`, with ADAPTED_DECISION_WEIGHTS."""
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
        x = mean_filled(x, present)
        raw[channel] = x
        z = z_scores(x)
        if ranking_sims is not None and channel in ranking_sims:
            r = np.asarray(ranking_sims[channel][live], np.float64)
            score += CHANNEL_WEIGHTS.get(channel, 0.0) * z_scores(mean_filled(r, r > -1.0))
        else:
            score += CHANNEL_WEIGHTS.get(channel, 0.0) * z
        # The decision's feature; a base of a few articles has no spread to stand out from
        # but the background's (nlp.background), or none at all.
        zs[channel] = _decision_z(x, z, (background or {}).get(channel))
    for channel, fallback in FALLBACK.items():
        if channel not in raw and fallback in raw:
            raw[channel] = raw[fallback]  # the decision's feature when no article has body sentences
            if fallback in zs:
                zs[channel] = zs[fallback]
    lexical = bm25_of(bm25, n, live)
    top_bm25 = float(lexical.max()) if len(lexical) else 0.0
    if top_bm25 > 0:
        score += BM25_WEIGHT * lexical / top_bm25
    order = _stable_top(score, k)
    answer, features = [], []
    for i in order:
        f = {channel: float(x[i]) for channel, x in raw.items()}
        f["bm25"] = math.log1p(max(0.0, float(lexical[i])))
        f.update({f"z_{channel}": float(z[i]) for channel, z in zs.items()})
        if extra is not None:
            f.update(extra(int(live[i])))
        features.append(f)
        answer.append(answer_probability(f, adapted=ranking_sims is not None))
    return FusedScores(
        [int(live[i]) for i in order],
        [float(score[i]) for i in order],
        [float(best[i]) for i in order],
        answer,
        features,
    )

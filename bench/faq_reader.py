"""A pairwise lexical reader of the fused ranking's top 5, measured leave-one-company-out.

Issue 11, ninth pass (bench/README.md). The eighth pass left one candidate for "more companies
written blind to the ranking": re-order the fused top 5 by a linear score over lexical features
of each candidate, learned as pairwise logistic regression (right article minus another
candidate, no intercept, standardised, C = 0.1). Features, all from what the live ranking
already computes: the query's idf share found in the title (SearchHit.question_coverage) and in
the body (SearchHit.body_coverage), the two-way title match (LexicalIndex._matcher), BM25
relative to the query's best article, log(1 + BM25), and the fused score's gap to the first.

Protocol (as `python -m bench.faq_tune --train`): for each held company, the reader and the
decision (faq_tune.train, target 0.90 of the issue's mix) are fitted on the other companies and
tested on the held one. Also the "held-out view": fitted on the six older companies, tested on
gym and used. One ranking pass records everything; the readers are replayed in numpy.

    python -m bench.faq_reader            # vector cache: SODAM_TUNE_CACHE (as faq_tune)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from bench import faq_tune
from bench.faq import mix_share

K = 5
C = 0.1
FEATURES = ("title_cov", "body_cov", "match", "bm25_rel", "bm25_log", "fused_gap")
OLD = ("app", "edu", "food", "pay", "shop", "stay")


@dataclass
class _Res:
    hits: list


def record(kb_path=None, q_path=None):
    """faq_tune.run's rows plus, per row, the top K candidates' decision features and reader
    features (same live ranking code; the fuse call is recorded, not changed)."""
    from sodam.bot import rules
    from sodam.knowledge.service import clean_query
    from sodam.nlp import ranking

    seen = []
    inner = ranking.fuse

    def recording_fuse(sims, bm25, k, extra=None, background=None, ranking_sims=None):
        out = inner(sims, bm25, k, extra, background, ranking_sims)
        seen.append((out, float(np.max(bm25)) if len(bm25) else 0.0))
        return out

    ranking.fuse = recording_fuse
    cache = faq_tune.CachedEncode()
    rows = []
    try:
        for part_kb, part_q in faq_tune.load_sets(kb_path, q_path):
            idx = faq_tune.build_index(part_kb["articles"], cache)
            for q in part_q:
                text = clean_query(q["text"])
                human = rules.wants_human(q["text"])
                query, asked = idx.customer_question(text)
                vecs = faq_tune.query_vectors(query, idx.channels, cache)
                seen.clear()
                res = idx.query(query, K, vecs, asked=asked)
                fused, top_bm25 = seen[-1]
                match = idx._matcher(ranking.analyze(query, *idx.ngram_range))
                cands = []
                for j, (hit, slot) in enumerate(zip(res.hits, fused.slots, strict=False)):
                    f = fused.features[j]
                    bm25 = math.expm1(f["bm25"])
                    x = {
                        "title_cov": hit.question_coverage,
                        "body_cov": hit.body_coverage,
                        "match": match(slot),
                        "bm25_rel": bm25 / top_bm25 if top_bm25 > 0 else 0.0,
                        "bm25_log": f["bm25"],
                        "fused_gap": fused.fused[j] - fused.fused[0],
                    }
                    cands.append({"id": hit.doc_id, "hit": hit, "x": [x[n] for n in FEATURES], "features": f})
                rows.append(
                    {
                        "q": q,
                        "human": human,
                        "res": res,
                        "query": query,
                        "features": fused.features[0] if fused.features else {},
                        "cands": cands,
                    }
                )
    finally:
        ranking.fuse = inner
    cache.save()
    return rows


def fit_reader(rows, c: float = C) -> np.ndarray:
    """Pairwise logistic regression on (right − other) feature differences, no intercept,
    standardised; returns raw weights (score = x · w)."""
    from sklearn.linear_model import LogisticRegression

    diffs = []
    for r in rows:
        ids = [cand["id"] for cand in r["cands"]]
        if r["q"]["expected"] is None or r["human"] or r["q"]["expected"] not in ids:
            continue
        right = np.array(r["cands"][ids.index(r["q"]["expected"])]["x"])
        diffs += [right - np.array(cand["x"]) for cand in r["cands"] if cand["id"] != r["q"]["expected"]]
    d = np.array(diffs)
    std = d.std(0) + 1e-9
    x = np.vstack([d / std, -d / std])
    y = np.r_[np.ones(len(d)), np.zeros(len(d))]
    clf = LogisticRegression(C=c, fit_intercept=False, max_iter=5000).fit(x, y)
    return clf.coef_[0] / std


def apply_reader(rows, w):
    """Rows with the top K re-ordered by x · w (ties keep the fused order) and the decision's
    features of the new first article."""
    out = []
    for r in rows:
        if not r["cands"]:
            out.append(r)
            continue
        scores = [float(np.dot(cand["x"], w)) for cand in r["cands"]]
        order = sorted(range(len(scores)), key=lambda j: (-scores[j], j))
        cands = [r["cands"][j] for j in order]
        out.append({**r, "res": _Res([c["hit"] for c in cands]), "features": cands[0]["features"]})
    return out


def report(rows, decide) -> dict:
    """Per company: answered right, top-1, business-like handed off, issue mix handed off."""
    base = faq_tune.summarise(rows, decide)
    out = {}
    for company, s in base.items():
        part = [r for r in rows if r["q"].get("kb") == company]

        def handed(rs):
            return sum(1 for r in rs if r["human"] or not r["res"].hits or not decide(r)) / max(1, len(rs))

        rates = {
            "business_like": handed(
                [r for r in part if r["q"]["kind"] == "off_topic" and r["q"].get("business_like")]
            ),
            "other": handed(
                [r for r in part if r["q"]["kind"] == "off_topic" and not r["q"].get("business_like")]
            ),
            "human": handed([r for r in part if r["q"]["kind"] == "human"]),
        }
        out[company] = {
            "right": s["answered_right"],
            "top1": s["first"],
            "business_like": round(rates["business_like"], 4),
            "mix": round(mix_share(rates), 4),
        }
    return out


def loo(rows, reader: bool, target: float = faq_tune.MIX_HANDOFF) -> dict:
    out = {}
    for held in sorted({r["q"]["kb"] for r in rows}):
        train_rows = [r for r in rows if r["q"]["kb"] != held]
        test_rows = [r for r in rows if r["q"]["kb"] == held]
        if reader:
            w = fit_reader(train_rows)
            train_rows, test_rows = apply_reader(train_rows, w), apply_reader(test_rows, w)
        model = faq_tune.train(train_rows, off_topic_handoff=target)
        out[held] = report(test_rows, faq_tune.decide_with(*model))[held]
    return out


def held_out(rows, reader: bool, train_on=OLD) -> tuple[dict, list | None]:
    train_rows = [r for r in rows if r["q"]["kb"] in train_on]
    test_rows = [r for r in rows if r["q"]["kb"] not in train_on]
    w = None
    if reader:
        w = fit_reader(train_rows)
        train_rows, test_rows = apply_reader(train_rows, w), apply_reader(test_rows, w)
    model = faq_tune.train(train_rows)
    return report(test_rows, faq_tune.decide_with(*model)), (
        None if w is None else [round(float(v), 4) for v in w]
    )


def _mean(d: dict, key: str) -> float:
    return round(sum(v[key] for v in d.values()) / len(d), 4)


if __name__ == "__main__":
    rows = record()
    for name, flag in (("main", False), ("reader", True)):
        res = loo(rows, flag)
        print(f"LOO {name}:", json.dumps(res), "mean right", _mean(res, "right"), "top-1", _mean(res, "top1"))
        view, w = held_out(rows, flag)
        print(f"held-out view {name} (trained on {', '.join(OLD)}):", json.dumps(view), "weights", w)
    w = fit_reader(rows)
    print("reader fitted on all of dev:", dict(zip(FEATURES, [round(float(v), 4) for v in w], strict=True)))

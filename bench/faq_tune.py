"""Offline tuning harness for the fused ranking and the answer/handoff decision.

Same ranking code as the live path (sodam.nlp.ranking.LexicalIndex with the articles'
dense units, the query through customer_query), without a database: vectors are
encoded directly (and cached in /tmp), so changes can be measured in seconds.
`python -m bench.faq_tune` prints per-company figures; it is a tool, the reported
numbers come from `sodam bench faq` (the live path).

A Korean set is ranked with the shipped query adapter, as live (nlp.query_adapter): its
`--train` fits on dev rankings the adapter was trained on (in-sample). `DECISION_WEIGHTS` were
fitted with SODAM_QUERY_ADAPTER=off; `ADAPTED_DECISION_WEIGHTS` come from
`python -m bench.faq_more adapter` (out-of-fold adapters).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

DEV = Path(__file__).resolve().parent / "data" / "faq_dev"
CACHE = Path(os.environ.get("SODAM_TUNE_CACHE") or Path(tempfile.gettempdir()) / "sodam-tune-cache.npz")


class CachedEncode:
    def __init__(self) -> None:
        self.store: dict[str, np.ndarray] = {}
        if CACHE.exists():
            with np.load(CACHE) as stored:
                self.store = {k: stored[k] for k in stored.files}
        self.dirty = False

    def get(self, kind: str, passage: bool, texts: list[str]) -> np.ndarray:
        from sodam.nlp import encoders

        keys = [hashlib.sha256(f"{kind}\0{passage}\0{t}".encode()).hexdigest() for t in texts]
        todo = [i for i, k in enumerate(keys) if k not in self.store]
        if todo:
            enc = encoders.get_encoder(kind)
            fn = enc.passages if passage else enc.queries
            for s in range(0, len(todo), 32):
                chunk = todo[s : s + 32]
                vecs = fn([texts[i] for i in chunk])
                for i, v in zip(chunk, vecs, strict=True):
                    self.store[keys[i]] = v
            self.dirty = True
        return np.stack([self.store[k] for k in keys])

    def save(self) -> None:
        if self.dirty:
            with CACHE.open("wb") as f:
                np.savez(f, **self.store)


def load_sets(kb_path=None, q_path=None):
    kb = json.loads(Path(kb_path or DEV / "kb.json").read_text(encoding="utf-8"))
    qs = json.loads(Path(q_path or DEV / "queries.json").read_text(encoding="utf-8"))
    from bench.faq import split_by_kb

    return split_by_kb(kb, qs)


def build_index(articles, cache: CachedEncode, language: str | None = None):
    from sodam.nlp import encoders
    from sodam.nlp.ranking import Document, LexicalIndex

    # By default the articles' locale, as the live index (knowledge.index): it picks the shipped
    # background and the query adapter; "" picks neither.
    if language is None:
        language = next((a.get("locale") for a in articles if a.get("locale")), None)
    idx = LexicalIndex(language=language or None)
    docs = []
    for a in articles:
        units = encoders.article_units(a["title"], a.get("body") or "", a.get("alternate_questions") or ())
        vecs: dict[str, list] = {}
        for channel, text in units:
            kind, passage = encoders.CHANNELS[channel]
            vecs.setdefault(channel, []).append(cache.get(kind, passage, [text])[0])
        docs.append(
            Document(
                str(a["id"]),
                a["title"],
                a.get("body") or "",
                tuple(a.get("alternate_questions") or ()),
                vectors={c: np.stack(v) for c, v in vecs.items()},
            )
        )
    idx.add_many(docs)
    return idx


def query_vectors(text: str, channels, cache: CachedEncode):
    from sodam.nlp import encoders

    out = {}
    for c in channels:
        kind, _ = encoders.CHANNELS[c]
        out[c] = cache.get(kind, False, [text])[0]
    return out


def run(kb_path=None, q_path=None, k=5):
    """Per query: the live ranking's result plus the decision's features of its top article."""
    from sodam.bot import rules
    from sodam.knowledge.service import clean_query
    from sodam.nlp import ranking

    seen = []
    inner = ranking.fuse

    def recording_fuse(*args, **kwargs):
        out = inner(*args, **kwargs)
        seen.append(out)
        return out

    ranking.fuse = recording_fuse
    cache = CachedEncode()
    rows = []
    try:
        for part_kb, part_q in load_sets(kb_path, q_path):
            idx = build_index(part_kb["articles"], cache)
            for q in part_q:
                text = clean_query(q["text"])
                human = rules.wants_human(q["text"])
                query, asked = idx.customer_question(text)
                vecs = query_vectors(query, idx.channels, cache)
                seen.clear()
                res = idx.query(query, k, vecs, asked=asked)
                features = seen[-1].features[0] if seen and seen[-1].features else {}
                rows.append({"q": q, "human": human, "res": res, "query": query, "features": features})
    finally:
        ranking.fuse = inner
    cache.save()
    return rows


FEATURES = ("e5q", "e5p", "use", "e5s", "bm25", "z_e5q", "z_e5p", "z_use", "z_e5s", "missing")
# The handoff threshold is set for issue 11's traffic mix (bench.faq.ISSUE_MIX; requests for a
# person are the rules'). The dev set holds more business-like off-topic questions (59 of 106),
# so its raw off-topic share would set the bar for a harder mix than the one the bot serves.
# No margin over the 0.90 since dev holds four companies (2026-12-04): trained on three and
# tested on the fourth, 0.90, 0.91 and 0.92 handed off the same 43 of the 59 business-like
# off-topic questions, and 0.92 answered 3.8 points fewer right (bench/README.md, sixth pass).
# 0.91 since the "missing" feature (2026-12-06, tenth pass): leave one company out of eight, it
# answers 0.8323 right at 0.912 of the mix against main's 0.8345 at 0.897 (at 0.90) and 0.8277 at
# 0.906 (at 0.91); with "missing" at 0.90 it answered 0.8410 but handed off less on three companies.
MIX_HANDOFF = 0.91
C = 0.3  # L2; 0.3 beat 0.1 on one company vs the other; 0.1-3 within a query a company leaving one of four out


def _right(r) -> bool:
    return bool(r["res"].hits) and r["res"].hits[0].doc_id == r["q"]["expected"]


def train(rows, *, off_topic_handoff: float = MIX_HANDOFF):
    """The decision's logistic model: label = the top article is the right one, over the dev
    set's answerable and off-topic messages (requests for a person are the rule's); the
    threshold is the highest probability at which ISSUE_MIX of the training off-topic messages
    is handed off at `off_topic_handoff`. Returns (weights, bias, threshold)."""
    from sklearn.linear_model import LogisticRegression

    rows = [r for r in rows if not r["human"] and r["features"]]
    x = np.array([[r["features"].get(f, 0.0) for f in FEATURES] for r in rows])
    y = np.array([_right(r) for r in rows], int)
    mean, std = x.mean(0), x.std(0) + 1e-9  # standardised, then folded back into raw weights
    clf = LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit((x - mean) / std, y)
    coef = clf.coef_[0] / std
    bias = float(clf.intercept_[0] - (coef * mean).sum())
    p = 1 / (1 + np.exp(-(x @ coef + bias)))
    off = np.array([r["q"]["expected"] is None for r in rows])
    business = np.array([bool(r["q"].get("business_like")) for r in rows])
    from bench.faq import mix_share

    threshold = 1.0
    for t in sorted(p[off]):  # lowest first: the first one meeting the mix answers the most
        t = float(t) + 1e-6
        rates = {"business_like": (p[off & business] < t).mean(), "other": (p[off & ~business] < t).mean()}
        if mix_share({**rates, "human": 1.0}) >= off_topic_handoff:
            threshold = t
            break
    weights = {f: round(float(w), 4) for f, w in zip(FEATURES, coef, strict=True)}
    return weights, round(bias, 4), round(threshold, 4)


def decide_with(weights, bias, threshold):
    import math

    def decide(r):
        f = r["features"]
        if not f:
            return False
        x = bias + sum(w * f.get(n, 0.0) for n, w in weights.items())
        return 1 / (1 + math.exp(-x)) >= threshold

    return decide


def cross_company(rows, target=0.93):
    """Leave one company out: train on the others, test on it (each company in turn)."""
    out = {}
    companies = sorted({r["q"].get("kb", "") for r in rows})
    for held in companies:
        model = train([r for r in rows if r["q"].get("kb") != held], off_topic_handoff=target)
        test = summarise([r for r in rows if r["q"].get("kb") == held], decide_with(*model))
        out[f"test {held}"] = {**test[held], "model": model}
    return out


def summarise(rows, decide):
    out = {}
    for company in sorted({r["q"].get("kb", "") for r in rows}):
        part = [r for r in rows if r["q"].get("kb", "") == company]
        ans = [r for r in part if r["q"]["expected"] is not None]
        off = [r for r in part if r["q"]["expected"] is None]
        right = sum(
            1
            for r in ans
            if not r["human"]
            and r["res"].hits
            and r["res"].hits[0].doc_id == r["q"]["expected"]
            and decide(r)
        )
        first = sum(1 for r in ans if r["res"].hits and r["res"].hits[0].doc_id == r["q"]["expected"])
        handed = sum(1 for r in off if r["human"] or not r["res"].hits or not decide(r))
        business = [r for r in off if r["q"].get("business_like")]
        handed_business = sum(1 for r in business if not r["res"].hits or not decide(r))
        out[company] = {
            "answered_right": round(right / len(ans), 4),
            "first": round(first / len(ans), 4),
            "handed_off": round(handed / len(off), 4),
            "business_like_handed_off": round(handed_business / max(1, len(business)), 4),
            "n": len(part),
        }
    return out


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rows = run(*args[:2])
    from sodam.nlp.ranking import Confidence

    print(
        "live constants:", json.dumps(summarise(rows, lambda r: r["res"].confidence.decision() == "answer"))
    )
    if "--train" in sys.argv:
        for target in (0.9, MIX_HANDOFF, 0.92):
            print(f"cross-company at {target}:", json.dumps(cross_company(rows, target)))
        model = train(rows)
        print("trained on all of dev:", model, json.dumps(summarise(rows, decide_with(*model))))
    del Confidence

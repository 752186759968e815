"""Five more blind dev companies: how the live decision does on them, whether the question
priors of the eleventh pass now hold, and the query adapter (issue 11, twelfth pass;
bench/README.md).

1. Blind view: the live constants (fitted on the eight older companies before the five new ones
   were written) on each new company, and a decision refitted on the eight at 0.91 of the mix.
2. Leave one company out over all of dev at 0.91: main (the ten live features) against + the word
   prior and + the vector prior (bench.faq_scope), at the decision's C 0.3, 0.1 and 1.0 and the
   prior's C 0.1, 0.3 and 1.0, judged by the passes' rule (bench.faq_decide.keep_rule).
3. The same blind view with each prior (prior and decision fitted on the eight older companies).

4. `blind PREFIX…`: the live bot (constants and shipped adapter as they are) on the named
   companies only, with the adapter and with SODAM_QUERY_ADAPTER=off: how it does on companies
   written after everything it ships was fitted (the thirteenth pass's five).

5. `adapter LOO.npz`: the decision leave one company out, each company ranked with the query
   adapter trained without it (bench.query_adapter loo … LOO.npz; nlp.query_adapter), against
   the same without an adapter, at 0.91, 0.915 and 0.92 of the mix; and the decision fitted on
   all of dev over those out-of-fold rankings (the live DECISION_WEIGHTS).

    SODAM_TUNE_CACHE=/tmp/tune/cache.npz SODAM_QUERY_ADAPTER=off python -m bench.faq_more priors
    SODAM_TUNE_CACHE=/tmp/tune/cache.npz python -m bench.faq_more blind tix game parcel job clean
    SODAM_TUNE_CACHE=/tmp/tune/cache.npz python -m bench.faq_more adapter /tmp/qa-loo.npz
"""

from __future__ import annotations

import json
import sys

from bench import faq_tune
from bench.faq_decide import mean
from bench.faq_reader import report
from bench.faq_scope import TEN, add_features, line, loo, prior_features, prior_model, record

OLD = frozenset({"app", "edu", "food", "gym", "pay", "shop", "stay", "used"})
PRIORS = ("business-like", "business-like vector")


def _fit(rows, features, companies, target=0.91):
    old = faq_tune.FEATURES
    faq_tune.FEATURES = tuple(features)
    try:
        return faq_tune.train(
            [dict(r, features=r["xf"]) for r in rows if r["q"]["kb"] in companies], off_topic_handoff=target
        )
    finally:
        faq_tune.FEATURES = old


def _blind(rows, features, target=0.91) -> dict:
    """Fitted on the older companies, tested on each new one."""
    model = _fit(rows, features, OLD, target)
    return report(
        [dict(r, features=r["xf"]) for r in rows if r["q"]["kb"] not in OLD], faq_tune.decide_with(*model)
    )


def _summary(name: str, res: dict) -> str:
    per = {c: (v["right"], v["top1"], v["mix"], v["business_like"]) for c, v in res.items()}
    return (
        f"{name}: right {mean(res, 'right')} top-1 {mean(res, 'top1')} mix {mean(res, 'mix')} "
        f"business-like {mean(res, 'business_like')} {json.dumps(per)}"
    )


def priors() -> None:
    rows = record()
    add_features(rows)
    new = [r for r in rows if r["q"]["kb"] not in OLD]
    live = report(new, lambda r: r["res"].confidence.decision() == "answer")
    print(_summary("blind, live constants", live), flush=True)
    print(_summary("blind, main refitted on the eight at 0.91", _blind(rows, TEN)), flush=True)
    newer = frozenset(r["q"]["kb"] for r in new)
    for labels in PRIORS:
        for i, r in enumerate(rows):  # fitted on the older companies, never on the row's own
            r["xf"]["word_prior"] = prior_model(rows, newer | {r["q"]["kb"]}, labels, 0.3)(i)
        print(_summary(f"blind, + prior ({labels}) at 0.91", _blind(rows, (*TEN, "word_prior"))), flush=True)
    for c in (0.3, 0.1, 1.0):  # the decision's C
        faq_tune.C = c
        ref = loo(rows, TEN, 0.91)
        print(line(f"decision C {c}: main at 0.91", ref, ref), flush=True)
        for labels in PRIORS:
            for target in (0.91, 0.915):
                res = loo(
                    rows, (*TEN, "word_prior"), target, lambda h, lb=labels: prior_features(rows, h, lb)
                )
                print(line(f"decision C {c}: + prior ({labels}) at {target}", res, ref), flush=True)
    faq_tune.C = 0.3
    ref = loo(rows, TEN, 0.91)
    for pc in (0.1, 1.0):  # the prior's C
        for labels in PRIORS:
            for target in (0.91, 0.915):
                res = loo(
                    rows,
                    (*TEN, "word_prior"),
                    target,
                    lambda h, c=pc, lb=labels: prior_features(rows, h, lb, c),
                )
                print(line(f"prior C {pc}: + prior ({labels}) at {target}", res, ref), flush=True)


def out_of_fold_rows(path: str):
    """faq_scope.record's rows, each company ranked with the adapter trained without it."""
    import numpy as np

    from sodam.nlp import query_adapter

    stored = np.load(path)
    current = {"kb": None}
    inner_load = faq_tune.load_sets

    def load_sets(*args, **kwargs):
        for part_kb, part_q in inner_load(*args, **kwargs):
            current["kb"] = part_q[0]["kb"]
            yield part_kb, part_q

    def held_out(language):
        kb = current["kb"]
        maps = {
            k: (stored[f"{kb}|{a}"], stored[f"{kb}|{b}"]) for k, (a, b) in query_adapter._MATRICES.items()
        }
        return query_adapter.QueryAdapter(maps) if language == "ko" else None

    faq_tune.load_sets, shipped = load_sets, query_adapter.for_language
    query_adapter.for_language = held_out
    try:
        return record()
    finally:
        faq_tune.load_sets, query_adapter.for_language = inner_load, shipped


def blind(companies: list[str]) -> None:
    import os

    inner_load = faq_tune.load_sets

    def only(*args, **kwargs):
        return [(k, q) for k, q in inner_load(*args, **kwargs) if q[0]["kb"] in companies]

    faq_tune.load_sets = only
    try:
        for switch in ("on", "off"):
            os.environ["SODAM_QUERY_ADAPTER"] = switch
            live = report(record(), lambda r: r["res"].confidence.decision() == "answer")
            print(_summary(f"live bot, adapter {switch}", live), flush=True)
    finally:
        faq_tune.load_sets = inner_load


def adapter(path: str) -> None:
    import os

    arms = {}
    os.environ["SODAM_QUERY_ADAPTER"] = "off"
    arms["no adapter"] = record()
    os.environ["SODAM_QUERY_ADAPTER"] = "on"
    arms["adapter (out of fold)"] = out_of_fold_rows(path)
    for name, rows in arms.items():
        add_features(rows)
        for target in (0.91, 0.915, 0.92):
            print(_summary(f"{name}, LOO at {target}", loo(rows, TEN, target)), flush=True)
        print(
            f"{name}, fitted on all of dev at 0.91:",
            _fit(rows, TEN, {r["q"]["kb"] for r in rows}),
            flush=True,
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["adapter"]:
        adapter(sys.argv[2])
    elif sys.argv[1:2] == ["blind"]:
        blind(sys.argv[2:])
    else:
        priors()

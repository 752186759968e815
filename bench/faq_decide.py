"""The decision with and without the "missing" feature, leave-one-company-out (issue 11, tenth pass).

For each held company the decision (faq_tune.train: the logistic model and its threshold for a
share of the issue's mix handed off) is fitted on the other companies and tested on the held
one, with the nine features of the ninth pass and with "missing" (nlp.ranking's share of the
customer's own words the top article lacks), at handoff targets 0.90 and 0.91. Rule (bench/README.md
"Issue 11, tenth pass"): keep a change only if the mean answered right does not drop by more
than 0.003 against main (nine features, 0.90), the mean handoff of the issue's mix rises, and
no company's handoff drops.

    python -m bench.faq_decide            # vector cache: SODAM_TUNE_CACHE (as faq_tune)
"""

from __future__ import annotations

import json

from bench import faq_tune
from bench.faq_reader import report

NINE = tuple(f for f in faq_tune.FEATURES if f != "missing")
TOLERANCE = 0.003


def loo(rows, features, target) -> dict:
    out = {}
    for held in sorted({r["q"]["kb"] for r in rows}):
        old = faq_tune.FEATURES
        faq_tune.FEATURES = tuple(features)
        try:
            model = faq_tune.train([r for r in rows if r["q"]["kb"] != held], off_topic_handoff=target)
        finally:
            faq_tune.FEATURES = old
        out[held] = report([r for r in rows if r["q"]["kb"] == held], faq_tune.decide_with(*model))[held]
    return out


def mean(res: dict, key: str) -> float:
    return round(sum(v[key] for v in res.values()) / len(res), 4)


def keep_rule(res: dict, ref: dict) -> tuple[bool, list[str]]:
    """The passes' rule against `ref` (LOO per company): mean answered right down by at most
    TOLERANCE, mean handoff of the issue's mix up, no company's mix handoff lower; and the
    companies whose handoff dropped."""
    drops = [c for c in res if res[c]["mix"] < ref[c]["mix"]]
    ok = (
        mean(res, "right") >= mean(ref, "right") - TOLERANCE
        and mean(res, "mix") > mean(ref, "mix")
        and not drops
    )
    return ok, drops


def verdict(res: dict, ref: dict) -> str:
    ok, drops = keep_rule(res, ref)
    return f"{'kept' if ok else 'not kept'} (handoff drops: {', '.join(drops) or 'none'})"


if __name__ == "__main__":
    rows = faq_tune.run()
    ref = loo(rows, NINE, 0.90)
    for name, features in (("nine features", NINE), ("+ missing", (*NINE, "missing"))):
        for target in (0.90, 0.91):
            res = ref if features == NINE and target == 0.90 else loo(rows, features, target)
            print(
                f"{name} at {target}: mean right {mean(res, 'right')} mix {mean(res, 'mix')}"
                f" business-like {mean(res, 'business_like')}; {verdict(res, ref)}",
                json.dumps(res),
            )

"""Tiny knowledge bases: does a base of a few articles answer what it holds, and hand off what
it does not?

From each company of a set, `--bases` random bases of `--size` articles (seeded); asked every
question of those articles ("held": answered with the right article?) and `--others` random
questions of the same company whose article is not in the base, plus its off-topic ones ("not
held": handed off, i.e. not answered?). The live ranking and decision (faq_tune's index, no
database). `--background`: `shipped` (nlp.background's files, as the product runs), `loo` (built
here from the set's other companies: the fair reading on a dev set, whose articles the shipped
background holds) or `off`.

    python -m bench.faq_small --set faq_dev --background loo
    python -m bench.faq_small --set faq_val --background shipped     # held-out: once
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from bench import faq_tune

DATA = Path(__file__).resolve().parent / "data"


def _encode_with(cache: faq_tune.CachedEncode):
    from sodam.nlp import encoders

    def encode(channel: str, texts: list[str]):
        kind, passage = encoders.CHANNELS[channel]
        return cache.get(kind, passage, texts)

    return encode


def run(set_name: str, *, size: int, bases: int, others: int, background: str, seed: int) -> dict:
    from sodam.bot import rules
    from sodam.knowledge.service import clean_query
    from sodam.nlp import background as backgrounds

    kb = json.loads((DATA / set_name / "kb.json").read_text(encoding="utf-8"))
    language = "en" if set_name.endswith("_en") else "ko"
    cache = faq_tune.CachedEncode()
    encode = _encode_with(cache)
    parts = faq_tune.load_sets(DATA / set_name / "kb.json", DATA / set_name / "queries.json")
    rng = random.Random(seed)
    counts = {"held": 0, "held_right": 0, "not_held": 0, "not_held_handed_off": 0}
    for part_kb, part_q in parts:
        company = part_q[0].get("kb") if part_q else None
        bg = None
        if background == "loo":
            rest = [
                a for a in kb["articles"] if company is None or not str(a["id"]).startswith(company + "-")
            ]
            bg = backgrounds.build(rest, encode)
        for _ in range(bases):
            chosen = rng.sample(part_kb["articles"], min(size, len(part_kb["articles"])))
            ids = {a["id"] for a in chosen}
            idx = faq_tune.build_index(chosen, cache, language if background == "shipped" else "")
            idx.background = bg
            held = [q for q in part_q if q["expected"] in ids and not rules.wants_human(q["text"])]
            outside = [q for q in part_q if q["expected"] is not None and q["expected"] not in ids]
            off = [q for q in part_q if q["kind"] == "off_topic"]
            asked = held + rng.sample(outside, min(others, len(outside))) + off
            for q in asked:
                text = clean_query(q["text"])
                query, typed = idx.customer_question(text)
                res = idx.query(query, 5, faq_tune.query_vectors(query, idx.channels, cache), asked=typed)
                answered = res.confidence.decision() == "answer" and bool(res.hits)
                if q["expected"] in ids:
                    counts["held"] += 1
                    counts["held_right"] += answered and res.hits[0].doc_id == q["expected"]
                else:
                    counts["not_held"] += 1
                    counts["not_held_handed_off"] += not answered
    cache.save()
    return {
        "set": set_name,
        "background": background,
        "size": size,
        "held": counts["held"],
        "held_answered_right": round(counts["held_right"] / max(1, counts["held"]), 4),
        "not_held": counts["not_held"],
        "not_held_handed_off": round(counts["not_held_handed_off"] / max(1, counts["not_held"]), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="faq_dev")
    ap.add_argument("--size", type=int, default=3)
    ap.add_argument("--bases", type=int, default=8)
    ap.add_argument("--others", type=int, default=20)
    ap.add_argument("--background", choices=("shipped", "loo", "off"), default="loo")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(
        json.dumps(
            run(a.set, size=a.size, bases=a.bases, others=a.others, background=a.background, seed=a.seed),
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()

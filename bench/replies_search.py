"""Canned-reply search cost per keystroke: rank() over N replies (query analysis included).

.venv/bin/python -m bench.replies_search
"""

from __future__ import annotations

import json
import time

from sodam.replies.demo import BILLING_TEAM, PERSONAL, SHARED
from sodam.replies.search import Candidate, rank, terms_of

QUERIES = ("배", "배송", "환불해", "지연되면", "refund")


def candidates(n: int) -> list[Candidate]:
    texts = SHARED + BILLING_TEAM + PERSONAL
    out = []
    for i in range(n):
        shortcut, title, body = texts[i % len(texts)]
        shortcut, title, body = f"{shortcut}{i}", f"{title} {i}", f"{body} {i}"
        out.append(Candidate(i, shortcut, title, body, tuple(terms_of(shortcut, title, body)), i % 37))
    return out


def main() -> None:
    worst: dict[int, float] = {}
    for n in (50, 200, 2000):
        pool = candidates(n)
        for query in QUERIES:
            rank(pool, query)  # warm Kiwi
            runs = 30
            start = time.perf_counter()
            for _ in range(runs):
                found = rank(pool, query)
            ms = (time.perf_counter() - start) / runs * 1000
            print(f"{n:>5} replies  q={query!r:<8} {ms:6.2f} ms  {len(found)} matches")
            worst[n] = max(worst.get(n, 0.0), ms)
    print(
        json.dumps(
            {
                "bench": "replies_search",
                "worst_ms_by_replies": {str(k): round(v, 2) for k, v in worst.items()},
            }
        )
    )


if __name__ == "__main__":
    main()

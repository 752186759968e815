"""The query adapter: where a Korean customer's question sits in the encoders' space, moved
toward where help centers write the same thing.

A low-rank linear map per encoder, x + (x A) B, then unit length again, learned on the Korean
dev companies (bench/query_adapter.py): each question's own article should rank first among its
company's articles. Learned on some companies, it ranked the others' articles better too
(leave one company out of eighteen: the fused ranking's top-1 0.791 → 0.815; bench/README.md,
"Issue 11, twelfth and thirteenth passes"). Only the ranking reads the moved vectors: the decision still reads
how close the encoders' own vectors are (nlp.fusion.fuse's ranking_sims), which is what it was
fitted on and what tells an off-topic question from an answerable one.

Not on a base small enough to read the shipped background (nlp.fusion.reads_background): the
adapter was learned on bases of 21-32 articles, and among three articles it outvoted the
decision's pick ("재설정 링크 받는 데 얼마나 걸리나요?" went to the shipping article). Nor on a
base large enough for the approximate search (4,000+ articles): a second shortlist pass over the
moved vectors cost about 10 ms a question at 10,000 articles, and one pass over both versions of
the query 5-10 ms (bench/README.md, thirteenth pass). So the adapter's similarities are always
exact ones.

Shipped as `data/query_adapter-<lang>.npz` (Korean only: no English dev set is large enough to
learn one); a base of another language, or a missing file, ranks with the encoders' vectors.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from sodam.nlp import encoders
from sodam.nlp.dense import ChannelSimilarities, DenseUnits, shortlist_similarities

__all__ = ["QueryAdapter", "enabled", "for_language", "similarities"]

DATA = Path(__file__).resolve().parent / "data"
# The encoder each pair of matrices moves (nlp.encoders.CHANNELS: the e5 channels share one).
_MATRICES = {"e5": ("a", "b"), "use": ("a_use", "b_use")}


class QueryAdapter:
    def __init__(self, maps: dict[str, tuple[np.ndarray, np.ndarray]]):
        self._maps = maps

    def move(self, vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The query's vectors per channel, each encoder's moved once (channels share it)."""
        moved: dict[str, np.ndarray] = {}
        out = {}
        for channel, vector in vectors.items():
            kind = encoders.CHANNELS.get(channel, (channel, False))[0]
            if kind not in self._maps or vector is None:
                out[channel] = vector
                continue
            if kind not in moved:
                a, b = self._maps[kind]
                x = np.asarray(vector, np.float32)
                if x.shape[-1] != a.shape[0]:  # another model's vectors: leave them
                    out[channel] = vector
                    continue
                x = x + (x @ a) @ b
                moved[kind] = (x / max(float(np.linalg.norm(x)), 1e-12)).astype(np.float32)
            out[channel] = moved[kind]
        return out


def enabled() -> bool:
    """SODAM_QUERY_ADAPTER=off ranks with the encoders' own vectors (for comparisons)."""
    return os.environ.get("SODAM_QUERY_ADAPTER", "on").strip().lower() not in ("off", "0", "false", "no")


@functools.cache
def for_language(language: str | None) -> QueryAdapter | None:
    """The shipped adapter of a base's language, or None."""
    path = DATA / f"query_adapter-{language}.npz"
    if not language or not path.exists():
        return None
    with np.load(path) as stored:
        maps = {
            kind: (stored[a].astype(np.float32), stored[b].astype(np.float32))
            for kind, (a, b) in _MATRICES.items()
            if a in stored.files and b in stored.files
        }
    return QueryAdapter(maps) if maps else None


def similarities(
    units: dict[str, DenseUnits],
    vectors: dict[str, np.ndarray],
    n_slots: int,
    bm25: np.ndarray,
    language: str | None,
) -> ChannelSimilarities | None:
    """What the ranking reads (nlp.fusion.fuse's ranking_sims): the articles' similarities to the
    query moved by the language's adapter; None without one (rank with the encoders' own)."""
    adapter = for_language(language) if enabled() else None
    if adapter is None or any(u.approximate_ready for u in units.values()):
        # Not on a base large enough for the approximate search (dense.APPROX_MIN_ARTICLES): its
        # pass cost 5-14 ms a question at 10,000 articles (bench/README.md, twelfth and thirteenth
        # passes); below, the exact products are a fraction of a millisecond.
        return None
    return shortlist_similarities(units, adapter.move(vectors), n_slots, bm25)

"""A background of generic help-center articles, for knowledge bases too small to have a spread.

The decision reads how far the top article stands out among the base's articles (its z-score on
each dense channel). A base of a few articles has little or no spread to read: under five every
article used to get the standing of a right answer, and a question the base does not answer got
its closest article about half the time (bench/README.md, session 20); from five on its own
z-scores are capped at √(n − 1). With a background, a small base's similarities are read as
z-scores among its articles *and* the background's, which counts as nlp.fusion.
BACKGROUND_PRIOR_ARTICLES − n articles: a question the base answers still stands out, one it does
not stays in the crowd.

The background ships with the package (`data/background-<lang>.npz`: every dense unit of the
dev sets' articles, bench/data/faq_dev and faq_dev_en, encoded by the same models; built by
`python -m bench.background`). Never the held-out sets.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sodam.nlp import encoders

__all__ = ["Background", "build", "for_language"]

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Background:
    # channel -> (unit vectors (n_units, dim) float32, the article each unit belongs to)
    units: dict[str, tuple[np.ndarray, np.ndarray]]
    n_articles: int

    def similarities(self, vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """channel -> the query's similarity to each background article (its best unit there)."""
        out = {}
        for channel, (matrix, article) in self.units.items():
            query = vectors.get(channel)
            if query is None or query.shape[-1] != matrix.shape[1]:
                continue
            best = np.full(self.n_articles, -1.0, np.float32)
            np.maximum.at(best, article, matrix @ query.astype(np.float32))
            out[channel] = best[best > -1.0]
        return out

    def save(self, path: Path) -> None:
        arrays = {"n_articles": np.asarray(self.n_articles)}
        for channel, (matrix, article) in self.units.items():
            arrays[f"{channel}.vectors"] = matrix.astype(np.float16)
            arrays[f"{channel}.article"] = article.astype(np.int32)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            np.savez_compressed(f, **arrays)

    @classmethod
    def load(cls, path: Path) -> Background:
        with np.load(path) as stored:
            channels = {name.split(".")[0] for name in stored.files if name.endswith(".vectors")}
            units = {
                c: (stored[f"{c}.vectors"].astype(np.float32), stored[f"{c}.article"].astype(np.int64))
                for c in channels
            }
            return cls(units, int(stored["n_articles"]))


def build(articles: list[dict], encode) -> Background:
    """Every dense unit of `articles` ({"title", "body", "alternate_questions"}): `encode(channel,
    texts)` gives their vectors (the channel's encoder, as a query or a passage)."""
    texts: dict[str, list[str]] = {}
    owner: dict[str, list[int]] = {}
    for i, a in enumerate(articles):
        for channel, text in encoders.article_units(
            a["title"], a.get("body") or "", a.get("alternate_questions") or ()
        ):
            texts.setdefault(channel, []).append(text)
            owner.setdefault(channel, []).append(i)
    units = {c: (np.asarray(encode(c, texts[c]), np.float32), np.asarray(owner[c], np.int64)) for c in texts}
    return Background(units, len(articles))


@functools.cache
def _shipped(language: str) -> Background | None:
    path = DATA / f"background-{language}.npz"
    return Background.load(path) if path.exists() else None


def for_language(language: str | None) -> Background | None:
    """The shipped background of a language (loaded once; two threads racing to the first load
    both load it, harmlessly), or None."""
    return _shipped(language) if language in ("ko", "en") else None

"""A disk cache of article unit vectors for the benches (never used by the product).

The embedding job stores vectors in PostgreSQL keyed by model + channel + text
(knowledge.vectors.unit_key); a bench starts from a fresh database each run, so
10,000 generated articles would be encoded again every time (~30 minutes on one
core). `cached_encode_missing` is `knowledge.vectors.encode_missing` with this cache in
front: same keys, same vectors, and the bench still stores them in PostgreSQL and loads
them back as the product does.

Kept under $SODAM_VECTOR_CACHE, else $SODAM_DATA_DIR/bench-vectors, else
/tmp/sodam-bench-vectors: one .npy matrix per vector size plus its keys.
`python -m bench.vector_cache --latency N` fills it for `sodam bench bot-latency`
(SODAM_ENCODER_THREADS=2 uses both cores).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

SAVE_EVERY = 4096  # vectors encoded between saves (an interrupted fill keeps its work)


def cache_dir() -> Path:
    if os.environ.get("SODAM_VECTOR_CACHE"):
        return Path(os.environ["SODAM_VECTOR_CACHE"])
    if os.environ.get("SODAM_DATA_DIR"):
        return Path(os.environ["SODAM_DATA_DIR"]) / "bench-vectors"
    return Path(tempfile.gettempdir()) / "sodam-bench-vectors"


class VectorCache:
    """key (knowledge.vectors.unit_key: model + channel + text) -> vector."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or cache_dir()
        self.store: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._new = 0
        if self.folder.exists():
            for keys_file in sorted(self.folder.glob("keys-*.npy")):
                dim = keys_file.stem.split("-", 1)[1]
                vecs_file = self.folder / f"vecs-{dim}.npy"
                if not vecs_file.exists():
                    continue
                keys = np.load(keys_file)
                vecs = np.load(vecs_file)
                if len(keys) != len(vecs):
                    continue  # a save was interrupted: ignore that size
                self.store.update(zip(keys.tolist(), vecs, strict=True))

    def __len__(self) -> int:
        return len(self.store)

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        with self._lock:
            for k, v in vectors.items():
                self.store[k] = np.asarray(v, np.float32)
            self._new += len(vectors)

    def save(self) -> None:
        with self._lock:
            if not self._new:
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            by_dim: dict[int, list[str]] = {}
            for k, v in self.store.items():
                by_dim.setdefault(len(v), []).append(k)
            for dim, keys in by_dim.items():
                for name, value in (
                    (f"vecs-{dim}", np.stack([self.store[k] for k in keys])),
                    (f"keys-{dim}", np.array(keys)),
                ):
                    tmp = self.folder / f"{name}.tmp.npy"
                    np.save(tmp, value)
                    tmp.replace(self.folder / f"{name}.npy")
            self._new = 0


def cached_encode_missing(cache: VectorCache):
    """knowledge.vectors.encode_missing with the cache in front (CPU work: call it in a thread)."""
    from sodam.knowledge import vectors

    encode = vectors.encode_missing  # the real one (the caller may install this wrapper in its place)

    def encode_missing(wanted: dict[str, tuple[str, str]]) -> dict[str, np.ndarray]:
        out = {k: cache.store[k] for k in wanted if k in cache.store}
        todo = [k for k in wanted if k not in cache.store]
        for start in range(0, len(todo), SAVE_EVERY):
            chunk = {k: wanted[k] for k in todo[start : start + SAVE_EVERY]}
            computed = encode(chunk)
            cache.put(computed)
            cache.save()
            out.update(computed)
        return out

    return encode_missing


def fill_for_latency(articles: int, parakqc: str) -> None:
    """Encode the units of bot-latency's generated articles into the cache (no database)."""
    from bench.faq import latency_sets
    from sodam.knowledge import vectors
    from sodam.knowledge.markdown import plain_text

    kb, _ = latency_sets(articles=articles, queries=0, parakqc=parakqc)
    wanted: dict[str, tuple[str, str]] = {}
    for a in kb["articles"]:
        body = plain_text(a.get("body") or "")
        units = vectors.units_of(a["title"], body, a.get("alternate_questions") or ())
        wanted.update(zip(units.keys, zip(units.channels, units.texts, strict=True), strict=True))
    cache = VectorCache()
    todo = sum(k not in cache.store for k in wanted)
    print(f"{len(wanted)} units, {len(wanted) - todo} cached, encoding {todo} into {cache.folder}")
    cached_encode_missing(cache)(wanted)
    print(f"cache now holds {len(cache)} vectors")


if __name__ == "__main__":
    n = int(sys.argv[sys.argv.index("--latency") + 1]) if "--latency" in sys.argv else 10_000
    root = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "parakqc"
    fill_for_latency(n, os.environ.get("SODAM_PARAKQC") or str(root))

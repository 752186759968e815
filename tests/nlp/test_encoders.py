"""The query encodings' reuse (no real encoder: a counting fake in the registry)."""

from __future__ import annotations

import numpy as np

from sodam.nlp import encoders


class _Counting:
    name = "fake"
    dim = 4

    def __init__(self) -> None:
        self.calls: list[str] = []

    def queries(self, texts: list[str]) -> np.ndarray:
        self.calls.extend(texts)
        return np.ones((len(texts), self.dim), np.float32) / 2

    passages = queries


def test_a_query_encoded_moments_before_is_reused_not_encoded_again(monkeypatch):
    fake = _Counting()
    monkeypatch.setitem(encoders._encoders, "e5", fake)
    monkeypatch.setattr(encoders, "model_name", lambda kind=None: "fake")
    first = encoders.start_query_vectors("배송 언제 와요", ["e5q", "e5p"])  # started ahead ...
    again = encoders.query_vectors("배송 언제 와요", ["e5q"])  # ... and picked up by the search
    assert fake.calls == ["배송 언제 와요"]
    assert np.array_equal(first()["e5p"], again["e5q"])
    encoders.query_vectors("환불 문의", ["e5q"])
    assert fake.calls == ["배송 언제 와요", "환불 문의"]
    other = _Counting()  # another encoder (a test's, a reload): its own encodings
    monkeypatch.setitem(encoders._encoders, "e5", other)
    encoders.query_vectors("배송 언제 와요", ["e5q"])
    assert other.calls == ["배송 언제 와요"]


def test_uses_query_thread_runs_nicer_than_its_process_and_e5s_does_not(monkeypatch):
    # e5's encoding is a search's critical path; USE's runs beside it, yielding the core.
    import os
    import threading

    monkeypatch.setattr(encoders, "_pools", {})  # fresh threads, made with this test's settings

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    mine = niceness()
    try:
        use = encoders._pool_of("use").submit(niceness).result(timeout=10)
        e5 = encoders._pool_of("e5").submit(niceness).result(timeout=10)
    finally:
        for pool in encoders._pools.values():
            pool.shutdown(wait=True)
    assert encoders.QUERY_THREAD_NICENESS["use"] > 0
    assert use == min(19, mine + encoders.QUERY_THREAD_NICENESS["use"])
    assert e5 == mine

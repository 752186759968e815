"""How many threads a customer's question is encoded on (encoders.query_threads)."""

from __future__ import annotations

import os
import time

from sodam.nlp import encoders


def test_a_fixed_setting_wins(monkeypatch):
    monkeypatch.setenv("SODAM_ENCODER_QUERY_THREADS", "3")
    assert encoders.query_threads(1) == 3


def test_auto_uses_every_core_only_while_the_machine_has_spare_time(monkeypatch):
    monkeypatch.setenv("SODAM_ENCODER_QUERY_THREADS", "auto")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(encoders._idle, "cores", lambda: 1.4)
    assert encoders.query_threads(1) == 2
    monkeypatch.setattr(encoders._idle, "cores", lambda: 0.2)
    assert encoders.query_threads(1) == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    monkeypatch.setattr(encoders._idle, "cores", lambda: 1.0)
    assert encoders.query_threads(1) == 1


def test_idle_cores_are_read_from_the_kernel():
    idle = encoders._IdleCores()
    assert idle.cores() == 0.0  # no interval yet
    time.sleep(idle.MIN_INTERVAL_S + 0.05)
    busy_until = time.monotonic() + 0.1
    while time.monotonic() < busy_until:
        pass
    time.sleep(0.1)
    assert 0.0 <= idle.cores() <= (os.cpu_count() or 1)

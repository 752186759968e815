"""The warm-up leaves what a process loaded at start out of the cyclic collector's reach."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import gc
from sodam.app import create_app
create_app()
from sodam.jobs.warmup import warm_up_language_models
before = len(gc.get_objects())
warm_up_language_models(False)
print(before, gc.get_freeze_count(), len(gc.get_objects()))
"""


def test_after_the_warm_up_a_full_collection_has_almost_nothing_to_scan():
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    tracked_before, frozen, tracked_after = map(int, out.stdout.split())
    assert tracked_before > 50_000  # the application's modules: what a full collection would scan
    assert frozen >= tracked_before
    assert tracked_after < 1_000

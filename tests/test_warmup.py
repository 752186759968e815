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


_WORKER_PROBE = """
import sys
from sodam.jobs.warmup import warm_up_language_models
import sodam.bot.tasks, sodam.routing.tasks  # what `sodam worker` registers
lazy = ("sodam.routing.queue", "sodam.routing.models", "sodam.bot.replier")
print(*(name in sys.modules for name in lazy))
warm_up_language_models(True)
from sodam.db.base import Base
print(*(name in sys.modules for name in lazy))
print(all(m.configured for m in Base.registry.mappers), len(Base.registry.mappers))
"""


def test_the_workers_warm_up_loads_what_its_first_jobs_would_import_and_configures_the_mappers():
    """The first handoff after a start otherwise imports the routing queue and its models and
    configures every mapper on the worker's event loop (~30 ms of CPU, bench/README session 29)."""
    out = subprocess.run(
        [sys.executable, "-c", _WORKER_PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    before, after, mappers = out.stdout.splitlines()
    assert before.split() != ["True", "True", "True"]  # the probe means something
    assert after.split() == ["True", "True", "True"]
    configured, count = mappers.split()
    assert configured == "True" and int(count) > 40

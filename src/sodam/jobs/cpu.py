"""CPU-heavy steps of background jobs (Kiwi, lingua, lexicons), beside a web server.

`sodam serve` runs the jobs inside the web process. Such work holds the GIL: in a plain
thread, every time the event loop woke up it waited for that thread to let go, up to the
interpreter's switch interval (5 ms), and at 500 customer messages a second the loop wakes
up hundreds of times a second (sodam bench messages: p99 in seconds while a sentiment batch
was scored). So it runs here: one thread, at a lower CPU priority than the web server and
PostgreSQL (Linux sets nice per thread), that lets go of the GIL after every few items.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

CHUNK = 4  # items per hold of the GIL (a Korean message through Kiwi: ~0.3-1 ms)
NICE = 10


def _lower_priority() -> None:
    if sys.platform == "linux":
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
        except OSError:  # not allowed here: run at the process's priority
            pass


_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sodam-jobs-cpu", initializer=_lower_priority)


def _in_chunks(fn: Callable[[Sequence[T]], list[R]], items: Sequence[T], chunk: int) -> list[R]:
    out: list[R] = []
    for start in range(0, len(items), chunk):
        out += fn(items[start : start + chunk])
        time.sleep(0)  # lets go of the GIL: a waiting event loop takes it now, not in 5 ms
    return out


async def map_chunks(
    fn: Callable[[Sequence[T]], list[R]], items: Sequence[T], *, chunk: int = CHUNK
) -> list[R]:
    """fn over items, a few at a time, in the background CPU thread; the results in order."""
    return await asyncio.get_running_loop().run_in_executor(_thread, _in_chunks, fn, items, chunk)
